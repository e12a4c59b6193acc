using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Google.Protobuf;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;
using HealthScoring.Testing.Scenarios;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Security;

/// <summary>
/// Tenant isolation on every read path, driven by the route table: tenant globex's API key on acme's data. Routes
/// about one account answer 404 for an account only acme has; every other read answers without any of acme's
/// account ids, names, owners or event names. Acme's own key, on the same routes, is the control that the data is
/// there to leak. (PortfolioRestTests, PortfolioGrpcTests and the dashboard's tests cover the portfolio in depth.)
/// </summary>
[Collection(SecurityReview.Name)]
public sealed class TenantIsolationTests(SeededLiveHostFixture host, ITestOutputHelper output)
{
    private const string AcmeOnlyAccount = "a-03";

    /// <summary>Acme's seeded ids and traits that globex does not share (globex has its own a-01), plus its event names.</summary>
    private static readonly string[] AcmeMarkers = ["a-02", "a-03", "a-04", "a-05", "a-06", "a-07", "Acme Rockets", "Beta Corp", "Gamma", "Ada Lovelace", "Acme Secret Event", "Acme Declared Event"];

    /// <summary>Reads whose acme answer must show acme's data (the control that the isolation check is not vacuous).</summary>
    private static readonly string[] MustShowAcmeData = ["GET /v1/accounts", "GET /v1/data-quality", "GET /v1/taxonomy", "GET /v1/accounts/{accountId}"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Another_tenants_key_reads_nothing_of_acme_on_any_read_route()
    {
        await GiveAcmeActivityAsync();
        using var acme = Client(host.AcmeApiKey);
        using var globex = Client(host.GlobexApiKey);
        var reads = RouteTable.Read(host.Services).Where(r => !r.IsGrpc && r.Method == "GET" && r.Pattern.StartsWith("/v1/", StringComparison.Ordinal)).ToList();
        var leaks = new List<string>();
        var controls = new List<string>();
        foreach (var route in reads)
        {
            var path = route.SamplePath + (route.Pattern.Contains("data-quality", StringComparison.Ordinal) ? "?days=366" : "");
            using var mine = await acme.GetAsync(new Uri(path, UriKind.Relative), Ct);
            using var theirs = await globex.GetAsync(new Uri(path, UriKind.Relative), Ct);
            var mineText = await mine.Content.ReadAsStringAsync(Ct);
            var theirsText = await theirs.Content.ReadAsStringAsync(Ct);
            output.WriteLine($"{route.Key}: acme {(int)mine.StatusCode}, globex {(int)theirs.StatusCode}");
            mine.StatusCode.ShouldBe(HttpStatusCode.OK, $"{route.Key} for acme: {mineText}");
            if (AcmeMarkers.Any(m => mineText.Contains(m, StringComparison.Ordinal)))
            {
                controls.Add(route.Key);
            }

            if (route.Pattern.Contains("{accountId}", StringComparison.Ordinal))
            {
                if (theirs.StatusCode != HttpStatusCode.NotFound)
                {
                    leaks.Add($"{route.Key}: globex got {(int)theirs.StatusCode} for acme's account");
                }
            }
            else if (theirs.StatusCode != HttpStatusCode.OK)
            {
                leaks.Add($"{route.Key}: globex got {(int)theirs.StatusCode}");
            }

            // A 404 may name the id globex itself asked for; nothing else of acme's may appear.
            var markers = route.Pattern.Contains("{accountId}", StringComparison.Ordinal) ? AcmeMarkers.Where(m => m != AcmeOnlyAccount) : AcmeMarkers;
            leaks.AddRange(markers.Where(m => theirsText.Contains(m, StringComparison.Ordinal)).Select(m => $"{route.Key}: globex's answer holds acme's '{m}'"));
        }

        output.WriteLine($"acme's own answers showed its data on: {string.Join(", ", controls)}");
        reads.Count.ShouldBeGreaterThan(12);
        controls.ShouldBeSubsetOf(reads.Select(r => r.Key));
        MustShowAcmeData.ShouldBeSubsetOf(controls);
        leaks.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    public async Task Another_tenants_key_cannot_snooze_acmes_account(string method)
    {
        using var globex = Client(host.GlobexApiKey);
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/v1/accounts/{AcmeOnlyAccount}/alerts/snooze") { Content = JsonContent.Create(new { until = "2099-01-01" }) };

        using var response = await globex.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("GetAccountHealth")]
    [InlineData("GetScoreHistory")]
    public async Task Another_tenants_key_gets_NOT_FOUND_for_acmes_account_over_gRPC(string method)
    {
        using var grpc = GrpcHttp.CreateClient(new Uri($"http://127.0.0.1:{host.GrpcPort}/"));
        IMessage message = method == "GetAccountHealth" ? new GetAccountHealthRequest { AccountId = AcmeOnlyAccount } : new GetScoreHistoryRequest { AccountId = AcmeOnlyAccount };
        using var request = GrpcHttp.Request($"/healthscoring.v1.Accounts/{method}", GrpcHttp.Frame(message));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.GlobexApiKey);

        var response = await GrpcHttp.SendAsync(grpc, request, Ct);

        response.Status.ShouldBe(StatusCode.NotFound);
        response.Message!.ShouldNotContain("Gamma");
    }

    /// <summary>Acme's usage, a declared and an undeclared event, so analytics and data quality have acme data to leak.</summary>
    private async Task GiveAcmeActivityAsync()
    {
        using var writer = Client(host.AcmeWriteKey);
        using var admin = Client(host.AcmeApiKey);
        (await admin.PutAsJsonAsync("/v1/taxonomy", new[] { new { @event = "Acme Declared Event", category = "engagement", feature = "reports" } }, Ct)).EnsureSuccessStatusCode();
        var yesterday = DateTimeOffset.UtcNow.AddDays(-1);
        var batch = new List<object> { new { type = "group", messageId = "iso-g", userId = "iso-u", groupId = AcmeOnlyAccount, traits = new { name = "Gamma" }, timestamp = yesterday } };
        batch.AddRange(Enumerable.Range(0, 4).Select(i => new { type = "track", messageId = $"iso-t{i}", userId = "iso-u", @event = i % 2 == 0 ? "Acme Secret Event" : "Acme Declared Event", context = new { groupId = AcmeOnlyAccount }, timestamp = yesterday.AddMinutes(i) }));
        (await writer.PostAsJsonAsync("/v1/batch", new { batch }, Ct)).EnsureSuccessStatusCode();
        await host.Services.GetRequiredService<IngestionPipeline>().FlushQualityAsync(Ct);

        // The projection follows the log in the background: wait until it has handled acme's events.
        await InactivityScenario.WaitForProjectionAsync(host.DataSource, host.Schema, Ct);
    }

    private HttpClient Client(string key)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = host.RestUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>
/// Issue 7's fuzz run: 10,000 generated hostile requests (seeded, so a failure can be replayed by its number)
/// against HTTP and gRPC ingest, the Stripe webhook, the REST and gRPC query APIs and the dashboard, on real sockets.
/// </summary>
public sealed class FuzzTests(SeededLiveHostFixture host, ITestOutputHelper output) : IClassFixture<SeededLiveHostFixture>
{
    private const int Seed = 20261121;
    private const int Payloads = 10_000;

    // A handful in flight at once: enough to keep a 2-core machine busy without timing anything.
    private const int Concurrency = 16;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_thousand_hostile_payloads_get_no_5xx_and_every_error_explains_itself()
    {
        using var runner = new FuzzRunner(host.RestUrl, host.GrpcUrl);
        var report = await runner.RunAsync(new FuzzGenerator(Seed, host.Targets).Generate(Payloads), Concurrency, Ct);

        foreach (var line in report.Lines())
        {
            output.WriteLine(line);
        }

        foreach (var (fuzzCase, failure) in report.Failures.Take(40))
        {
            output.WriteLine($"FAILED {fuzzCase}: {failure}");
        }

        report.Total.ShouldBe(Payloads);
        foreach (var door in Enum.GetValues<FuzzDoor>())
        {
            report.Count(door).ShouldBeGreaterThan(0, $"no payload went to {door}");
        }

        report.ServerErrors.ShouldBe(0);
        report.Failures.Select(f => $"{f.Case}: {f.Failure}").Take(20).ShouldBeEmpty();
    }

    [Fact]
    public async Task Payloads_that_must_be_rejected_are_and_leave_the_stored_data_unchanged()
    {
        var rejects = new FuzzGenerator(Seed + 1, host.Targets).Generate(3_000).Where(c => c.MustReject).ToList();
        var before = await host.StoredDataChecksumAsync(Ct);

        using var runner = new FuzzRunner(host.RestUrl, host.GrpcUrl);
        var report = await runner.RunAsync(rejects, Concurrency, Ct);

        output.WriteLine($"must-reject: {rejects.Count} payloads");
        foreach (var line in report.Lines())
        {
            output.WriteLine(line);
        }

        report.Failures.Select(f => $"{f.Case}: {f.Failure}").Take(20).ShouldBeEmpty();
        rejects.Count.ShouldBeGreaterThan(500);
        (await host.StoredDataChecksumAsync(Ct)).ShouldBe(before);
    }

    public static TheoryData<string> HostileButValid { get; } = new()
    {
        "'; DROP TABLE events; --",
        "<script>window.__fuzzed=1</script>",
        "<img src=x onerror=\"window.__fuzzed=1\">",
        "Robert'); DROP TABLE students;-- 🔥 \u202Eevil",
    };

    [Theory]
    [MemberData(nameof(HostileButValid))]
    public async Task Hostile_but_valid_values_are_stored_and_returned_verbatim_as_inert_JSON(string hostile)
    {
        // In the scratch tenant, whose data-quality report the fuzz run does not crowd.
        var account = $"fz-verbatim-{Guid.NewGuid():N}";
        using var writer = Client(host.Targets.ScratchTenantKey);
        var group = await writer.PostAsJsonAsync("/v1/group", new { messageId = $"g-{account}", userId = $"u-{account}", groupId = account, traits = new { name = hostile, owner = hostile } }, Ct);
        var track = await writer.PostAsJsonAsync("/v1/track", new { messageId = $"t-{account}", userId = $"u-{account}", @event = hostile, context = new { groupId = account }, properties = new { note = hostile } }, Ct);
        group.StatusCode.ShouldBe(HttpStatusCode.OK, await group.Content.ReadAsStringAsync(Ct));
        track.StatusCode.ShouldBe(HttpStatusCode.OK, await track.Content.ReadAsStringAsync(Ct));

        // Stored verbatim.
        var store = host.Services.GetRequiredService<IEventStore>();
        var events = await store.ReadStreamAsync(SeededLiveHostFixture.ScratchTenant, IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        var grouped = events.Select(e => e.Data).OfType<UserGrouped>().ShouldHaveSingleItem();
        grouped.Traits!["name"]!.GetValue<string>().ShouldBe(hostile);
        var recorded = events.Select(e => e.Data).OfType<TrackRecorded>().ShouldHaveSingleItem();
        recorded.Event.ShouldBe(hostile);
        recorded.Properties!["note"]!.GetValue<string>().ShouldBe(hostile);

        // Returned verbatim, as JSON values in answers no browser renders as a page (JSON, nosniff, a CSP without scripts);
        // the dashboard inserts them as text (DashboardEscapingTests).
        await host.Services.GetRequiredService<IngestionPipeline>().FlushQualityAsync(Ct);
        await ScoreAsync(account);
        using var reader = Client(host.Targets.ScratchTenantKey);
        var quality = await reader.GetAsync("/v1/data-quality?days=366", Ct);
        var detail = await reader.GetAsync($"/v1/accounts/{Uri.EscapeDataString(account)}", Ct);
        var list = await reader.GetAsync($"/v1/accounts?q={Uri.EscapeDataString(hostile)}", Ct);
        foreach (var response in new[] { quality, detail, list })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
            response.Headers.GetValues("X-Content-Type-Options").ShouldHaveSingleItem().ShouldBe("nosniff");
            response.Headers.GetValues("Content-Security-Policy").ShouldHaveSingleItem().ShouldContain("script-src 'self'");
        }

        var undeclared = (await quality.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("undeclaredEvents").EnumerateArray().Select(e => e.GetProperty("name").GetString());
        undeclared.ShouldContain(hostile);
        var health = await detail.Content.ReadFromJsonAsync<JsonElement>(Ct);
        health.GetProperty("name").GetString().ShouldBe(hostile);
        (await list.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("accountId").GetString()).ShouldContain(account);
    }

    /// <summary>A score for the account, saved the way a scoring run saves it, so the portfolio lists it.</summary>
    private async Task ScoreAsync(string account)
    {
        var score = new AccountScore(account, 30, "at-risk", 0.7, null, null, [new ScoreDriver("days_since_last_active", 21, 0.8, "No activity for 21 days")], [], new Dictionary<string, double> { ["recency"] = 0.2 });
        await host.Services.GetRequiredService<HealthScorer>().SaveLatestAsync(SeededLiveHostFixture.ScratchTenant, new DateOnly(2026, 11, 1), [score], Ct);
    }

    private HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = host.RestUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthScoring.Api.Tests.Portfolio;

/// <summary>healthscoring.v1.Accounts against a real gRPC client: Debian's python3-grpcio.</summary>
public sealed class PortfolioGrpcTests(LivePortfolioFixture host) : IClassFixture<LivePortfolioFixture>
{
    private const string Script = "tests/HealthScoring.Api.Tests/Portfolio/accounts_client.py";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<InteropResult> CallAsync(string method, string? key, string request) =>
        InteropClient.RunScriptAsync(Script, [host.GrpcPort.ToString(CultureInfo.InvariantCulture), method, key ?? "-", request]);

    private static List<string> AccountIds(InteropResult result) =>
        result.Json.GetProperty("response").TryGetProperty("accounts", out var accounts) ? [.. accounts.EnumerateArray().Select(a => a.GetProperty("account_id").GetString()!)] : [];

    private static List<string> Violations(InteropResult result) =>
        [.. result.Json.GetProperty("violations").EnumerateArray().Select(v => v.GetProperty("field").GetString()!)];

    [Theory]
    [InlineData("GetAccountHealth", """{"account_id": "a-01"}""")]
    [InlineData("ListAccounts", "{}")]
    [InlineData("GetScoreHistory", """{"account_id": "a-01"}""")]
    public async Task Every_method_rejects_a_missing_key_and_a_write_key(string method, string request)
    {
        (await CallAsync(method, null, request)).Code.ShouldBe(StatusCode.Unauthenticated);
        (await CallAsync(method, "hs_nope", request)).Code.ShouldBe(StatusCode.Unauthenticated);
        (await CallAsync(method, host.AcmeWriteKey, request)).Code.ShouldBe(StatusCode.PermissionDenied);
        (await CallAsync(method, host.AcmeApiKey, request)).Code.ShouldBe(StatusCode.Ok);
    }

    [Fact]
    public async Task WatchHealth_rejects_a_missing_key()
    {
        var lines = await WatchAsync(null, "{}", expected: 1, TimeSpan.FromSeconds(30), afterReady: null);
        lines[^1].GetProperty("code").GetString().ShouldBe("UNAUTHENTICATED");
    }

    [Fact]
    public async Task Tenants_see_only_their_own_accounts_and_another_tenants_account_is_NOT_FOUND()
    {
        AccountIds(await CallAsync("ListAccounts", host.AcmeApiKey, """{"page_size": 500}""")).Order().ShouldBe(PortfolioSeed.Acme.Select(a => a.Id).Order());
        AccountIds(await CallAsync("ListAccounts", host.GlobexApiKey, "{}")).Order().ShouldBe(["a-01", "g-01"]);
        (await CallAsync("GetAccountHealth", host.AcmeApiKey, """{"account_id": "g-01"}""")).Code.ShouldBe(StatusCode.NotFound);
        (await CallAsync("GetScoreHistory", host.AcmeApiKey, """{"account_id": "g-01"}""")).Code.ShouldBe(StatusCode.NotFound);
        (await CallAsync("GetAccountHealth", host.AcmeApiKey, """{"account_id": "nobody"}""")).Code.ShouldBe(StatusCode.NotFound);
        var globexA01 = await CallAsync("GetAccountHealth", host.GlobexApiKey, """{"account_id": "a-01"}""");
        globexA01.Json.GetProperty("response").GetProperty("summary").GetProperty("health_score").GetInt32().ShouldBe(99);
    }

    [Fact]
    public async Task ListAccounts_puts_at_risk_first_pages_without_gaps_and_filters_like_REST()
    {
        var all = AccountIds(await CallAsync("ListAccounts", host.AcmeApiKey, "{}"));
        all.ShouldBe(PortfolioSeed.Acme.OrderByDescending(a => a.Churn).ThenBy(a => a.Id, StringComparer.Ordinal).Select(a => a.Id));

        var walked = new List<string>();
        var token = "";
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await CallAsync("ListAccounts", host.AcmeApiKey, JsonSerializer.Serialize(new Dictionary<string, object> { ["page_size"] = 3, ["page_token"] = token }));
            page.Code.ShouldBe(StatusCode.Ok, page.ToString());
            page.Json.GetProperty("response").GetProperty("totals").GetProperty("accounts").GetInt32().ShouldBe(7);
            walked.AddRange(AccountIds(page));
            token = page.Json.GetProperty("response").TryGetProperty("next_page_token", out var next) ? next.GetString()! : "";
            if (token.Length == 0)
            {
                break;
            }
        }

        walked.ShouldBe(all);

        var atRisk = await CallAsync("ListAccounts", host.AcmeApiKey, """{"band": "BAND_AT_RISK", "sort": "ACCOUNT_SORT_MRR_AT_RISK"}""");
        AccountIds(atRisk).ShouldBe(["a-02", "a-01", "a-03"], "MRR at risk: 2000 × 0.7, 500 × 0.8, 100 × 0.7");
        atRisk.Json.GetProperty("response").GetProperty("totals").GetProperty("at_risk").GetInt32().ShouldBe(3);
    }

    [Theory]
    [InlineData("""{"page_token": "bm90LWEtdG9rZW4"}""", "page_token")]
    [InlineData("""{"page_size": 501}""", "page_size")]
    [InlineData("""{"page_size": -1}""", "page_size")]
    [InlineData("""{"band": 9}""", "band")]
    [InlineData("""{"sort": 12}""", "sort")]
    public async Task Bad_filters_and_page_tokens_are_INVALID_ARGUMENT_naming_the_field(string request, string field)
    {
        var result = await CallAsync("ListAccounts", host.AcmeApiKey, request);
        result.Code.ShouldBe(StatusCode.InvalidArgument, result.ToString());
        Violations(result).ShouldBe([field]);
    }

    [Fact]
    public async Task A_tampered_page_token_is_INVALID_ARGUMENT_naming_page_token()
    {
        var first = await CallAsync("ListAccounts", host.AcmeApiKey, """{"page_size": 2}""");
        var token = first.Json.GetProperty("response").GetProperty("next_page_token").GetString()!;
        var tampered = token[..4] + (token[4] == 'x' ? 'y' : 'x') + token[5..];
        var result = await CallAsync("ListAccounts", host.AcmeApiKey, JsonSerializer.Serialize(new Dictionary<string, object> { ["page_size"] = 2, ["page_token"] = tampered }));
        result.Code.ShouldBe(StatusCode.InvalidArgument, result.ToString());
        Violations(result).ShouldBe(["page_token"]);
    }

    [Fact]
    public async Task GetAccountHealth_and_GetScoreHistory_answer_what_REST_answers()
    {
        var health = (await CallAsync("GetAccountHealth", host.AcmeApiKey, """{"account_id": "a-01"}""")).Json.GetProperty("response");
        var summary = health.GetProperty("summary");
        summary.GetProperty("band").GetString().ShouldBe("BAND_AT_RISK");
        summary.GetProperty("mrr_at_risk").GetDouble().ShouldBe(400);
        summary.GetProperty("segment").GetString().ShouldBe("smb");
        summary.GetProperty("as_of").GetProperty("day").GetInt32().ShouldBe(31);
        summary.GetProperty("trend").GetProperty("delta_7d").GetInt32().ShouldBe(-20);
        summary.GetProperty("trend").GetProperty("sparkline").EnumerateArray().Select(v => v.GetInt32()).ShouldBe([60, 45, 25]);
        health.GetProperty("drivers")[0].GetProperty("direction").GetString().ShouldBe("raises-risk");
        health.GetProperty("components").GetProperty("recency").GetDouble().ShouldBe(0.2);

        var history = await CallAsync("GetScoreHistory", host.AcmeApiKey, """{"account_id": "a-01", "from": {"year": 2026, "month": 10, "day": 20}}""");
        history.Json.GetProperty("response").GetProperty("points").EnumerateArray().Select(p => p.GetProperty("health_score").GetInt32()).ShouldBe([45, 25]);
        var bad = await CallAsync("GetScoreHistory", host.AcmeApiKey, """{"account_id": "a-01", "to": {"year": 2026, "month": 13, "day": 1}}""");
        bad.Code.ShouldBe(StatusCode.InvalidArgument);
        Violations(bad).ShouldBe(["to"]);
    }

    /// <summary>
    /// The acceptance criterion: a python3-grpcio client watching receives a score change within 1 s of scoring,
    /// the scoring done by another host (its own container and connection pool, as the CLI would) on the same
    /// database. Another tenant's change to the same account id, committed first, must not reach it.
    /// </summary>
    [Fact]
    public async Task WatchHealth_delivers_a_score_change_within_one_second_of_scoring_in_another_process()
    {
        await host.Services.GetRequiredService<HealthScoring.Api.Portfolio.HealthChangeFeed>().WhenListeningAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var scoringHost = ScoringProcess();
        var scorer = scoringHost.Services.GetRequiredService<HealthScorer>();
        var asOf = new DateOnly(2026, 11, 7);
        AccountScore Verdict(string account, int score) =>
            new(account, score, new HealthScoreProfile().Band(score), 0.9, null, 25, [], [], new Dictionary<string, double>());

        var scoredAt = DateTimeOffset.MinValue;
        var lines = await WatchAsync(host.AcmeApiKey, """{"account_ids": ["a-01"]}""", expected: 1, TimeSpan.FromSeconds(30), afterReady: async () =>
        {
            await scorer.SaveLatestAsync("globex", asOf, [Verdict("a-01", 98)], Ct);
            await scorer.SaveLatestAsync("acme", asOf, [Verdict("a-02", 30)], Ct);
            scoredAt = DateTimeOffset.UtcNow;
            await scorer.SaveLatestAsync("acme", asOf, [Verdict("a-01", 12)], Ct);
        });

        var received = lines[^1];
        received.TryGetProperty("event", out var change).ShouldBeTrue(received.ToString());
        change.GetProperty("kind").GetString().ShouldBe("KIND_SCORED");
        change.GetProperty("account_id").GetString().ShouldBe("a-01");
        change.GetProperty("health_score").GetInt32().ShouldBe(12, "acme's change, not globex's (98) nor another account's");
        change.GetProperty("band").GetString().ShouldBe("BAND_AT_RISK");
        var latency = DateTimeOffset.FromUnixTimeMilliseconds((long)(received.GetProperty("received_at").GetDouble() * 1000)) - scoredAt;
        TestContext.Current.TestOutputHelper?.WriteLine($"WatchHealth latency from the start of the scoring save to receipt: {latency.TotalMilliseconds:F0} ms");
        latency.ShouldBeLessThan(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task WatchHealth_filters_by_band_and_streams_alerts()
    {
        using var scoringHost = ScoringProcess();
        var alerts = scoringHost.Services.GetRequiredService<HealthScoring.Api.Alerts.AlertService>();
        var asOf = new DateOnly(2026, 11, 8);
        var healthy = new AccountScore("a-07", 91, "healthy", 0.04, null, 90, [], [], new Dictionary<string, double>());
        var atRisk = new AccountScore("a-06", 20, "at-risk", 0.9, null, 85, [], [], new Dictionary<string, double>());

        var lines = await WatchAsync(host.AcmeApiKey, """{"band": "BAND_AT_RISK"}""", expected: 2, TimeSpan.FromSeconds(30), afterReady: async () =>
        {
            var scorer = scoringHost.Services.GetRequiredService<HealthScorer>();
            await scorer.SaveLatestAsync("acme", asOf, [healthy, atRisk], Ct);
            await alerts.EvaluateAsync("acme", asOf, [atRisk], Ct);
        });

        var events = lines.Where(l => l.TryGetProperty("event", out _)).Select(l => l.GetProperty("event")).ToList();
        events.Count.ShouldBe(2, string.Join("\n", lines));
        events[0].GetProperty("kind").GetString().ShouldBe("KIND_SCORED");
        events[0].GetProperty("account_id").GetString().ShouldBe("a-06", "a-07 is healthy: filtered out");
        events[1].GetProperty("kind").GetString().ShouldBe("KIND_ALERT");
        events[1].GetProperty("alert_kind").GetString().ShouldBe("became_at_risk");
        events[1].GetProperty("account_id").GetString().ShouldBe("a-06");
    }

    /// <summary>A second composition of the core services over the same schema: its own container and connection pool.</summary>
    private IHost ScoringProcess()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = TestSettings.PostgresConnectionString,
            ["EventStore:Schema"] = host.Schema,
        });
        builder.AddHealthScoringCore();
        return builder.Build();
    }

    /// <summary>
    /// Runs the watch client; once it says the server is listening, runs <paramref name="afterReady"/>; returns every
    /// line it printed, when it has <paramref name="expected"/> events, an error, or <paramref name="timeout"/> passes.
    /// </summary>
    private async Task<List<JsonElement>> WatchAsync(string? key, string request, int expected, TimeSpan timeout, Func<Task>? afterReady)
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            ArgumentList = { Path.Combine(InteropClient.RepoRoot(), Script), host.GrpcPort.ToString(CultureInfo.InvariantCulture), "WatchHealth", key ?? "-", request, expected.ToString(CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Remove("PYTHONPATH");
        start.Environment.Remove("PYTHONHOME");
        using var process = Process.Start(start)!;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(timeout);
        var stderr = process.StandardError.ReadToEndAsync(stop.Token);
        var lines = new List<JsonElement>();
        try
        {
            while (await process.StandardOutput.ReadLineAsync(stop.Token) is { } line)
            {
                var json = JsonDocument.Parse(line).RootElement.Clone();
                lines.Add(json);
                if (json.TryGetProperty("ready", out _) && afterReady is not null)
                {
                    await afterReady();
                }
            }

            await process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The watch client did not finish within {timeout}: {string.Join("\n", lines)}");
        }

        process.ExitCode.ShouldBe(0, await stderr);
        return lines;
    }
}

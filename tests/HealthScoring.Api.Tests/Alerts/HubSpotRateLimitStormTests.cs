using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Integrations.HubSpot;
using HealthScoring.Testing.Fakes.HubSpot;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host on its own vhost with HubSpot pointed at a fake on the Free/Starter burst limit (100 per 10 s).</summary>
public sealed class StormHubSpotApiFixture : HubSpotApiFixture
{
    public const int BurstLimit = 100;

    protected override FakeHubSpotOptions HubSpotOptions => new() { BurstLimit = BurstLimit };
}

public sealed class HubSpotRateLimitStormTests(StormHubSpotApiFixture fixture) : IClassFixture<StormHubSpotApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HubSpot_answering_429_for_30_seconds_then_200_gets_every_update_and_one_task_each_without_exceeding_the_burst_limit()
    {
        await fixture.Service<IHubSpotClient>().EnsurePropertiesAsync(Ct);
        var owner = fixture.HubSpot.AddOwner("storm@example.com");
        var asOf = new DateOnly(2026, 9, 3);
        var companies = Enumerable.Range(0, 12).Select(i => $"storm-{i:D2}").ToDictionary(
            a => a,
            a => fixture.HubSpot.AddCompany($"Company {a}", owner.Id, new Dictionary<string, string?> { ["healthscoring_account_id"] = a }));

        // The storm: every request is refused with 429 and HubSpot's rate-limit headers for 30 s.
        var stormStarted = DateTimeOffset.UtcNow;
        fixture.HubSpot.RateLimitFor(TimeSpan.FromSeconds(30));
        var stormEnds = stormStarted.AddSeconds(30);
        var store = fixture.Service<IEventStore>();
        foreach (var account in companies.Keys)
        {
            var drivers = new[] { new ScoreDriver("days_since_last_activity", 12, 0.9, "no activity for 12 days") };
            await store.AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.Any,
            [
                new NewEvent(Guid.NewGuid(), new AccountHealthScored(asOf, 21, "at-risk", 0.9, null, 1, null, null, drivers, [], new Dictionary<string, double>())),
                new NewEvent(Guid.NewGuid(), new Api.Alerts.AccountBecameAtRisk(asOf, $"acme/{account}/at-risk/{asOf:yyyy-MM-dd}", 21, 0.9, null, drivers)),
            ], Ct);
        }

        var deadline = DateTime.UtcNow.AddSeconds(150);
        while (!companies.Values.All(Landed) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, Ct);
        }

        await Task.Delay(3000, Ct); // a duplicate would arrive now
        foreach (var (account, company) in companies)
        {
            fixture.HubSpot.Tasks.Count(t => t.CompanyIds.Contains(company)).ShouldBe(1, $"account {account}");
            fixture.HubSpot.Company(company)!.Properties["healthscoring_health_score"].ShouldBe("21", $"account {account}");
        }

        var calls = fixture.HubSpot.Calls.Where(c => c.At >= stormStarted).ToList();
        calls.ShouldContain(c => c.StatusCode == 429, "the storm was met");
        calls.Where(c => c.StatusCode is >= 200 and < 300).ShouldAllBe(c => c.At >= stormEnds.AddMilliseconds(-50), "nothing passed during the storm");
        fixture.HubSpot.MaxRequestsInAnyTenSeconds.ShouldBeLessThanOrEqualTo(StormHubSpotApiFixture.BurstLimit, "every arrival counts, 429s and retries included");
    }

    private bool Landed(string company) =>
        fixture.HubSpot.Tasks.Any(t => t.CompanyIds.Contains(company)) && fixture.HubSpot.Company(company)!.Properties.GetValueOrDefault("healthscoring_health_score") is not null;
}

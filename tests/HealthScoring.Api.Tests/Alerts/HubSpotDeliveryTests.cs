using System.Diagnostics;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using HealthScoring.Testing.Fakes.HubSpot;
using Microsoft.AspNetCore.Hosting;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host with its bus on its own vhost and HubSpot pointed at the fake.</summary>
public class HubSpotApiFixture : ApiFixture
{
    /// <summary>How the fake behaves (a derived fixture may change its limits).</summary>
    protected virtual FakeHubSpotOptions? HubSpotOptions => null;

    public RabbitMqVhost Vhost { get; private set; } = null!;

    public FakeHubSpot HubSpot { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Vhost = await RabbitMqVhost.CreateAsync();
        HubSpot = await FakeHubSpot.StartNewAsync(HubSpotOptions);
        await base.InitializeAsync();
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("RabbitMq:VirtualHost", Vhost.Name);
        web.UseSetting("HubSpot:BaseUrl", HubSpot.BaseAddress.ToString().TrimEnd('/'));
        web.UseSetting("HubSpot:AccessToken", HubSpot.AccessToken);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await HubSpot.DisposeAsync();
        await Vhost.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class HubSpotDeliveryTests(HubSpotApiFixture fixture) : IClassFixture<HubSpotApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_at_risk_alert_makes_exactly_one_owner_task_and_the_score_lands_on_the_company()
    {
        // Our properties exist (the integration's own setup), and the CRM admin has put our account id on the company.
        await fixture.Service<HealthScoring.Integrations.HubSpot.IHubSpotClient>().EnsurePropertiesAsync(Ct);
        var owner = fixture.HubSpot.AddOwner("casey@example.com");
        var account = $"acc-{Guid.NewGuid():N}"[..16];
        var company = fixture.HubSpot.AddCompany("Acme Rockets", owner.Id, new Dictionary<string, string?> { ["healthscoring_account_id"] = account });
        var drivers = new[] { new ScoreDriver("active_users_change_28d", -0.45, 0.8, "active users down 45 % vs the previous 4 weeks") };
        var asOf = new DateOnly(2026, 9, 1);
        var scored = new NewEvent(Guid.NewGuid(), new AccountHealthScored(asOf, 24, "at-risk", 0.81, 0.05, 1, null, 58, drivers, [], new Dictionary<string, double>()));
        var alert = new NewEvent(Guid.NewGuid(), new AccountBecameAtRisk(asOf, $"acme/{account}/at-risk/2026-09-01", 24, 0.81, owner.Email, drivers));
        var appended = Stopwatch.StartNew();
        await fixture.Service<IEventStore>().AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.NoStream, [scored, alert], Ct);

        while ((!fixture.HubSpot.Tasks.Any(t => t.CompanyIds.Contains(company)) || fixture.HubSpot.Company(company)!.Properties.GetValueOrDefault("healthscoring_health_score") is null) && appended.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50, Ct);
        }

        var latency = appended.Elapsed;
        var task = fixture.HubSpot.Tasks.Where(t => t.CompanyIds.Contains(company)).ShouldHaveSingleItem();
        task.OwnerId.ShouldBe(owner.Id);
        task.Body!.ShouldContain("active users down 45 % vs the previous 4 weeks");
        var properties = fixture.HubSpot.Company(company)!.Properties;
        properties["healthscoring_health_score"].ShouldBe("24");
        properties["healthscoring_health_band"].ShouldBe("at-risk");
        latency.ShouldBeLessThan(TimeSpan.FromSeconds(10), "score appended → HubSpot (the benchmark measures p99)");

        // The same alert redelivered (a publisher retry after a crash) makes no second task.
        var again = new NewEvent(Guid.NewGuid(), new AccountBecameAtRisk(asOf, $"acme/{account}/at-risk/2026-09-01", 24, 0.81, owner.Email, drivers));
        await fixture.Service<IEventStore>().AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.Any, [again], Ct);
        await Task.Delay(3000, Ct);
        fixture.HubSpot.Tasks.Count(t => t.CompanyIds.Contains(company)).ShouldBe(1);
    }
}

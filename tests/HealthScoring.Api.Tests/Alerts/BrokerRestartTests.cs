using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Testing.Scenarios;
using HealthScoring.Integrations.HubSpot;
using HealthScoring.Testing;
using HealthScoring.Testing.Fakes.HubSpot;
using MassTransit;
using Microsoft.AspNetCore.Hosting;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host with its bus on a RabbitMQ node of its own (which the tests stop and start) and HubSpot pointed at the fake.</summary>
public sealed class OwnBrokerApiFixture : ApiFixture
{
    public RabbitMqNode Node { get; private set; } = null!;

    public FakeHubSpot HubSpot { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Node = await RabbitMqNode.StartNewAsync();
        HubSpot = await FakeHubSpot.StartNewAsync();
        await base.InitializeAsync();
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("RabbitMq:Port", Node.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        web.UseSetting("RabbitMq:VirtualHost", "/");
        web.UseSetting("HubSpot:BaseUrl", HubSpot.BaseAddress.ToString().TrimEnd('/'));
        web.UseSetting("HubSpot:AccessToken", HubSpot.AccessToken);
        web.UseSetting("HealthScore:Tenants:acme:ModelWeight", "1");
    }

    /// <summary>Waits until the bus is connected with every receive endpoint ready (so the queues exist on the broker).</summary>
    public async Task WaitForBusAsync(CancellationToken cancellationToken)
    {
        var bus = Service<IBusControl>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The bus did not become healthy: {bus.CheckHealth().Description}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await HubSpot.DisposeAsync();
        await Node.DisposeAsync();
    }
}

/// <summary>
/// The log is the outbox: whatever the broker does, every alert reaches HubSpot exactly once. The broker here is a
/// real RabbitMQ node, really stopped and started.
/// </summary>
public sealed class BrokerRestartTests(OwnBrokerApiFixture fixture) : IClassFixture<OwnBrokerApiFixture>
{
    private static readonly DateOnly AsOf = new(2026, 9, 1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Alerts_scored_while_rabbitmq_is_down_each_reach_hubspot_exactly_once_after_it_starts_again()
    {
        var companies = await SetUpAccountsAsync("down", 12);
        await InactivityScenario.RecordActivityAsync(fixture.Service<IEventStore>(), "acme", companies.Keys, AsOf.AddDays(-10), Ct);
        await InactivityScenario.PromoteInactivityModelAsync(fixture.Service<ModelRegistry>(), "acme", AsOf, Ct);
        await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
        await fixture.WaitForBusAsync(Ct);

        await fixture.Node.StopAsync(Ct);
        try
        {
            var run = await fixture.Service<HealthScorer>().ScoreAsync("acme", AsOf, null, Ct);
            var alerts = run.Alerts.Where(a => a.Kind == "became_at_risk").ToList();
            alerts.Count.ShouldBe(companies.Count, "every idle account turns at risk");

            // The publisher cannot publish now: nothing may reach HubSpot while the broker is down.
            await Task.Delay(3000, Ct);
            fixture.HubSpot.Tasks.Count(t => Mine(t, companies)).ShouldBe(0, "the broker really was down");
        }
        finally
        {
            await fixture.Node.StartAsync(Ct); // also when an assertion failed, so the other test finds a broker
        }

        await WaitForAsync(
            () => companies.Values.All(c => fixture.HubSpot.Tasks.Any(t => t.CompanyIds.Contains(c)) && Scored(c)),
            TimeSpan.FromSeconds(120),
            "a task and a score for every company");
        await Task.Delay(3000, Ct); // a duplicate would arrive now
        foreach (var (account, company) in companies)
        {
            fixture.HubSpot.Tasks.Count(t => t.CompanyIds.Contains(company)).ShouldBe(1, $"account {account}");
            fixture.HubSpot.Company(company)!.Properties["healthscoring_health_band"].ShouldBe("at-risk");
        }
    }

    [Fact]
    public async Task Rabbitmq_stopping_while_alerts_are_being_published_loses_none_and_duplicates_no_task()
    {
        var companies = await SetUpAccountsAsync("mid", 30);
        await fixture.WaitForBusAsync(Ct);
        var store = fixture.Service<IEventStore>();
        var accounts = companies.Keys.ToList();
        var firstWave = accounts.Take(10).ToList();
        var secondWave = accounts.Skip(10).ToList();

        // Alerts go into the log one account at a time, as a long scoring run's would. The broker stops once HubSpot
        // has seen the first of them, while the rest of the first wave is being published, consumed or still in the
        // log; the run goes on appending the second wave while the broker is down, and the broker starts after that.
        // (Appending everything before the stop made the test depend on timing: on a loaded machine all 30 could be
        // published and delivered before the stop took effect.)
        var appending = Task.Run(async () =>
        {
            foreach (var account in firstWave)
            {
                await AppendAlertAsync(store, account);
                await Task.Delay(100, Ct);
            }
        }, Ct);
        await WaitForAsync(() => fixture.HubSpot.Tasks.Any(t => Mine(t, companies)), TimeSpan.FromSeconds(60), "the first task at HubSpot");
        await fixture.Node.StopAsync(Ct);
        try
        {
            await appending;
            foreach (var account in secondWave)
            {
                await AppendAlertAsync(store, account);
            }

            await Task.Delay(3000, Ct);
            var secondWaveCompanies = secondWave.Select(a => companies[a]).ToHashSet();
            fixture.HubSpot.Tasks.Count(t => t.CompanyIds.Any(secondWaveCompanies.Contains)).ShouldBe(
                0, "nothing appended while the broker was down can have reached HubSpot");
        }
        finally
        {
            await fixture.Node.StartAsync(Ct); // also when an assertion failed, so the other test finds a broker
        }

        await WaitForAsync(
            () => companies.Values.All(c => fixture.HubSpot.Tasks.Any(t => t.CompanyIds.Contains(c))),
            TimeSpan.FromSeconds(120),
            "a task for every company");
        await Task.Delay(3000, Ct);
        foreach (var (account, company) in companies)
        {
            fixture.HubSpot.Tasks.Count(t => t.CompanyIds.Contains(company)).ShouldBe(1, $"account {account}");
        }
    }

    private static async Task AppendAlertAsync(IEventStore store, string account)
    {
        var drivers = new[] { new ScoreDriver("days_since_last_activity", 12, 0.9, "no activity for 12 days") };
        var alert = new NewEvent(
            EventIds.Derive("alert", $"acme/{account}/became_at_risk/{AsOf:yyyy-MM-dd}"),
            new Api.Alerts.AccountBecameAtRisk(AsOf, $"acme/{account}/at-risk/{AsOf:yyyy-MM-dd}", 12, 0.9, null, drivers));
        await store.AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.Any, [alert], CancellationToken.None);
    }

    /// <summary>Accounts with a HubSpot company each (our account id on it) and one owner; returns account → company.</summary>
    private async Task<Dictionary<string, string>> SetUpAccountsAsync(string label, int count)
    {
        await fixture.Service<IHubSpotClient>().EnsurePropertiesAsync(Ct);
        var owner = fixture.HubSpot.AddOwner($"{label}@example.com");
        var prefix = $"{label}{Guid.NewGuid():N}"[..10];
        return Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D3}").ToDictionary(
            a => a,
            a => fixture.HubSpot.AddCompany($"Company {a}", owner.Id, new Dictionary<string, string?> { ["healthscoring_account_id"] = a }));
    }

    private bool Scored(string company) => fixture.HubSpot.Company(company)!.Properties.GetValueOrDefault("healthscoring_health_score") is not null;

    private static bool Mine(FakeHubSpotTask task, Dictionary<string, string> companies) => task.CompanyIds.Any(companies.ContainsValue);

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Gave up after {timeout.TotalSeconds:0} s waiting for {what}.");
            }

            await Task.Delay(200, Ct);
        }
    }
}

using HealthScoring.Api.Billing;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe.Metering;
using HealthScoring.Integrations.Stripe.Sync;
using HealthScoring.Testing.Fakes.Stripe;
using HealthScoring.Testing.Scenarios;
using Microsoft.AspNetCore.Hosting;

namespace HealthScoring.Api.Tests.Billing;

/// <summary>The host with Stripe pointed at the fake and tenant globex billing on usage (tracked events per day).</summary>
public sealed class MeteringApiFixture : ApiFixture
{
    public const string EventName = "tracked_events";

    public FakeStripe Stripe { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Stripe = new FakeStripe();
        await Stripe.StartAsync();
        Stripe.AddMeter(EventName);
        await base.InitializeAsync();
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("RabbitMq:Enabled", "false");
        web.UseSetting("Stripe:BaseUrl", Stripe.BaseAddress.ToString());
        web.UseSetting("Stripe:SecretKey", Stripe.SecretKey);
        web.UseSetting("Stripe:Metering:Tenants:globex:EventName", EventName);
        web.UseSetting("Stripe:Metering:Tenants:globex:Measure", "events");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Stripe.DisposeAsync();
    }
}

public sealed class UsageMeteringTests(MeteringApiFixture fixture) : IClassFixture<MeteringApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_ended_day_of_each_linked_account_is_metered_once_and_reruns_resume_without_sending_again()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (paying, second, unlinked) = ("meter-a", "meter-b", "meter-c");
        var customers = new[] { paying, second }.ToDictionary(a => a, a => fixture.Stripe.AddCustomer(new Dictionary<string, string> { ["account_id"] = a }));
        await fixture.Service<StripeSync>().RunAsync("globex", cancellationToken: Ct);
        var store = fixture.Service<IEventStore>();
        foreach (var day in new[] { today.AddDays(-3), today.AddDays(-2), today })
        {
            await InactivityScenario.RecordActivityAsync(store, "globex", [paying, second, unlinked], day, Ct);
        }

        await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
        var metering = fixture.Service<UsageMetering>();

        var first = await metering.ReportAsync("globex", Ct);
        first.Items.Where(i => i.Outcome == MeterItemOutcome.Sent).Select(i => (i.AccountId, i.Day)).ShouldBe(
            [(paying, today.AddDays(-3)), (second, today.AddDays(-3)), (paying, today.AddDays(-2)), (second, today.AddDays(-2))], ignoreOrder: true);
        first.Items.Where(i => i.AccountId == unlinked).ShouldAllBe(i => i.Outcome == MeterItemOutcome.NoCustomer);
        first.Items.Where(i => i.Day == today).ShouldAllBe(i => i.Outcome == MeterItemOutcome.DayNotOver || i.Outcome == MeterItemOutcome.NoCustomer);
        var events = fixture.Stripe.MeterEvents;
        events.Select(e => (e.Identifier, e.CustomerId, e.Value)).ShouldBe(
        [
            (MeterReporter.IdentifierFor("globex", paying, today.AddDays(-3)), customers[paying], 1L),
            (MeterReporter.IdentifierFor("globex", second, today.AddDays(-3)), customers[second], 1L),
            (MeterReporter.IdentifierFor("globex", paying, today.AddDays(-2)), customers[paying], 1L),
            (MeterReporter.IdentifierFor("globex", second, today.AddDays(-2)), customers[second], 1L),
        ], ignoreOrder: true);

        // A rerun resumes after what was reported: nothing is sent again.
        var posts = MeterPosts();
        var again = await metering.ReportAsync("globex", Ct);
        again.Sent.ShouldBe(0);
        MeterPosts().ShouldBe(posts);

        // Even with our record of it lost, a rerun bills nothing twice: Stripe drops the same identifiers.
        await using (var forget = fixture.DataSource.CreateCommand($"delete from {fixture.Schema}.stripe_meter_reports where tenant_id = 'globex'"))
        {
            await forget.ExecuteNonQueryAsync(Ct);
        }

        await metering.ReportAsync("globex", Ct);
        MeterPosts().ShouldBeGreaterThan(posts, "the record was lost, so it sent again");
        fixture.Stripe.MeterEvents.Count.ShouldBe(events.Count);
    }

    [Fact]
    public async Task A_tenant_that_does_not_bill_on_usage_sends_nothing()
    {
        await InactivityScenario.RecordActivityAsync(fixture.Service<IEventStore>(), "acme", ["acme-usage"], DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2), Ct);
        await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
        var report = await fixture.Service<UsageMetering>().ReportAsync("acme", Ct);
        report.TenantNotBilledOnUsage.ShouldBeTrue();
        fixture.Stripe.MeterEvents.ShouldNotContain(e => e.Identifier.StartsWith("acme:", StringComparison.Ordinal));
    }

    private int MeterPosts() => fixture.Stripe.Requests.Count(r => r.Method == "POST" && r.Path == "/v1/billing/meter_events");
}

using HealthScoring.Integrations.Stripe.Metering;
using HealthScoring.Integrations.Stripe.Tests.Client;

namespace HealthScoring.Integrations.Stripe.Tests.Metering;

public sealed class MeterReporterTests
{
    private const string Tenant = "t1";
    private const string EventName = "api_calls";
    private static readonly DateOnly Yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StaticUsageBillingPolicy Policy(IReadOnlySet<string>? accounts = null) =>
        new(new Dictionary<string, IReadOnlySet<string>?> { [Tenant] = accounts });

    [Fact]
    public async Task One_meter_event_per_account_per_day_identified_by_tenant_account_and_day()
    {
        await using var host = await StripeTestHost.StartAsync();
        var reporter = new MeterReporter(host.Client, Policy());

        var report = await reporter.ReportAsync(
            Tenant,
            EventName,
            [
                new("acme", "cus_acme", Yesterday, 3),
                new("acme", "cus_acme", Yesterday, 4),
                new("acme", "cus_acme", Yesterday.AddDays(-1), 10),
                new("globex", "cus_globex", Yesterday, 1),
            ],
            Ct);

        report.Sent.ShouldBe(3);
        var stored = host.Fake.MeterEvents.OrderBy(e => e.Identifier, StringComparer.Ordinal).ToList();
        stored.Select(e => (e.Identifier, e.CustomerId, e.Value)).ShouldBe(
        [
            ($"t1:acme:{Yesterday.AddDays(-1):yyyy-MM-dd}", "cus_acme", 10L),
            ($"t1:acme:{Yesterday:yyyy-MM-dd}", "cus_acme", 7L),
            ($"t1:globex:{Yesterday:yyyy-MM-dd}", "cus_globex", 1L),
        ]);
        stored.ShouldAllBe(e => e.EventName == EventName);
        stored[1].Timestamp.ShouldBe(MeterReporter.TimestampFor(Yesterday));
        host.Fake.Requests.ShouldAllBe(r => r.IdempotencyKey == $"hs:meter-event:{r.Form["identifier"]}");
    }

    [Fact]
    public async Task Reporting_the_same_days_twice_leaves_one_meter_event_each()
    {
        await using var host = await StripeTestHost.StartAsync();
        var reporter = new MeterReporter(host.Client, Policy());
        UsageQuantity[] usage = [new("acme", "cus_acme", Yesterday, 5), new("globex", "cus_globex", Yesterday, 2)];

        await reporter.ReportAsync(Tenant, EventName, usage, Ct);
        var again = await reporter.ReportAsync(Tenant, EventName, usage, Ct);

        again.Sent.ShouldBe(2);
        host.Fake.MeterEvents.Count.ShouldBe(2);
        host.Fake.Requests.Skip(2).ShouldAllBe(r => r.Replayed, "the same idempotency key replays the first answer");
    }

    [Fact]
    public async Task A_second_sender_with_its_own_idempotency_key_is_still_deduplicated_by_identifier()
    {
        await using var host = await StripeTestHost.StartAsync();
        var identifier = MeterReporter.IdentifierFor(Tenant, "acme", Yesterday);
        var timestamp = MeterReporter.TimestampFor(Yesterday);

        await host.Client.CreateMeterEventAsync(EventName, "cus_acme", 5, timestamp, identifier, "process-a", Ct);
        await host.Client.CreateMeterEventAsync(EventName, "cus_acme", 5, timestamp, identifier, "process-b", Ct);

        host.Fake.Requests.ShouldAllBe(r => r.StatusCode == 200 && !r.Replayed);
        host.Fake.MeterEvents.ShouldHaveSingleItem().Value.ShouldBe(5);
    }

    [Fact]
    public async Task A_day_resent_with_another_quantity_is_reported_as_a_conflict_and_Stripe_keeps_the_first()
    {
        await using var host = await StripeTestHost.StartAsync();
        var reporter = new MeterReporter(host.Client, Policy());
        await reporter.ReportAsync(Tenant, EventName, [new("acme", "cus_acme", Yesterday, 5)], Ct);

        var report = await reporter.ReportAsync(Tenant, EventName, [new("acme", "cus_acme", Yesterday, 6)], Ct);

        report.Items.ShouldHaveSingleItem().Outcome.ShouldBe(MeterItemOutcome.ConflictsWithEarlierReport);
        report.Failed.ShouldBe(1);
        host.Fake.MeterEvents.ShouldHaveSingleItem().Value.ShouldBe(5);
    }

    [Fact]
    public async Task Tenants_and_accounts_not_billed_on_usage_get_no_meter_events()
    {
        await using var host = await StripeTestHost.StartAsync();
        var onlyAcme = new MeterReporter(host.Client, Policy(new HashSet<string> { "acme" }));
        var otherTenant = new MeterReporter(host.Client, new StaticUsageBillingPolicy(new Dictionary<string, IReadOnlySet<string>?> { ["t2"] = null }));
        UsageQuantity[] usage = [new("acme", "cus_acme", Yesterday, 5), new("globex", "cus_globex", Yesterday, 2)];

        var tenantReport = await otherTenant.ReportAsync(Tenant, EventName, usage, Ct);
        tenantReport.TenantNotBilledOnUsage.ShouldBeTrue();
        tenantReport.Items.ShouldAllBe(i => i.Outcome == MeterItemOutcome.NotBilledOnUsage);
        host.Fake.Requests.ShouldBeEmpty();

        var report = await onlyAcme.ReportAsync(Tenant, EventName, usage, Ct);

        report.Items.Single(i => i.AccountId == "globex").Outcome.ShouldBe(MeterItemOutcome.NotBilledOnUsage);
        host.Fake.MeterEvents.ShouldHaveSingleItem().CustomerId.ShouldBe("cus_acme");
    }

    [Fact]
    public async Task Days_that_cannot_or_need_not_be_billed_are_skipped_without_a_call()
    {
        await using var host = await StripeTestHost.StartAsync();
        var reporter = new MeterReporter(host.Client, Policy());
        var today = Yesterday.AddDays(1);

        var report = await reporter.ReportAsync(
            Tenant,
            EventName,
            [
                new("a-today", "cus_1", today, 5),
                new("a-old", "cus_1", today.AddDays(-40), 5),
                new("a-none", null, Yesterday, 5),
                new("a-zero", "cus_1", Yesterday, 0),
                new("a-negative", "cus_1", Yesterday, -3),
            ],
            Ct);

        report.Items.ToDictionary(i => i.AccountId, i => i.Outcome).ShouldBe(
            new Dictionary<string, MeterItemOutcome>
            {
                ["a-today"] = MeterItemOutcome.DayNotOver,
                ["a-old"] = MeterItemOutcome.TooOld,
                ["a-none"] = MeterItemOutcome.NoCustomer,
                ["a-zero"] = MeterItemOutcome.NothingToReport,
                ["a-negative"] = MeterItemOutcome.Failed,
            },
            ignoreOrder: true);
        host.Fake.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_failed_day_does_not_stop_the_others()
    {
        await using var host = await StripeTestHost.StartAsync(maxRetries: 0);
        var reporter = new MeterReporter(host.Client, Policy());
        host.Fake.FailNext(1, 500);

        var report = await reporter.ReportAsync(Tenant, EventName, [new("acme", "cus_acme", Yesterday, 5), new("globex", "cus_globex", Yesterday, 2)], Ct);

        report.Failed.ShouldBe(1);
        report.Sent.ShouldBe(1);
        report.Items.Single(i => i.Outcome == MeterItemOutcome.Failed).Error.ShouldNotBeNull().ShouldContain("HTTP 500");
    }

    [Fact]
    public async Task Without_a_key_nothing_is_reported()
    {
        await using var host = await StripeTestHost.StartAsync(withKey: false);

        var report = await new MeterReporter(host.Client, Policy()).ReportAsync(Tenant, EventName, [new("acme", "cus_acme", Yesterday, 5)], Ct);

        report.Disabled.ShouldBeTrue();
        host.Fake.Requests.ShouldBeEmpty();
    }
}

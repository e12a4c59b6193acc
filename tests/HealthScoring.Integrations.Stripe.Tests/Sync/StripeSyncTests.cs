using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.Integrations.Stripe.Sync;
using HealthScoring.Integrations.Stripe.Tests.Client;
using HealthScoring.Testing.Fakes.Stripe;

namespace HealthScoring.Integrations.Stripe.Tests.Sync;

public sealed class StripeSyncTests
{
    private const string Tenant = "t1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StripeSync Sync(Integrations.Stripe.Client.IStripeClient client, IBillingFactSink sink, IStripeSyncCursorStore cursors, int batchSize = 100, TimeProvider? clock = null) =>
        new(client, sink, cursors, new StripeSyncOptions { BatchSize = batchSize }, clock: clock);

    [Fact]
    public async Task A_first_run_pages_2000_customers_with_subscriptions_and_invoices_into_facts_one_call_per_page()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customers = host.Fake.AddCustomers(2000);
        var sink = new DedupingSink();
        var cursors = new InMemoryStripeSyncCursorStore();
        var progress = new ListProgress<StripeSyncReport>();

        var report = await Sync(host.Client, sink, cursors).RunAsync(Tenant, progress, Ct);

        report.CustomersListed.ShouldBe(2000);
        report.SubscriptionsListed.ShouldBe(2000);
        report.InvoicesListed.ShouldBe(2000);
        report.FactsStored.ShouldBe(6000);
        report.Invalid.ShouldBe(0);
        var requests = host.Fake.Requests;
        requests.Count(r => r.Path == "/v1/customers").ShouldBe(20);
        requests.Count(r => r.Path == "/v1/subscriptions").ShouldBe(20);
        requests.Count(r => r.Path == "/v1/invoices").ShouldBe(20);
        requests.Count(r => r.Path == "/v1/events").ShouldBe(2, "the mark before the snapshot, then the (empty) catch-up");
        requests.ShouldAllBe(r => r.StatusCode == 200);

        sink.Stored.Count.ShouldBe(6000);
        sink.Duplicates.ShouldBe(0);
        sink.Facts.OfType<CustomerCreated>().Select(c => new StripeCustomerLink().AccountIdFrom(c)).ToHashSet()
            .ShouldBe(Enumerable.Range(1, 2000).Select(i => $"acct-{i}").ToHashSet(), ignoreOrder: true);
        sink.Facts.OfType<CustomerCreated>().Select(c => c.CustomerId).ShouldBe(customers, ignoreOrder: true);
        var subscriptions = sink.Facts.OfType<SubscriptionStarted>().ToList();
        subscriptions.Count.ShouldBe(2000);
        subscriptions.ShouldAllBe(s => s.Subscription.Status == "active" && s.Subscription.MonthlyRecurringRevenueMinor == 14_700);
        sink.Facts.OfType<InvoicePaid>().Count().ShouldBe(2000);
        sink.Stored.Keys.ShouldAllBe(id => id.StartsWith("sync:", StringComparison.Ordinal));
        sink.Sources.Distinct().ShouldBe(["stripe-sync"]);

        progress.Reports.Count.ShouldBe(60, "one report per page");
        progress.Reports[^1].FactsStored.ShouldBe(6000);
        var cursor = (await cursors.GetAsync(Tenant, Ct)).ShouldNotBeNull();
        cursor.Stage.ShouldBe(StripeSyncStage.Events);
        cursor.SnapshotCompletedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task The_same_event_by_webhook_and_by_the_events_list_has_one_fact_id_and_is_stored_once()
    {
        const string webhookSecret = "whsec_test_sync";
        await using var host = await StripeTestHost.StartAsync();
        host.Fake.AddCustomers(3, new FakeCustomerSeed { EmitEvents = true });
        var sink = new DedupingSink();
        var cursors = new InMemoryStripeSyncCursorStore();
        await Sync(host.Client, sink, cursors).RunAsync(Tenant, cancellationToken: Ct);
        var storedAfterSnapshot = sink.Stored.Count;
        var subscription = sink.Facts.OfType<SubscriptionStarted>().First().Subscription.SubscriptionId;

        // Stripe delivers the change by webhook...
        var eventJson = host.Fake.Update(subscription, s => s["cancel_at_period_end"] = true, "customer.subscription.updated")!;
        var body = Encoding.UTF8.GetBytes(eventJson);
        var header = StripeWebhookSignature.Sign(body, webhookSecret, DateTimeOffset.UtcNow);
        StripeWebhookSignature.Verify(header, body, webhookSecret, DateTimeOffset.UtcNow).IsValid.ShouldBeTrue();
        var byWebhook = StripeEventParser.Parse(body.AsSpan()).ShouldBeOfType<ParsedStripeEvent>();
        await sink.StoreAsync(Tenant, [byWebhook], "stripe-webhook", Ct);

        // ...and the events list returns the same event.
        var listed = new List<ParsedStripeEvent>();
        await foreach (var item in host.Client.ListEventsAsync((await cursors.GetAsync(Tenant, Ct))!.LastEventId, cancellationToken: Ct))
        {
            listed.Add(item.ParseEvent().ShouldBeOfType<ParsedStripeEvent>());
        }

        var byList = listed.ShouldHaveSingleItem();
        byList.Fact.EventId.ShouldBe(byWebhook.Fact.EventId);
        byList.Fact.EventId.ShouldStartWith("evt_");
        byList.Fact.ShouldBeOfType<SubscriptionChanged>().ChangedFields.ShouldBe(["cancel_at_period_end"]);

        var report = await Sync(host.Client, sink, cursors).RunAsync(Tenant, cancellationToken: Ct);

        report.EventsListed.ShouldBe(1);
        report.FactsStored.ShouldBe(1);
        sink.Duplicates.ShouldBe(1, "the sync handed over the event the webhook had already stored");
        sink.Stored.Count.ShouldBe(storedAfterSnapshot + 1);
        host.Fake.Requests.Count(r => r.Path != "/v1/events").ShouldBe(3, "only the first run lists objects, one page per stage");
    }

    [Fact]
    public async Task Later_runs_read_only_the_events_after_the_last_one_seen()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customers = host.Fake.AddCustomers(5, new FakeCustomerSeed { EmitEvents = true });
        var sink = new DedupingSink();
        var cursors = new InMemoryStripeSyncCursorStore();
        var sync = Sync(host.Client, sink, cursors, batchSize: 2);
        await sync.RunAsync(Tenant, cancellationToken: Ct);
        host.Fake.ClearRequests();

        var nothing = await sync.RunAsync(Tenant, cancellationToken: Ct);
        nothing.EventsListed.ShouldBe(0);
        nothing.FactsStored.ShouldBe(0);

        foreach (var customer in customers)
        {
            host.Fake.Update(customer, c => c["metadata"]!["plan_tier"] = "gold", "customer.updated");
        }

        host.Fake.AddEvent("payout.paid", new JsonObject { ["id"] = "po_1", ["object"] = "payout" });
        var report = await sync.RunAsync(Tenant, cancellationToken: Ct);

        report.EventsListed.ShouldBe(5, "types[] asks only for the types the parser uses");
        report.FactsStored.ShouldBe(5);
        sink.Facts.OfType<CustomerUpdated>().Count().ShouldBe(5);
        host.Fake.Requests.ShouldAllBe(r => r.Path == "/v1/events");
        host.Fake.Requests.ShouldAllBe(r => r.Query.Contains("ending_before=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Events_from_the_snapshot_window_are_not_stored_again_when_the_snapshot_already_reported_them()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddDays(-1));
        await using var host = await StripeTestHost.StartAsync(clock: clock);
        var fake = host.Fake;
        var customers = fake.AddCustomers(3, new FakeCustomerSeed { EmitEvents = true, InvoiceStatus = "open" });
        var subscriptionIds = Enumerable.Range(0, 3).Select(i => SubscriptionOf(fake, customers[i])).ToList();
        var invoiceIds = Enumerable.Range(0, 3).Select(i => InvoiceOf(fake, customers[i])).ToList();

        var client = new HookedStripeClient(host.Client)
        {
            // Between the mark and the listing, Stripe changes things; the listing then sees the changed objects.
            AfterLatestEvent = () =>
            {
                clock.Now += TimeSpan.FromSeconds(10);
                fake.Update(subscriptionIds[0], s => s["items"]!["data"]![0]!["quantity"] = 5, "customer.subscription.updated");
                fake.Update(invoiceIds[1], Pay(clock), "invoice.paid");
                fake.AddEvent("invoice.payment_succeeded", fake.GetObject(invoiceIds[1]));
                fake.Update(invoiceIds[2], i => i["attempt_count"] = 2, "invoice.payment_failed");
                fake.Update(invoiceIds[2], Pay(clock), "invoice.paid");
                clock.Now += TimeSpan.FromSeconds(10);
            },

            // After the customers were listed: this change is news to the snapshot.
            BeforeInvoices = () =>
            {
                clock.Now += TimeSpan.FromSeconds(10);
                fake.Update(customers[0], c => c["metadata"]!["account_id"] = "acct-moved", "customer.updated");
            },
        };
        var sink = new DedupingSink();

        var report = await Sync(client, sink, new InMemoryStripeSyncCursorStore(), clock: clock).RunAsync(Tenant, cancellationToken: Ct);

        report.EventsListed.ShouldBe(6);
        report.CoveredBySnapshot.ShouldBe(4, "the seat change, both payment events of invoice 1, the payment of invoice 2");
        var fromEvents = sink.Stored.Values.Where(e => e.Envelope.Id.StartsWith("evt_", StringComparison.Ordinal)).Select(e => e.Fact).ToList();
        fromEvents.Count.ShouldBe(2);
        fromEvents.OfType<InvoicePaymentFailed>().ShouldHaveSingleItem().AttemptCount.ShouldBe(2, "a failed attempt the listing could not show");
        new StripeCustomerLink().AccountIdFrom(fromEvents.OfType<CustomerUpdated>().ShouldHaveSingleItem()).ShouldBe("acct-moved");

        var fromSnapshot = sink.Stored.Values.Where(e => e.Envelope.Id.StartsWith("sync:", StringComparison.Ordinal)).Select(e => e.Fact).ToList();
        fromSnapshot.OfType<SubscriptionStarted>().Single(s => s.Subscription.SubscriptionId == subscriptionIds[0]).Subscription.Quantity.ShouldBe(5);
        fromSnapshot.OfType<InvoicePaid>().Select(i => i.InvoiceId).ShouldBe([invoiceIds[1], invoiceIds[2]], ignoreOrder: true);
        fromSnapshot.OfType<InvoicePaymentFailed>().ShouldHaveSingleItem().InvoiceId.ShouldBe(invoiceIds[0]);
    }

    [Fact]
    public async Task Listing_unchanged_objects_again_gives_the_same_ids_and_a_changed_one_a_new_id()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customers = host.Fake.AddCustomers(4);
        var sink = new DedupingSink();
        var cursors = new InMemoryStripeSyncCursorStore();
        var sync = Sync(host.Client, sink, cursors);
        await sync.RunAsync(Tenant, cancellationToken: Ct);
        sink.Stored.Count.ShouldBe(12);

        await cursors.ResetAsync(Tenant, Ct);
        await sync.RunAsync(Tenant, cancellationToken: Ct);
        sink.Duplicates.ShouldBe(12);
        sink.Stored.Count.ShouldBe(12);

        host.Fake.Update(SubscriptionOf(host.Fake, customers[2]), s => s["items"]!["data"]![0]!["quantity"] = 9);
        await cursors.ResetAsync(Tenant, Ct);
        await sync.RunAsync(Tenant, cancellationToken: Ct);

        sink.Stored.Count.ShouldBe(13);
        sink.Facts.OfType<SubscriptionStarted>().Count(s => s.Subscription.Quantity == 9).ShouldBe(1);
    }

    [Fact]
    public async Task A_cursor_event_Stripe_no_longer_holds_starts_a_new_snapshot()
    {
        await using var host = await StripeTestHost.StartAsync();
        host.Fake.AddCustomers(2);
        var sink = new DedupingSink();
        var cursors = new InMemoryStripeSyncCursorStore();
        await cursors.SaveAsync(Tenant, new StripeSyncCursor { Stage = StripeSyncStage.Events, LastEventId = "evt_pruned_long_ago" }, Ct);

        var report = await Sync(host.Client, sink, cursors).RunAsync(Tenant, cancellationToken: Ct);

        report.SnapshotRestarted.ShouldBeTrue();
        report.CustomersListed.ShouldBe(2);
        sink.Stored.Count.ShouldBe(6);
        (await cursors.GetAsync(Tenant, Ct))!.Stage.ShouldBe(StripeSyncStage.Events);
    }

    [Fact]
    public async Task A_stopped_sync_resumes_after_the_last_page_it_stored()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customers = host.Fake.AddCustomers(250, new FakeCustomerSeed { SubscriptionStatus = null, InvoicesPerCustomer = 0 });
        var sink = new DedupingSink { FailOnBatch = 3 };
        var cursors = new InMemoryStripeSyncCursorStore();
        var sync = Sync(host.Client, sink, cursors, batchSize: 50);

        await Should.ThrowAsync<InvalidOperationException>(() => sync.RunAsync(Tenant, cancellationToken: Ct));
        var stopped = (await cursors.GetAsync(Tenant, Ct)).ShouldNotBeNull();
        stopped.Stage.ShouldBe(StripeSyncStage.Customers);
        stopped.StartingAfter.ShouldBe(customers[150], "two pages of 50, newest first, were stored");
        host.Fake.ClearRequests();

        var report = await sync.RunAsync(Tenant, cancellationToken: Ct);

        report.CustomersListed.ShouldBe(150);
        sink.Stored.Count.ShouldBe(250);
        host.Fake.Requests.First(r => r.Path == "/v1/customers").Query.ShouldContain($"starting_after={customers[150]}");
    }

    [Fact]
    public async Task Without_a_key_the_sync_does_nothing()
    {
        await using var host = await StripeTestHost.StartAsync(withKey: false);
        var sink = new DedupingSink();

        var report = await Sync(host.Client, sink, new InMemoryStripeSyncCursorStore()).RunAsync(Tenant, cancellationToken: Ct);

        report.Disabled.ShouldBeTrue();
        sink.Stored.ShouldBeEmpty();
        host.Fake.Requests.ShouldBeEmpty();
    }

    private static string SubscriptionOf(FakeStripe fake, string customer) => fake.IdsOf("subscription", customer).Single();

    private static string InvoiceOf(FakeStripe fake, string customer) => fake.IdsOf("invoice", customer).Single();

    private static Action<JsonObject> Pay(ManualClock clock) => invoice =>
    {
        invoice["status"] = "paid";
        invoice["amount_paid"] = invoice["amount_due"]!.GetValue<long>();
        invoice["amount_remaining"] = 0;
        invoice["next_payment_attempt"] = null;
        invoice["status_transitions"]!["paid_at"] = clock.Now.ToUnixTimeSeconds();
    };
}

using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class SubscriptionEventTests
{
    private static DateTimeOffset Unix(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);

    [Fact]
    public void A_pre_Basil_subscription_created_event_starts_a_subscription_with_the_period_from_the_subscription()
    {
        var parsed = Fixtures.ParseOk("customer.subscription.created.pre-basil.json");

        parsed.Envelope.Id.ShouldBe("evt_1QkSWeRrCEELX9AhB8r2sJ4u");
        parsed.Envelope.Type.ShouldBe("customer.subscription.created");
        parsed.Envelope.Created.ShouldBe(Unix(1737646860));
        parsed.Envelope.Livemode.ShouldBeFalse();
        parsed.Envelope.ApiVersion.ShouldBe("2024-06-20");
        parsed.Envelope.ObjectJson.ShouldStartWith("{");
        parsed.Envelope.ObjectJson.ShouldContain("\"sub_1QkSWdRrCEELX9AhjZ6IPk5T\"");
        var fact = parsed.Fact.ShouldBeOfType<SubscriptionStarted>();
        fact.EventId.ShouldBe("evt_1QkSWeRrCEELX9AhB8r2sJ4u");
        fact.CustomerId.ShouldBe("cus_Rdk0hJcoJOYQhb");
        fact.OccurredAt.ShouldBe(Unix(1737646860));
        fact.CustomerMetadata.ShouldBeNull();
        var subscription = fact.Subscription;
        subscription.SubscriptionId.ShouldBe("sub_1QkSWdRrCEELX9AhjZ6IPk5T");
        subscription.Status.ShouldBe("active");
        subscription.Currency.ShouldBe("usd");
        subscription.PriceIds.ShouldBe(["price_1QhxiuRrCEELX9AhVjVPAUnD"]);
        subscription.Quantity.ShouldBe(3);
        subscription.MonthlyRecurringRevenueMinor.ShouldBe(14_700);
        subscription.CurrentPeriodStart.ShouldBe(Unix(1737646858));
        subscription.CurrentPeriodEnd.ShouldBe(Unix(1740325258));
        subscription.Items.ShouldHaveSingleItem().CurrentPeriodEnd.ShouldBeNull();
        subscription.CancelAtPeriodEnd.ShouldBeFalse();
    }

    [Fact]
    public void A_Basil_subscription_created_event_takes_the_period_from_its_items_and_reads_an_expanded_customer()
    {
        var node = Fixtures.Node("customer.subscription.created.basil.json");
        node["data"]!["object"]!.AsObject().ContainsKey("current_period_end").ShouldBeFalse("the Basil fixture must not carry the old field");

        var fact = Fixtures.Fact<SubscriptionStarted>("customer.subscription.created.basil.json");

        fact.CustomerId.ShouldBe("cus_T66xzarl5v73XN");
        fact.CustomerMetadata.ShouldNotBeNull()["account_id"].ShouldBe("acme-0042");
        new StripeCustomerLink().AccountIdFrom(fact).ShouldBe("acme-0042");
        fact.Subscription.CurrentPeriodStart.ShouldBe(Unix(1758573442));
        fact.Subscription.CurrentPeriodEnd.ShouldBe(Unix(1790109442));
        fact.Subscription.MonthlyRecurringRevenueMinor.ShouldBe(10_000, "120000 a year is 10000 a month");
        fact.Subscription.Items.ShouldHaveSingleItem().Interval.ShouldBe("year");
    }

    [Fact]
    public void The_customer_may_be_a_plain_id_or_an_expanded_object_with_the_same_result_id()
    {
        var expanded = Fixtures.Node("customer.subscription.created.basil.json");
        var plain = expanded.DeepClone().AsObject();
        plain["data"]!["object"]!["customer"] = "cus_T66xzarl5v73XN";

        var fromExpanded = Fixtures.ParseJson(expanded.ToJsonString()).Fact;
        var fromPlain = Fixtures.ParseJson(plain.ToJsonString()).Fact;

        fromExpanded.CustomerId.ShouldBe("cus_T66xzarl5v73XN");
        fromPlain.CustomerId.ShouldBe("cus_T66xzarl5v73XN");
        fromPlain.CustomerMetadata.ShouldBeNull();
        fromExpanded.CustomerMetadata.ShouldNotBeNull();
    }

    [Fact]
    public void A_pre_Basil_seat_increase_reports_the_previous_quantity_and_mrr_from_previous_attributes()
    {
        var fact = Fixtures.Fact<SubscriptionChanged>("customer.subscription.updated.seats.pre-basil.json");

        fact.ChangedFields.ShouldBe(["items", "quantity"]);
        fact.Subscription.Quantity.ShouldBe(5);
        fact.Previous.Quantity.ShouldBe(3);
        fact.QuantityChange.ShouldBe(2);
        fact.Subscription.MonthlyRecurringRevenueMinor.ShouldBe(24_500);
        fact.Previous.MonthlyRecurringRevenueMinor.ShouldBe(14_700);
        fact.MonthlyRecurringRevenueChangeMinor.ShouldBe(9_800);
        fact.Previous.PriceIds.ShouldBe(["price_1QhxiuRrCEELX9AhVjVPAUnD"]);
        fact.Subscription.CurrentPeriodEnd.ShouldBe(Unix(1740325258));
    }

    [Fact]
    public void A_previous_quantity_without_previous_items_still_gives_the_previous_mrr_of_a_single_item_subscription()
    {
        var fact = Fixtures.Fact<SubscriptionChanged>("customer.subscription.updated.quantity-only.pre-basil.json");

        fact.ChangedFields.ShouldBe(["quantity"]);
        fact.Previous.Quantity.ShouldBe(2);
        fact.Subscription.Quantity.ShouldBe(4);
        fact.Previous.MonthlyRecurringRevenueMinor.ShouldBe(9_800);
        fact.Subscription.MonthlyRecurringRevenueMinor.ShouldBe(19_600);
        fact.Previous.PriceIds.ShouldBeNull("the price did not change, so previous_attributes does not name it");
        fact.Previous.Items.ShouldBeNull();
    }

    [Fact]
    public void A_Basil_renewal_carries_the_old_items_in_previous_attributes_but_no_change_in_seats_or_mrr()
    {
        var parsed = Fixtures.ParseOk("customer.subscription.updated.renewal.basil.json");
        var fact = parsed.Fact.ShouldBeOfType<SubscriptionChanged>();

        parsed.Envelope.ApiVersion.ShouldBe("2025-08-27.basil");
        parsed.Envelope.PreviousAttributesJson.ShouldNotBeNull().ShouldContain("latest_invoice");
        fact.ChangedFields.ShouldBe(["items", "latest_invoice"]);
        fact.Subscription.Currency.ShouldBe("brl");
        fact.Subscription.CurrentPeriodStart.ShouldBe(Unix(1758919042));
        fact.Subscription.CurrentPeriodEnd.ShouldBe(Unix(1759005442));
        fact.Previous.CurrentPeriodEnd.ShouldBe(Unix(1758919042));
        fact.Previous.Items.ShouldNotBeNull().ShouldHaveSingleItem().Quantity.ShouldBe(1);
        fact.QuantityChange.ShouldBe(0);
        fact.MonthlyRecurringRevenueChangeMinor.ShouldBe(0);
        fact.Subscription.MonthlyRecurringRevenueMinor.ShouldBe(6_083, "200 a day is 200 × 365 / 12 = 6083.33 a month");
    }

    [Fact]
    public void Several_items_are_summed_into_mrr_and_seats_with_metered_items_left_out()
    {
        var fact = Fixtures.Fact<SubscriptionChanged>("customer.subscription.updated.multi-item.basil.json");
        var subscription = fact.Subscription;

        subscription.Items.Count.ShouldBe(4);
        subscription.PriceIds.Count.ShouldBe(4);
        var metered = subscription.Items.Single(i => i.IsMetered);
        metered.Quantity.ShouldBeNull();
        metered.MonthlyAmountMinor.ShouldBeNull();
        // 1500 × 10 monthly + 60000 yearly / 12 + 1000 weekly × 52 / 12 = 15000 + 5000 + 4333.33
        subscription.MonthlyRecurringRevenueMinor.ShouldBe(24_333);
        subscription.Quantity.ShouldBe(12);
        fact.Previous.Quantity.ShouldBe(10);
        fact.Previous.MonthlyRecurringRevenueMinor.ShouldBe(21_333);
        fact.MonthlyRecurringRevenueChangeMinor.ShouldBe(3_000);
        subscription.CurrentPeriodEnd.ShouldBe(Unix(1754126858), "the period of the item that renews first");
    }

    [Fact]
    public void Scheduling_a_cancellation_at_period_end_is_a_change_with_the_previous_flag()
    {
        var fact = Fixtures.Fact<SubscriptionChanged>("customer.subscription.updated.cancel-at-period-end.basil.json");

        fact.Subscription.Status.ShouldBe("active");
        fact.Subscription.CancelAtPeriodEnd.ShouldBeTrue();
        fact.Subscription.CancelAt.ShouldBe(Unix(1790109442));
        fact.Previous.CancelAtPeriodEnd.ShouldBe(false);
        fact.Previous.Quantity.ShouldBeNull();
        fact.ChangedFields.ShouldContain("cancel_at_period_end");
    }

    [Fact]
    public void A_deleted_subscription_is_canceled_with_the_reason_and_feedback_but_not_the_free_text_comment()
    {
        var fact = Fixtures.Fact<SubscriptionCanceled>("customer.subscription.deleted.basil.json");

        fact.Subscription.Status.ShouldBe("canceled");
        fact.Subscription.EndedAt.ShouldBe(Unix(1790109442));
        fact.CancellationReason.ShouldBe("cancellation_requested");
        fact.CancellationFeedback.ShouldBe("switched_service");
        fact.ToString().ShouldNotContain("in-house tool");
    }

    [Fact]
    public void An_update_whose_status_is_canceled_is_also_a_cancellation()
    {
        var node = Fixtures.Node("customer.subscription.deleted.basil.json");
        node["type"] = "customer.subscription.updated";
        node["data"]!.AsObject()["previous_attributes"] = new JsonObject { ["status"] = "active" };

        var fact = Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<SubscriptionCanceled>();

        fact.Subscription.Status.ShouldBe("canceled");
    }

    [Fact]
    public void Paused_and_resumed_events_become_their_facts()
    {
        var paused = Fixtures.Fact<SubscriptionPaused>("customer.subscription.paused.basil.json");
        var resumed = Fixtures.Fact<SubscriptionResumed>("customer.subscription.resumed.basil.json");

        paused.Subscription.Status.ShouldBe("paused");
        paused.CustomerId.ShouldBe("cus_T66xzarl5v73XN");
        resumed.Subscription.Status.ShouldBe("active");
        resumed.Subscription.CurrentPeriodStart.ShouldBe(Unix(1760300000));
    }

    [Fact]
    public void A_trial_will_end_event_carries_the_trial_end()
    {
        var fact = Fixtures.Fact<TrialWillEnd>("customer.subscription.trial_will_end.pre-basil.json");

        fact.Subscription.Status.ShouldBe("trialing");
        fact.TrialEnd.ShouldBe(Unix(1738856458));
        fact.OccurredAt.ShouldBe(Unix(1738597258));
    }

    [Fact]
    public void A_pause_of_payment_collection_shows_on_the_snapshot_of_an_update()
    {
        var node = Fixtures.Node("customer.subscription.updated.cancel-at-period-end.basil.json");
        node["data"]!["object"]!["pause_collection"] = new JsonObject { ["behavior"] = "void", ["resumes_at"] = 1762000000 };

        var fact = Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<SubscriptionChanged>();

        fact.Subscription.PauseCollectionBehavior.ShouldBe("void");
        fact.Subscription.PauseCollectionResumesAt.ShouldBe(Unix(1762000000));
    }
}

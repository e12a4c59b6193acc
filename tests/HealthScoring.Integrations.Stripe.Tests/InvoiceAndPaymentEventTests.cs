using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class InvoiceAndPaymentEventTests
{
    private const string Subscription = "sub_1QkSWdRrCEELX9AhjZ6IPk5T";
    private const string Customer = "cus_Rdk0hJcoJOYQhb";
    private static DateTimeOffset Unix(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);

    [Fact]
    public void A_pre_Basil_paid_invoice_names_its_subscription_at_the_top_level()
    {
        Fixtures.Node("invoice.paid.pre-basil.json")["data"]!["object"]!["subscription"]!.GetValue<string>().ShouldBe(Subscription);

        var fact = Fixtures.Fact<InvoicePaid>("invoice.paid.pre-basil.json");

        fact.EventId.ShouldBe("evt_1QtZ4pRrCEELX9AhPq0bYv1k");
        fact.CustomerId.ShouldBe(Customer);
        fact.InvoiceId.ShouldBe("in_1QtZ4nRrCEELX9AhJ3Sx2gFh");
        fact.SubscriptionId.ShouldBe(Subscription);
        fact.AmountPaidMinor.ShouldBe(14_700);
        fact.Currency.ShouldBe("usd");
        fact.BillingReason.ShouldBe("subscription_cycle");
        fact.PaidAt.ShouldBe(Unix(1740325258 + 3700));
    }

    [Fact]
    public void A_Basil_paid_invoice_names_its_subscription_under_parent_subscription_details()
    {
        var invoice = Fixtures.Node("invoice.paid.basil.json")["data"]!["object"]!.AsObject();
        invoice.ContainsKey("subscription").ShouldBeFalse("Basil removed invoice.subscription");
        invoice.ContainsKey("paid").ShouldBeFalse("Basil removed invoice.paid");

        var fact = Fixtures.Fact<InvoicePaid>("invoice.paid.basil.json");

        fact.SubscriptionId.ShouldBe(Subscription);
        fact.AmountPaidMinor.ShouldBe(14_700);
        fact.CustomerId.ShouldBe(Customer);
    }

    [Fact]
    public void Invoice_payment_succeeded_is_the_same_fact_as_invoice_paid_under_another_event_id()
    {
        var paid = Fixtures.Fact<InvoicePaid>("invoice.paid.basil.json");
        var succeeded = Fixtures.Fact<InvoicePaid>("invoice.payment_succeeded.basil.json");

        succeeded.InvoiceId.ShouldBe(paid.InvoiceId);
        succeeded.EventId.ShouldNotBe(paid.EventId);
        (succeeded with { EventId = paid.EventId }).ShouldBe(paid);
    }

    [Fact]
    public void Without_the_parent_the_subscription_is_found_on_the_Basil_line_items()
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        node["data"]!["object"]!.AsObject().Remove("parent");

        Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<InvoicePaid>().SubscriptionId.ShouldBe(Subscription);
    }

    [Fact]
    public void A_one_off_invoice_has_no_subscription()
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        var invoice = node["data"]!["object"]!.AsObject();
        invoice["parent"] = null;
        invoice["billing_reason"] = "manual";
        invoice["lines"]!["data"]![0]!.AsObject()["parent"] = new JsonObject
        {
            ["type"] = "invoice_item_details",
            ["invoice_item_details"] = new JsonObject { ["invoice_item"] = "ii_1Sa7LFPBUlX7cw67", ["subscription"] = null },
            ["subscription_item_details"] = null,
        };

        var fact = Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<InvoicePaid>();

        fact.SubscriptionId.ShouldBeNull();
        fact.BillingReason.ShouldBe("manual");
    }

    [Fact]
    public void A_pre_Basil_failed_payment_reports_the_amount_due_attempts_and_next_retry()
    {
        var fact = Fixtures.Fact<InvoicePaymentFailed>("invoice.payment_failed.pre-basil.json");

        fact.SubscriptionId.ShouldBe(Subscription);
        fact.AmountDueMinor.ShouldBe(14_700);
        fact.AttemptCount.ShouldBe(1);
        fact.NextPaymentAttempt.ShouldBe(Unix(1740325258 + 3600 + (3 * 86400)));
    }

    [Fact]
    public void A_Basil_failed_payment_after_the_last_retry_has_no_next_attempt()
    {
        var fact = Fixtures.Fact<InvoicePaymentFailed>("invoice.payment_failed.basil.json");

        fact.SubscriptionId.ShouldBe(Subscription);
        fact.AttemptCount.ShouldBe(4);
        fact.NextPaymentAttempt.ShouldBeNull();
        fact.InvoiceId.ShouldBe("in_1Sa7LFPBUlX7cw67yoVishQP");
    }

    [Fact]
    public void An_invoice_marked_uncollectible_reports_what_remains_unpaid()
    {
        var fact = Fixtures.Fact<InvoiceMarkedUncollectible>("invoice.marked_uncollectible.basil.json");

        fact.SubscriptionId.ShouldBe(Subscription);
        fact.AmountDueMinor.ShouldBe(14_700);
        fact.AmountRemainingMinor.ShouldBe(14_700);
        fact.CustomerId.ShouldBe(Customer);
    }

    [Fact]
    public void A_failed_charge_reports_the_failure_code_message_and_outcome()
    {
        var fact = Fixtures.Fact<ChargeFailed>("charge.failed.basil.json");

        fact.CustomerId.ShouldBe(Customer);
        fact.ChargeId.ShouldBe("ch_3QtZ9ZRrCEELX9Ah1Fq8dWnL");
        fact.AmountMinor.ShouldBe(14_700);
        fact.Currency.ShouldBe("usd");
        fact.FailureCode.ShouldBe("card_declined");
        fact.FailureMessage.ShouldBe("Your card has insufficient funds.");
        fact.OutcomeType.ShouldBe("issuer_declined");
        fact.OutcomeReason.ShouldBe("insufficient_funds");
        fact.PaymentIntentId.ShouldBe("pi_3QtZ9ZRrCEELX9Ah1lJm0Pst");
        fact.InvoiceId.ShouldBeNull("Basil removed charge.invoice");
    }

    [Fact]
    public void A_charge_without_a_customer_is_still_a_fact_with_no_customer()
    {
        var node = Fixtures.Node("charge.failed.basil.json");
        node["data"]!["object"]!["customer"] = null;

        Fixtures.ParseJson(node.ToJsonString()).Fact.CustomerId.ShouldBeNull();
    }

    [Fact]
    public void A_dispute_names_the_charge_but_not_the_customer()
    {
        var fact = Fixtures.Fact<DisputeCreated>("charge.dispute.created.basil.json");

        fact.DisputeId.ShouldBe("du_1QvB8sRrCEELX9AhcS7mT5bK");
        fact.ChargeId.ShouldBe("ch_3QtZ4oRrCEELX9Ah0Zc9a1Qe");
        fact.PaymentIntentId.ShouldBe("pi_3QtZ4oRrCEELX9Ah0mT2bXyu");
        fact.AmountMinor.ShouldBe(14_700);
        fact.Reason.ShouldBe("fraudulent");
        fact.Status.ShouldBe("needs_response");
        fact.CustomerId.ShouldBeNull();
    }

    [Fact]
    public void A_dispute_with_an_expanded_charge_takes_the_customer_from_the_charge()
    {
        var node = Fixtures.Node("charge.dispute.created.basil.json");
        var charge = Fixtures.Node("charge.failed.basil.json")["data"]!["object"]!.DeepClone();
        charge["id"] = "ch_3QtZ4oRrCEELX9Ah0Zc9a1Qe";
        node["data"]!["object"]!["charge"] = charge;

        var fact = Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<DisputeCreated>();

        fact.ChargeId.ShouldBe("ch_3QtZ4oRrCEELX9Ah0Zc9a1Qe");
        fact.CustomerId.ShouldBe(Customer);
    }
}

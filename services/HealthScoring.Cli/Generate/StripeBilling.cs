using System.Globalization;
using System.Text.Json;

namespace HealthScoring.Cli.Generate;

internal enum BillingKind
{
    CustomerCreated,
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionDeleted,
    InvoicePaid,
    InvoicePaymentFailed,
}

/// <summary>What <c>previous_attributes</c> of a subscription update carries.</summary>
internal sealed record PreviousAttributes(string? Status = null, Tier? Tier = null, int? Seats = null, bool CancelRequest = false);

internal sealed record InvoiceSpec(int Number, long Created, long PeriodStart, long PeriodEnd, Tier Tier, int Seats, long Amount, string BillingReason, int AttemptCount, bool Paid, long? NextAttempt);

/// <summary>One Stripe event of an account, before it is written.</summary>
internal sealed record BillingSpec(long At, BillingKind Kind, PreviousAttributes? Previous = null, InvoiceSpec? Invoice = null)
{
    public int Seq { get; set; }
}

/// <summary>
/// An account's Stripe history as event objects (API version 2025-03-31.basil): the customer (linked by
/// <c>metadata.account_id</c>), the subscription and its changes, monthly invoices paid or failed, the deletion.
/// </summary>
internal static class StripeBilling
{
    public const string ApiVersion = "2025-03-31.basil";
    private const int DayS = 86_400;

    /// <summary>The account's billing events before <see cref="Window.EndUnix"/>, in order, numbered.</summary>
    public static List<BillingSpec> Plan(AccountPlan plan, Window window)
    {
        var specs = new List<BillingSpec>
        {
            new(plan.SignupAt, BillingKind.CustomerCreated),
            new(plan.SignupAt + 5, BillingKind.SubscriptionCreated),
        };
        var invoices = 0;
        if (plan.TrialEnd is { } trialEnd)
        {
            specs.Add(new BillingSpec(plan.SignupAt + 6, BillingKind.InvoicePaid, Invoice: new InvoiceSpec(
                ++invoices, plan.SignupAt + 6, plan.SignupAt, trialEnd, plan.TierStart, plan.SeatsStart, 0, "subscription_create", 1, true, null)));
            specs.Add(new BillingSpec(trialEnd, BillingKind.SubscriptionUpdated, new PreviousAttributes(Status: "trialing")));
        }

        for (var k = 0; ; k++)
        {
            var start = plan.Cycle(k);
            if (start >= window.EndUnix || start >= plan.DeletionAt)
            {
                break;
            }

            var first = k == 0 && plan.TrialEnd is null;
            var created = first ? plan.SignupAt + 6 : start;
            var tier = plan.TierAt(created);
            var seats = plan.SeatsAt(created);
            var invoice = new InvoiceSpec(++invoices, created, start, plan.Cycle(k + 1), tier, seats, tier.UnitAmount * seats, first ? "subscription_create" : "subscription_cycle", 1, true, null);
            var episode = plan.PaymentEpisodes.FirstOrDefault(e => e.Cycle == k);
            if (episode is null)
            {
                specs.Add(new BillingSpec(first ? created : created + 3_600, BillingKind.InvoicePaid, Invoice: invoice));
                continue;
            }

            for (var attempt = 1; attempt <= (episode.RecoveredAttempt ?? 4); attempt++)
            {
                var at = AccountPlanner.FailedAttemptAt(plan, k, attempt);
                if (attempt == episode.RecoveredAttempt)
                {
                    specs.Add(new BillingSpec(at, BillingKind.InvoicePaid, Invoice: invoice with { AttemptCount = attempt }));
                    specs.Add(new BillingSpec(at + 1, BillingKind.SubscriptionUpdated, new PreviousAttributes(Status: "past_due")));
                    break;
                }

                var next = attempt < 4 ? AccountPlanner.FailedAttemptAt(plan, k, attempt + 1) : (long?)null;
                specs.Add(new BillingSpec(at, BillingKind.InvoicePaymentFailed, Invoice: invoice with { AttemptCount = attempt, Paid = false, NextAttempt = next }));
                if (attempt == 1)
                {
                    specs.Add(new BillingSpec(at + 1, BillingKind.SubscriptionUpdated, new PreviousAttributes(Status: "active")));
                }
            }
        }

        foreach (var change in plan.Changes)
        {
            specs.Add(new BillingSpec(change.At, BillingKind.SubscriptionUpdated, new PreviousAttributes(
                Tier: change.Tier != change.PreviousTier ? change.PreviousTier : null, Seats: change.PreviousSeats)));
        }

        if (plan.CancelRequestAt is { } request)
        {
            specs.Add(new BillingSpec(request, BillingKind.SubscriptionUpdated, new PreviousAttributes(CancelRequest: true)));
        }

        if (plan.DeletionAt is { } deletion)
        {
            specs.Add(new BillingSpec(deletion, BillingKind.SubscriptionDeleted));
        }

        var ordered = specs.Where(s => s.At < window.EndUnix && (plan.DeletionAt is null || s.At <= plan.DeletionAt)).OrderBy(s => s.At).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            ordered[i].Seq = i + 1;
        }

        return ordered;
    }

    /// <summary>The type of the event object.</summary>
    public static string TypeOf(BillingKind kind) => kind switch
    {
        BillingKind.CustomerCreated => "customer.created",
        BillingKind.SubscriptionCreated => "customer.subscription.created",
        BillingKind.SubscriptionUpdated => "customer.subscription.updated",
        BillingKind.SubscriptionDeleted => "customer.subscription.deleted",
        BillingKind.InvoicePaid => "invoice.paid",
        _ => "invoice.payment_failed",
    };

    public static void Write(Utf8JsonWriter w, AccountPlan plan, BillingSpec spec, StripeIds ids, string vendorName)
    {
        w.WriteStartObject();
        w.WriteString("id", ids.Event(spec.Seq));
        w.WriteString("object", "event");
        w.WriteString("api_version", ApiVersion);
        w.WriteNumber("created", spec.At);
        w.WriteStartObject("data");
        w.WritePropertyName("object");
        switch (spec.Kind)
        {
            case BillingKind.CustomerCreated:
                WriteCustomer(w, plan);
                break;
            case BillingKind.InvoicePaid or BillingKind.InvoicePaymentFailed:
                WriteInvoice(w, plan, spec.Invoice!, spec.At, ids, vendorName);
                break;
            default:
                WriteSubscription(w, plan, spec.At);
                break;
        }

        if (spec.Previous is { } previous)
        {
            w.WriteStartObject("previous_attributes");
            if (previous.Status is not null)
            {
                w.WriteString("status", previous.Status);
            }

            if (previous.Seats is { } seats)
            {
                var (start, end) = plan.PeriodAt(spec.At);
                w.WritePropertyName("items");
                WriteItems(w, plan, previous.Tier ?? plan.TierAt(spec.At), seats, start, end);
            }

            if (previous.CancelRequest)
            {
                w.WriteNull("cancel_at");
                w.WriteBoolean("cancel_at_period_end", false);
                w.WriteNull("canceled_at");
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteBoolean("livemode", false);
        w.WriteNumber("pending_webhooks", 0);
        w.WriteStartObject("request");
        w.WriteNull("id");
        w.WriteNull("idempotency_key");
        w.WriteEndObject();
        w.WriteString("type", TypeOf(spec.Kind));
        w.WriteEndObject();
    }

    private static void WriteCustomer(Utf8JsonWriter w, AccountPlan plan)
    {
        w.WriteStartObject();
        w.WriteString("id", plan.CustomerId);
        w.WriteString("object", "customer");
        w.WriteNumber("balance", 0);
        w.WriteNumber("created", plan.SignupAt);
        w.WriteString("currency", "usd");
        w.WriteBoolean("delinquent", false);
        w.WriteString("email", "billing@" + plan.Domain);
        w.WriteString("invoice_prefix", plan.InvoicePrefix);
        w.WriteBoolean("livemode", false);
        w.WriteStartObject("metadata");
        w.WriteString("account_id", plan.Id);
        w.WriteEndObject();
        w.WriteString("name", plan.Name);
        w.WriteEndObject();
    }

    private static void WriteSubscription(Utf8JsonWriter w, AccountPlan plan, long at)
    {
        var deleted = plan.DeletionAt is { } deletion && at >= deletion;
        var cancelRequested = plan.CancelRequestAt is { } request && at >= request;
        var pastDue = plan.PaymentEpisodes.Any(e => InPastDue(plan, e, at));
        var status = deleted ? "canceled" : pastDue ? "past_due" : plan.TrialEnd is { } trialEnd && at < trialEnd ? "trialing" : "active";
        var (start, end) = plan.PeriodAt(at);

        w.WriteStartObject();
        w.WriteString("id", plan.SubscriptionId);
        w.WriteString("object", "subscription");
        w.WriteNumber("billing_cycle_anchor", plan.Anchor);
        Nullable(w, "cancel_at", cancelRequested ? plan.DeletionAt : null);
        w.WriteBoolean("cancel_at_period_end", cancelRequested);
        Nullable(w, "canceled_at", deleted ? plan.CancelRequestAt ?? plan.DeletionAt : cancelRequested ? plan.CancelRequestAt : null);
        w.WriteStartObject("cancellation_details");
        w.WriteNull("comment");
        NullableText(w, "feedback", cancelRequested ? plan.CancellationFeedback : null);
        NullableText(w, "reason", deleted && plan.Involuntary ? "payment_failed" : cancelRequested ? "cancellation_requested" : null);
        w.WriteEndObject();
        w.WriteString("collection_method", "charge_automatically");
        w.WriteNumber("created", plan.SignupAt + 5);
        w.WriteString("currency", "usd");
        w.WriteString("customer", plan.CustomerId);
        Nullable(w, "ended_at", deleted ? plan.DeletionAt : null);
        w.WritePropertyName("items");
        WriteItems(w, plan, plan.TierAt(at), plan.SeatsAt(at), start, end);
        w.WriteBoolean("livemode", false);
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteNumber("start_date", plan.SignupAt + 5);
        w.WriteString("status", status);
        Nullable(w, "trial_end", plan.TrialEnd);
        Nullable(w, "trial_start", plan.TrialEnd is null ? null : plan.SignupAt + 5);
        w.WriteEndObject();
    }

    private static bool InPastDue(AccountPlan plan, PaymentEpisode episode, long at)
    {
        var from = AccountPlanner.FailedAttemptAt(plan, episode.Cycle, 1) + 1;
        var until = episode.RecoveredAttempt is { } r ? AccountPlanner.FailedAttemptAt(plan, episode.Cycle, r) + 1 : plan.DeletionAt ?? long.MaxValue;
        return at >= from && at < until;
    }

    private static void WriteItems(Utf8JsonWriter w, AccountPlan plan, Tier tier, int seats, long periodStart, long periodEnd)
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        w.WriteStartObject();
        w.WriteString("id", plan.ItemId);
        w.WriteString("object", "subscription_item");
        w.WriteNumber("created", plan.SignupAt + 5);
        w.WriteNumber("current_period_end", periodEnd);
        w.WriteNumber("current_period_start", periodStart);
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteStartObject("price");
        w.WriteString("id", tier.PriceId);
        w.WriteString("object", "price");
        w.WriteBoolean("active", true);
        w.WriteString("billing_scheme", "per_unit");
        w.WriteString("currency", "usd");
        w.WriteString("lookup_key", tier.Name + "_monthly");
        w.WriteString("nickname", Title(tier) + " (per seat, monthly)");
        w.WriteString("product", tier.ProductId);
        w.WriteStartObject("recurring");
        w.WriteString("interval", "month");
        w.WriteNumber("interval_count", 1);
        w.WriteString("usage_type", "licensed");
        w.WriteEndObject();
        w.WriteString("type", "recurring");
        w.WriteNumber("unit_amount", tier.UnitAmount);
        w.WriteString("unit_amount_decimal", tier.UnitAmount.ToString(CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteNumber("quantity", seats);
        w.WriteString("subscription", plan.SubscriptionId);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("has_more", false);
        w.WriteNumber("total_count", 1);
        w.WriteString("url", "/v1/subscription_items?subscription=" + plan.SubscriptionId);
        w.WriteEndObject();
    }

    private static void WriteInvoice(Utf8JsonWriter w, AccountPlan plan, InvoiceSpec invoice, long at, StripeIds ids, string vendorName)
    {
        var id = ids.Invoice(invoice.Number);
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "invoice");
        w.WriteString("account_name", vendorName);
        w.WriteNumber("amount_due", invoice.Amount);
        w.WriteNumber("amount_paid", invoice.Paid ? invoice.Amount : 0);
        w.WriteNumber("amount_remaining", invoice.Paid ? 0 : invoice.Amount);
        w.WriteNumber("attempt_count", invoice.AttemptCount);
        w.WriteBoolean("attempted", true);
        w.WriteString("billing_reason", invoice.BillingReason);
        w.WriteString("collection_method", "charge_automatically");
        w.WriteNumber("created", invoice.Created);
        w.WriteString("currency", "usd");
        w.WriteString("customer", plan.CustomerId);
        w.WriteString("customer_email", "billing@" + plan.Domain);
        w.WriteString("customer_name", plan.Name);
        w.WriteStartObject("lines");
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        w.WriteStartObject();
        w.WriteString("id", ids.Line(invoice.Number));
        w.WriteString("object", "line_item");
        w.WriteNumber("amount", invoice.Amount);
        w.WriteString("currency", "usd");
        w.WriteString("description", string.Create(CultureInfo.InvariantCulture, $"{invoice.Seats} × {Title(invoice.Tier)} (at ${invoice.Tier.UnitAmount / 100.0:F2} / month)"));
        w.WriteString("invoice", id);
        w.WriteStartObject("parent");
        w.WriteString("type", "subscription_item_details");
        w.WriteStartObject("subscription_item_details");
        w.WriteBoolean("proration", false);
        w.WriteString("subscription", plan.SubscriptionId);
        w.WriteString("subscription_item", plan.ItemId);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("period");
        w.WriteNumber("end", invoice.PeriodEnd);
        w.WriteNumber("start", invoice.PeriodStart);
        w.WriteEndObject();
        w.WriteStartObject("pricing");
        w.WriteStartObject("price_details");
        w.WriteString("price", invoice.Tier.PriceId);
        w.WriteString("product", invoice.Tier.ProductId);
        w.WriteEndObject();
        w.WriteString("type", "price_details");
        w.WriteString("unit_amount_decimal", invoice.Tier.UnitAmount.ToString(CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteNumber("quantity", invoice.Seats);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("has_more", false);
        w.WriteNumber("total_count", 1);
        w.WriteEndObject();
        w.WriteBoolean("livemode", false);
        Nullable(w, "next_payment_attempt", invoice.NextAttempt);
        w.WriteString("number", string.Create(CultureInfo.InvariantCulture, $"{plan.InvoicePrefix}-{invoice.Number:D4}"));
        w.WriteStartObject("parent");
        w.WriteStartObject("subscription_details");
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteString("subscription", plan.SubscriptionId);
        w.WriteEndObject();
        w.WriteString("type", "subscription_details");
        w.WriteEndObject();
        w.WriteNumber("period_end", invoice.PeriodEnd);
        w.WriteNumber("period_start", invoice.PeriodStart);
        w.WriteString("status", invoice.Paid ? "paid" : "open");
        w.WriteStartObject("status_transitions");
        w.WriteNumber("finalized_at", invoice.Created);
        Nullable(w, "paid_at", invoice.Paid ? at : null);
        w.WriteEndObject();
        w.WriteNumber("subtotal", invoice.Amount);
        w.WriteNumber("total", invoice.Amount);
        w.WriteEndObject();
    }

    private static string Title(Tier tier) => char.ToUpperInvariant(tier.Name[0]) + tier.Name[1..];

    private static void Nullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void NullableText(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}

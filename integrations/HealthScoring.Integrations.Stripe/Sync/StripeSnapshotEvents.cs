using System.Buffers;
using System.Text.Json;
using HealthScoring.Integrations.Stripe.Client;

namespace HealthScoring.Integrations.Stripe.Sync;

/// <summary>
/// Turns a listed customer, subscription or invoice into the fact its webhook event would have produced, by wrapping
/// it in an event envelope and running the same <see cref="StripeEventParser"/>; the event id is then the synthetic
/// <see cref="StripeSyncKeys"/> id and the time is when the reported state began.
/// </summary>
public static class StripeSnapshotEvents
{
    /// <summary>A customer as <c>customer.created</c>, at its creation.</summary>
    public static StripeEventParseResult FromCustomer(StripeObject customer, StripeCustomerLink link)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(link);
        return Wrap(customer, "customer.created", fact => fact is StripeCustomerFact c
            ? (StripeSyncKeys.Customer(c.CustomerId!, link.AccountIdFrom(c.Metadata), c.Delinquent), c.OccurredAt)
            : throw new InvalidOperationException("A customer event gave no customer fact."));
    }

    /// <summary>
    /// A subscription as <c>customer.subscription.deleted</c> when canceled (at <c>canceled_at</c>, else <c>ended_at</c>),
    /// <c>.paused</c> when paused, otherwise <c>.created</c>, in both cases from its current period's start (or creation).
    /// </summary>
    public static StripeEventParseResult FromSubscription(StripeObject subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var status = StringField(subscription.Json, "status");
        var type = status switch
        {
            "canceled" => "customer.subscription.deleted",
            "paused" => "customer.subscription.paused",
            _ => "customer.subscription.created",
        };
        return Wrap(subscription, type, fact =>
        {
            var snapshot = ((StripeSubscriptionFact)fact).Subscription;
            var since = status == "canceled"
                ? snapshot.CanceledAt ?? snapshot.EndedAt ?? fact.OccurredAt
                : Max(fact.OccurredAt, snapshot.CurrentPeriodStart);
            return (StripeSyncKeys.Subscription(snapshot), since);
        });
    }

    /// <summary>
    /// A paid invoice as <c>invoice.paid</c> (at <c>paid_at</c>), an uncollectible one as <c>invoice.marked_uncollectible</c>,
    /// an open one with failed attempts as <c>invoice.payment_failed</c> (at finalization); null for drafts, voided
    /// invoices and open ones not yet attempted, which no health fact describes.
    /// </summary>
    public static StripeEventParseResult? FromInvoice(StripeObject invoice)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        var status = StringField(invoice.Json, "status");
        var attempts = invoice.Json.TryGetProperty("attempt_count", out var a) && a.TryGetInt64(out var n) ? n : 0;
        var remaining = invoice.Json.TryGetProperty("amount_remaining", out var r) && r.TryGetInt64(out var m) ? m : 0;
        var (type, transition) = status switch
        {
            "paid" => ("invoice.paid", "paid_at"),
            "uncollectible" => ("invoice.marked_uncollectible", "marked_uncollectible_at"),
            "open" when attempts > 0 && remaining > 0 => ("invoice.payment_failed", "finalized_at"),
            _ => (null, null),
        };
        if (type is null || transition is null)
        {
            return null;
        }

        var at = TransitionTime(invoice.Json, transition);
        return Wrap(invoice, type, fact => fact switch
        {
            InvoicePaid paid => (StripeSyncKeys.InvoicePaid(paid.InvoiceId), paid.PaidAt ?? at ?? fact.OccurredAt),
            InvoiceMarkedUncollectible u => (StripeSyncKeys.InvoiceMarkedUncollectible(u.InvoiceId), at ?? fact.OccurredAt),
            InvoicePaymentFailed f => (StripeSyncKeys.InvoicePaymentFailed(f.InvoiceId, f.AttemptCount), at ?? fact.OccurredAt),
            _ => throw new InvalidOperationException("An invoice event gave no invoice fact."),
        });
    }

    private static StripeEventParseResult Wrap(StripeObject item, string type, Func<StripeBillingFact, (string Id, DateTimeOffset At)> identify)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", StripeSyncKeys.Prefix + item.Id);
            writer.WriteString("object", "event");
            writer.WriteString("type", type);
            writer.WriteNumber("created", (item.Created ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds());
            writer.WriteBoolean("livemode", item.Json.TryGetProperty("livemode", out var live) && live.ValueKind == JsonValueKind.True);
            writer.WriteNull("api_version");
            writer.WriteStartObject("data");
            writer.WritePropertyName("object");
            item.Json.WriteTo(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        var result = StripeEventParser.Parse(buffer.WrittenSpan);
        if (result is not ParsedStripeEvent parsed)
        {
            return result;
        }

        var (id, at) = identify(parsed.Fact);
        return new ParsedStripeEvent(
            parsed.Envelope with { Id = id, Created = at },
            parsed.Fact with { EventId = id, OccurredAt = at });
    }

    private static string? StringField(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? TransitionTime(JsonElement invoice, string name) =>
        invoice.TryGetProperty("status_transitions", out var transitions) && transitions.ValueKind == JsonValueKind.Object
        && transitions.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset? b) => b is { } other && other > a ? other : a;
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HealthScoring.Integrations.Stripe.Sync;

/// <summary>How a fact relates to what a snapshot listing reports about the same object.</summary>
public enum StripeFactKind
{
    /// <summary>The object's state (customer link, subscription status/items/period): a later observation supersedes it.</summary>
    State,

    /// <summary>Something that happened once (an invoice paid, a payment attempt failed): counted, so never stored twice.</summary>
    Occurrence,
}

/// <summary>The object a fact is about and the key of the state or occurrence it reports.</summary>
public sealed record StripeFactState(string ObjectId, string Key, StripeFactKind Kind);

/// <summary>
/// Synthetic event ids for facts read from listed objects rather than from events. A webhook stores a fact under its
/// Stripe event id; a listed object has none, so the sync names the fact after the object and the state it is in:
/// listing the same unchanged object again (a re-run, a restarted snapshot) gives the same id, and the store keeps it
/// once; a changed object gives a new id. Events read after the snapshot keep their real <c>evt_…</c> ids, identical
/// to the webhook's. The same keys (<see cref="StateOf"/>) let the sync recognise an event whose effect the snapshot
/// already reported.
/// </summary>
public static class StripeSyncKeys
{
    public const string Prefix = "sync:";

    /// <summary><c>sync:{cus}:{account id or -}:{current|delinquent}</c>: what matters of a customer is its link to our account.</summary>
    public static string Customer(string customerId, string? accountId, bool? delinquent) =>
        $"{Prefix}{customerId}:{accountId ?? "-"}:{(delinquent == true ? "delinquent" : "current")}";

    /// <summary>
    /// <c>sync:{sub}:{status}:{current_period_start}:{digest}</c>, the digest (12 hex digits of SHA-256) covering the
    /// items' prices and quantities, <c>cancel_at_period_end</c>, <c>cancel_at</c>, paused collection and trial end, so an
    /// expansion or a scheduled cancellation within a period is a new state.
    /// </summary>
    public static string Subscription(StripeSubscriptionSnapshot subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var period = subscription.CurrentPeriodStart is { } start ? start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) : "-";
        var material = new StringBuilder()
            .Append("cape=").Append(subscription.CancelAtPeriodEnd)
            .Append("|ca=").Append(subscription.CancelAt?.ToUnixTimeSeconds())
            .Append("|pc=").Append(subscription.PauseCollectionBehavior)
            .Append("|te=").Append(subscription.TrialEnd?.ToUnixTimeSeconds())
            .Append("|complete=").Append(subscription.ItemsComplete);
        foreach (var item in subscription.Items)
        {
            material.Append("|item=").Append(item.PriceId).Append('x').Append(item.Quantity?.ToString(CultureInfo.InvariantCulture) ?? "-");
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToString())))[..12];
        return $"{Prefix}{subscription.SubscriptionId}:{subscription.Status}:{period}:{digest}";
    }

    public static string InvoicePaid(string invoiceId) => $"{Prefix}{invoiceId}:paid";

    /// <summary>One key per failed attempt number: a listing sees only the latest attempt.</summary>
    public static string InvoicePaymentFailed(string invoiceId, long attemptCount) =>
        $"{Prefix}{invoiceId}:payment_failed:{attemptCount.ToString(CultureInfo.InvariantCulture)}";

    public static string InvoiceMarkedUncollectible(string invoiceId) => $"{Prefix}{invoiceId}:uncollectible";

    /// <summary>
    /// The state or occurrence <paramref name="fact"/> reports, keyed as a snapshot of the same object would be, or null
    /// for facts a listing never produces (trial reminders, charges, disputes, deleted customers).
    /// </summary>
    public static StripeFactState? StateOf(StripeBillingFact fact, StripeCustomerLink link)
    {
        ArgumentNullException.ThrowIfNull(fact);
        ArgumentNullException.ThrowIfNull(link);
        return fact switch
        {
            TrialWillEnd => null,
            StripeSubscriptionFact s => new(s.Subscription.SubscriptionId, Subscription(s.Subscription), StripeFactKind.State),
            InvoicePaid i => new(i.InvoiceId, InvoicePaid(i.InvoiceId), StripeFactKind.Occurrence),
            InvoicePaymentFailed i => new(i.InvoiceId, InvoicePaymentFailed(i.InvoiceId, i.AttemptCount), StripeFactKind.Occurrence),
            InvoiceMarkedUncollectible i => new(i.InvoiceId, InvoiceMarkedUncollectible(i.InvoiceId), StripeFactKind.Occurrence),
            CustomerDeleted => null,
            StripeCustomerFact c => new(c.CustomerId!, Customer(c.CustomerId!, link.AccountIdFrom(c.Metadata), c.Delinquent), StripeFactKind.State),
            _ => null,
        };
    }
}

namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// The Stripe REST calls HealthScoring makes. Stands in for Stripe.net's services (<c>CustomerService</c>,
/// <c>SubscriptionService</c>, <c>InvoiceService</c>, <c>EventService</c>, <c>Billing.MeterEventService</c>), which
/// cannot be restored here. Lists page lazily (<c>limit</c> + <c>starting_after</c> while <c>has_more</c>).
/// </summary>
public interface IStripeClient
{
    /// <summary>False when no secret key is configured; every call then throws <see cref="StripeDisabledException"/>.</summary>
    bool IsEnabled { get; }

    /// <summary><c>GET /v1/customers</c>, newest first.</summary>
    IAsyncEnumerable<StripeObject> ListCustomersAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary><c>GET /v1/subscriptions?status=all</c> (canceled ones included), newest first.</summary>
    IAsyncEnumerable<StripeObject> ListSubscriptionsAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary><c>GET /v1/invoices</c>, every status, newest first.</summary>
    IAsyncEnumerable<StripeObject> ListInvoicesAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>GET /v1/events</c>, <b>oldest first</b>: the events after event <paramref name="after"/> (paged with
    /// <c>ending_before</c>), or, when it is null, all events Stripe still holds (about 30 days; buffered before the first is
    /// yielded). A cursor event Stripe no longer has fails with a <see cref="StripeApiException"/> whose
    /// <see cref="StripeApiException.Param"/> is <c>ending_before</c>.
    /// </summary>
    IAsyncEnumerable<StripeObject> ListEventsAsync(string? after, StripeEventListOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest event (<c>GET /v1/events?limit=1</c>), of the given <see cref="StripeEventListOptions.Types"/> when set, or
    /// null when there is none. Filtering by the same types later keeps it a valid <c>ending_before</c> cursor.
    /// </summary>
    Task<StripeObject?> GetLatestEventAsync(StripeEventListOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /v1/customers/{id}</c> with <c>metadata[k]=v</c>; Stripe merges it into the existing metadata, and a null or
    /// empty value removes the key. <paramref name="idempotencyKey"/> should come from our ids (see
    /// <see cref="StripeIdempotencyKeys.For"/>); without one a fresh key is used for this call and its retries.
    /// </summary>
    Task<StripeObject> UpdateCustomerMetadataAsync(
        string customerId,
        IReadOnlyDictionary<string, string?> metadata,
        string? idempotencyKey = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /v1/billing/meter_events</c> with <c>payload[stripe_customer_id]</c> and <c>payload[value]</c>. Stripe
    /// drops a second event with the same <paramref name="identifier"/> (for at least 24 hours). The idempotency key
    /// defaults to <see cref="StripeIdempotencyKeys.ForMeterEvent"/>, so a resend with another value fails with an
    /// <c>idempotency_error</c> instead of being silently dropped.
    /// </summary>
    Task<StripeMeterEvent> CreateMeterEventAsync(
        string eventName,
        string customerId,
        long value,
        DateTimeOffset timestamp,
        string identifier,
        string? idempotencyKey = null,
        CancellationToken cancellationToken = default);
}

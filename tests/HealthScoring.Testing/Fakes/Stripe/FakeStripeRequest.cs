namespace HealthScoring.Testing.Fakes.Stripe;

/// <summary>One request the fake received, as tests assert on it. The Authorization header is not kept.</summary>
/// <param name="Method">GET, POST, …</param>
/// <param name="Path">For example <c>/v1/customers</c>.</param>
/// <param name="Query">The raw query string, with its leading <c>?</c> (empty when none).</param>
/// <param name="IdempotencyKey">The <c>Idempotency-Key</c> header, if sent.</param>
/// <param name="StripeVersion">The <c>Stripe-Version</c> header, if sent.</param>
/// <param name="Form">The decoded form body of a POST (keys keep their brackets, for example <c>metadata[tier]</c>).</param>
/// <param name="StatusCode">What the fake answered; 0 when it dropped the connection.</param>
/// <param name="Replayed">True when the answer was a stored idempotent response.</param>
public sealed record FakeStripeRequest(
    string Method,
    string Path,
    string Query,
    string? IdempotencyKey,
    string? StripeVersion,
    IReadOnlyDictionary<string, string> Form,
    int StatusCode,
    bool Replayed);

/// <summary>What <see cref="FakeStripe.AddCustomers"/> gives each customer.</summary>
public sealed record FakeCustomerSeed
{
    /// <summary><c>metadata[account_id]</c> is this plus the customer's number (1-based); null for no metadata.</summary>
    public string? AccountIdPrefix { get; init; } = "acct-";

    /// <summary>The status of the one subscription each customer gets; null for none.</summary>
    public string? SubscriptionStatus { get; init; } = "active";

    public string PriceId { get; init; } = "price_fake_pro_monthly";

    /// <summary>Minor units per seat per month.</summary>
    public long UnitAmount { get; init; } = 4_900;

    public long Quantity { get; init; } = 3;

    /// <summary>Invoices per customer (on its subscription when it has one).</summary>
    public int InvoicesPerCustomer { get; init; } = 1;

    /// <summary><c>paid</c>, <c>open</c> (one failed attempt), <c>uncollectible</c>, <c>draft</c> or <c>void</c>.</summary>
    public string InvoiceStatus { get; init; } = "paid";

    /// <summary>Also record the matching <c>customer.created</c>, <c>customer.subscription.created</c> and invoice events.</summary>
    public bool EmitEvents { get; init; }
}

/// <summary>A meter event the fake stored (one per identifier).</summary>
public sealed record FakeMeterEvent(string EventName, string Identifier, string CustomerId, long Value, DateTimeOffset Timestamp);

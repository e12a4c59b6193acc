namespace HealthScoring.Integrations.Stripe;

/// <summary>
/// A billing fact normalized from one Stripe event. Amounts are in the currency's minor units (cents), as Stripe
/// sends them; currencies are Stripe's lowercase ISO codes.
/// </summary>
public abstract record StripeBillingFact
{
    /// <summary>The Stripe event id (<c>evt_…</c>) the fact came from.</summary>
    public required string EventId { get; init; }

    /// <summary>
    /// The Stripe customer (<c>cus_…</c>) to link to an account. Always set for subscription, invoice and customer
    /// facts; null for a charge without a customer and for disputes, whose object names only the charge.
    /// </summary>
    public required string? CustomerId { get; init; }

    /// <summary>When Stripe created the event (<c>created</c>).</summary>
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>The customer's metadata when the payload embedded the customer object (customer events, an expanded <c>customer</c>); otherwise null.</summary>
    public IReadOnlyDictionary<string, string>? CustomerMetadata { get; init; }
}

// ---- Subscriptions -------------------------------------------------------------------------------------------

/// <summary>A fact about a subscription, with the subscription as the event carried it.</summary>
public abstract record StripeSubscriptionFact : StripeBillingFact
{
    public required StripeSubscriptionSnapshot Subscription { get; init; }
}

/// <summary><c>customer.subscription.created</c>.</summary>
public sealed record SubscriptionStarted : StripeSubscriptionFact;

/// <summary><c>customer.subscription.updated</c> (other than a move to <c>canceled</c>, which is <see cref="SubscriptionCanceled"/>).</summary>
public sealed record SubscriptionChanged : StripeSubscriptionFact
{
    /// <summary>The top-level keys of <c>data.previous_attributes</c>, in payload order.</summary>
    public required IReadOnlyList<string> ChangedFields { get; init; }

    /// <summary>What <c>data.previous_attributes</c> tells about the subscription before the change.</summary>
    public required StripeSubscriptionPreviousValues Previous { get; init; }

    /// <summary>Current MRR minus previous MRR when both are known: positive is expansion, negative contraction.</summary>
    public long? MonthlyRecurringRevenueChangeMinor =>
        Subscription.MonthlyRecurringRevenueMinor - Previous.MonthlyRecurringRevenueMinor;

    /// <summary>Current quantity minus previous quantity when both are known.</summary>
    public long? QuantityChange => Subscription.Quantity - Previous.Quantity;
}

/// <summary><c>customer.subscription.deleted</c>, or a <c>customer.subscription.updated</c> whose status is <c>canceled</c>.</summary>
public sealed record SubscriptionCanceled : StripeSubscriptionFact
{
    /// <summary><c>cancellation_details.reason</c>: <c>cancellation_requested</c>, <c>payment_failed</c>, <c>payment_disputed</c>.</summary>
    public string? CancellationReason { get; init; }

    /// <summary><c>cancellation_details.feedback</c>, the customer's pick from a fixed list (for example <c>too_expensive</c>). The free-text comment is not kept.</summary>
    public string? CancellationFeedback { get; init; }
}

/// <summary><c>customer.subscription.paused</c>: the subscription entered status <c>paused</c> (not a pause of payment collection, which arrives as an update).</summary>
public sealed record SubscriptionPaused : StripeSubscriptionFact;

/// <summary><c>customer.subscription.resumed</c>.</summary>
public sealed record SubscriptionResumed : StripeSubscriptionFact;

/// <summary><c>customer.subscription.trial_will_end</c>, sent about three days before the trial ends.</summary>
public sealed record TrialWillEnd : StripeSubscriptionFact
{
    public required DateTimeOffset? TrialEnd { get; init; }
}

// ---- Invoices ------------------------------------------------------------------------------------------------

/// <summary>A fact about an invoice.</summary>
public abstract record StripeInvoiceFact : StripeBillingFact
{
    public required string InvoiceId { get; init; }

    /// <summary>From <c>subscription</c> (before 2025-03-31.basil) or <c>parent.subscription_details.subscription</c> (since); null for a one-off invoice.</summary>
    public required string? SubscriptionId { get; init; }

    public required string Currency { get; init; }

    /// <summary>For example <c>subscription_create</c>, <c>subscription_cycle</c>, <c>subscription_update</c>, <c>manual</c>.</summary>
    public string? BillingReason { get; init; }
}

/// <summary>
/// <c>invoice.paid</c> or <c>invoice.payment_succeeded</c>. Stripe sends both for the same payment, so the
/// same invoice usually yields two of these (different event ids); deduplicate on <see cref="StripeInvoiceFact.InvoiceId"/>.
/// </summary>
public sealed record InvoicePaid : StripeInvoiceFact
{
    public required long AmountPaidMinor { get; init; }

    /// <summary><c>status_transitions.paid_at</c>.</summary>
    public DateTimeOffset? PaidAt { get; init; }
}

/// <summary><c>invoice.payment_failed</c>.</summary>
public sealed record InvoicePaymentFailed : StripeInvoiceFact
{
    public required long AmountDueMinor { get; init; }

    public required long AttemptCount { get; init; }

    /// <summary>When Stripe will retry; null when it will not retry automatically.</summary>
    public required DateTimeOffset? NextPaymentAttempt { get; init; }
}

/// <summary><c>invoice.marked_uncollectible</c>.</summary>
public sealed record InvoiceMarkedUncollectible : StripeInvoiceFact
{
    public required long AmountDueMinor { get; init; }

    public required long AmountRemainingMinor { get; init; }
}

// ---- Payments ------------------------------------------------------------------------------------------------

/// <summary><c>charge.failed</c>.</summary>
public sealed record ChargeFailed : StripeBillingFact
{
    public required string ChargeId { get; init; }

    public required long AmountMinor { get; init; }

    public required string Currency { get; init; }

    /// <summary>For example <c>card_declined</c>, <c>expired_card</c>.</summary>
    public string? FailureCode { get; init; }

    public string? FailureMessage { get; init; }

    /// <summary><c>outcome.type</c>, for example <c>issuer_declined</c>.</summary>
    public string? OutcomeType { get; init; }

    /// <summary><c>outcome.reason</c>, for example <c>insufficient_funds</c>.</summary>
    public string? OutcomeReason { get; init; }

    public string? PaymentIntentId { get; init; }

    /// <summary>Only before 2025-03-31.basil, which removed <c>charge.invoice</c>.</summary>
    public string? InvoiceId { get; init; }
}

/// <summary>
/// <c>charge.dispute.created</c>. A dispute names its charge and payment intent but not the customer, so
/// <see cref="StripeBillingFact.CustomerId"/> is null unless the charge was expanded; look it up via <see cref="ChargeId"/>.
/// </summary>
public sealed record DisputeCreated : StripeBillingFact
{
    public required string DisputeId { get; init; }

    public required string ChargeId { get; init; }

    public string? PaymentIntentId { get; init; }

    public required long AmountMinor { get; init; }

    public required string Currency { get; init; }

    /// <summary>For example <c>fraudulent</c>, <c>product_not_received</c>, <c>general</c>.</summary>
    public required string Reason { get; init; }

    public string? Status { get; init; }
}

// ---- Customers -----------------------------------------------------------------------------------------------

/// <summary>
/// A fact about a customer. The email address is personal data and is not kept; only whether one is present.
/// <see cref="StripeBillingFact.CustomerId"/> and <see cref="StripeBillingFact.CustomerMetadata"/> are always set.
/// </summary>
public abstract record StripeCustomerFact : StripeBillingFact
{
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    public required bool HasEmail { get; init; }

    public bool? Delinquent { get; init; }
}

/// <summary><c>customer.created</c>.</summary>
public sealed record CustomerCreated : StripeCustomerFact;

/// <summary><c>customer.updated</c>.</summary>
public sealed record CustomerUpdated : StripeCustomerFact
{
    /// <summary>The top-level keys of <c>data.previous_attributes</c>, in payload order.</summary>
    public required IReadOnlyList<string> ChangedFields { get; init; }

    /// <summary><c>previous_attributes.metadata</c> when metadata changed: the earlier values of the changed keys (null for a key that did not exist).</summary>
    public IReadOnlyDictionary<string, string?>? PreviousMetadata { get; init; }
}

/// <summary><c>customer.deleted</c>.</summary>
public sealed record CustomerDeleted : StripeCustomerFact;

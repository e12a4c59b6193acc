namespace HealthScoring.Integrations.Stripe;

/// <summary>
/// The generic part of a Stripe event, as <c>GET /v1/events</c> returns each item and as a webhook body is.
/// <see cref="ObjectJson"/> is <c>data.object</c> verbatim, so it still holds whatever personal data Stripe sent
/// (customer email, name, address); the billing facts do not.
/// </summary>
public sealed record StripeEventEnvelope
{
    /// <summary>The event id, <c>evt_…</c>; Stripe may deliver the same event more than once, so deduplicate on it.</summary>
    public required string Id { get; init; }

    public required string Type { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required bool Livemode { get; init; }

    /// <summary>The API version the payload was rendered with, for example <c>2025-03-31.basil</c>; may be null.</summary>
    public required string? ApiVersion { get; init; }

    /// <summary>The raw JSON of <c>data.object</c>.</summary>
    public required string ObjectJson { get; init; }

    /// <summary>The raw JSON of <c>data.previous_attributes</c> on <c>*.updated</c> events, otherwise null.</summary>
    public string? PreviousAttributesJson { get; init; }
}

public enum StripeEventErrorKind
{
    /// <summary>The text is not JSON.</summary>
    InvalidJson,

    /// <summary>The JSON is not a Stripe (v1, snapshot) event object.</summary>
    NotAnEvent,

    /// <summary>A field the event needs is absent or null.</summary>
    MissingField,

    /// <summary>A field has the wrong JSON kind or an unusable value.</summary>
    InvalidField,
}

/// <summary>Why an event could not be read.</summary>
/// <param name="Kind">What kind of problem it is.</param>
/// <param name="Field">The JSON path of the offending field, for example <c>data.object.customer</c>; <c>$</c> for the whole document.</param>
/// <param name="Message">A sentence naming the field and the problem.</param>
public sealed record StripeEventParseError(StripeEventErrorKind Kind, string Field, string Message);

/// <summary>One of <see cref="ParsedStripeEvent"/>, <see cref="IgnoredStripeEvent"/> or <see cref="InvalidStripeEvent"/>.</summary>
public abstract record StripeEventParseResult;

/// <summary>An event we use, with its normalized billing fact.</summary>
public sealed record ParsedStripeEvent(StripeEventEnvelope Envelope, StripeBillingFact Fact) : StripeEventParseResult;

/// <summary>A well-formed event of a type the health scoring does not use.</summary>
public sealed record IgnoredStripeEvent(StripeEventEnvelope Envelope) : StripeEventParseResult;

/// <summary>An event that could not be read. <see cref="Envelope"/> is set when the envelope itself was readable.</summary>
public sealed record InvalidStripeEvent(StripeEventParseError Error, StripeEventEnvelope? Envelope = null) : StripeEventParseResult;

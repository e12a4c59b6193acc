using System.Text.Json;

namespace HealthScoring.Integrations.Stripe;

/// <summary>
/// Reads our account id from a Stripe customer's <c>metadata[<see cref="MetadataKey"/>]</c>, the link we write
/// when we create or claim the customer.
/// </summary>
public sealed class StripeCustomerLink
{
    public const string DefaultMetadataKey = "account_id";

    public StripeCustomerLink(string metadataKey = DefaultMetadataKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metadataKey);
        MetadataKey = metadataKey;
    }

    public string MetadataKey { get; }

    /// <summary>The account id in <paramref name="metadata"/>, or null when the key is absent or blank.</summary>
    public string? AccountIdFrom(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue(MetadataKey, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>
    /// The account id from the customer metadata the fact carried (customer events, or an expanded customer), or
    /// null when the payload had none; then look the customer up by <see cref="StripeBillingFact.CustomerId"/>.
    /// </summary>
    public string? AccountIdFrom(StripeBillingFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        return AccountIdFrom(fact.CustomerMetadata);
    }

    /// <summary>The account id from a Stripe customer object (as <c>GET /v1/customers/{id}</c> returns it); null if it is not a customer object or has no such metadata.</summary>
    public string? AccountIdFrom(JsonElement customer)
    {
        if (customer.ValueKind != JsonValueKind.Object
            || (customer.TryGetProperty("object", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() != "customer")
            || !customer.TryGetProperty("metadata", out var metadata)
            || metadata.ValueKind != JsonValueKind.Object
            || !metadata.TryGetProperty(MetadataKey, out var value)
            || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var text = value.GetString();
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    /// <summary>As <see cref="AccountIdFrom(JsonElement)"/>, from JSON text; null for text that is not JSON.</summary>
    public string? AccountIdFromJson(string customerJson)
    {
        ArgumentNullException.ThrowIfNull(customerJson);
        try
        {
            using var document = JsonDocument.Parse(customerJson);
            return AccountIdFrom(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

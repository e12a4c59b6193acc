using System.Text.Json;

namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>One Stripe object as the API returned it (a customer, subscription, invoice or event), with its raw JSON.</summary>
/// <param name="Id">The object's <c>id</c>.</param>
/// <param name="ObjectType">Its <c>object</c> field, for example <c>customer</c> or <c>event</c>.</param>
/// <param name="Created">Its <c>created</c> time, when it has one.</param>
/// <param name="Json">The object, detached from the response it came in. Holds whatever personal data Stripe sent.</param>
public sealed record StripeObject(string Id, string ObjectType, DateTimeOffset? Created, JsonElement Json)
{
    /// <summary>For an event: the same result a webhook delivery of it gives.</summary>
    public StripeEventParseResult ParseEvent() => StripeEventParser.Parse(Json);

    internal static StripeObject From(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(id.GetString()))
        {
            throw new StripeApiException($"Stripe returned an item without an id in {where}.", statusCode: 200, type: "invalid_response");
        }

        var type = element.TryGetProperty("object", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : "";
        DateTimeOffset? created = element.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
        return new StripeObject(id.GetString()!, type, created, element.Clone());
    }
}

/// <summary>A meter event Stripe accepted for (asynchronous) processing.</summary>
public sealed record StripeMeterEvent(string EventName, string Identifier, DateTimeOffset Timestamp, IReadOnlyDictionary<string, string> Payload);

/// <summary>Filters of the object lists (<c>GET /v1/customers</c>, <c>/v1/subscriptions</c>, <c>/v1/invoices</c>).</summary>
public sealed record StripeListOptions
{
    /// <summary>Resume after this object id (Stripe's <c>starting_after</c>; lists run newest first).</summary>
    public string? StartingAfter { get; init; }

    /// <summary>Only this customer's subscriptions or invoices (ignored for customers).</summary>
    public string? Customer { get; init; }

    /// <summary><c>created[gte]</c>.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Overrides <see cref="StripeOptions.PageSize"/>.</summary>
    public int? PageSize { get; init; }
}

/// <summary>Filters of <c>GET /v1/events</c>.</summary>
public sealed record StripeEventListOptions
{
    /// <summary>Sent as <c>types[]</c> (at most 20), for example <see cref="StripeEventParser.HandledEventTypes"/>.</summary>
    public IReadOnlyList<string>? Types { get; init; }

    /// <summary><c>created[gte]</c>.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    public int? PageSize { get; init; }
}

using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Reads Segment calls from JSON (https://segment.com/docs/connections/spec/common/): a lone track / identify /
/// group body, or one item of a batch. Unreadable fields become item errors, never exceptions.
/// </summary>
public static class SegmentJsonReader
{
    /// <summary>Reads one call. <paramref name="impliedType"/> is the endpoint's type (/v1/track); null reads "type".</summary>
    public static ParsedItem Read(JsonElement element, int index, MessageType? impliedType, int size)
    {
        var errors = new List<ItemError>();
        if (element.ValueKind != JsonValueKind.Object)
        {
            return new ParsedItem(index, null, [new ItemError(index, "", "must be a JSON object")]);
        }

        if (StorableJson.Check(JsonMarshal.GetRawUtf8Value(element)) is { } unstorable)
        {
            return new ParsedItem(index, null, [new ItemError(index, "", $"the message {unstorable}")]);
        }

        var type = impliedType;
        if (type is null)
        {
            var typeText = String(element, "type", index, errors);
            type = typeText switch
            {
                "track" => MessageType.Track,
                "identify" => MessageType.Identify,
                "group" => MessageType.Group,
                _ => null,
            };
            if (type is null)
            {
                errors.Add(new ItemError(index, "type", typeText is null ? "is required (track, identify or group)" : $"'{Truncate(typeText)}' is not supported (track, identify or group)"));
                return new ParsedItem(index, null, errors);
            }
        }

        var context = Object(element, "context", index, errors);
        var groupId = Id(element, "groupId", index, errors);
        if (groupId is null && type == MessageType.Track && context?["groupId"] is JsonValue contextGroup && contextGroup.TryGetValue(out string? fromContext))
        {
            groupId = fromContext;
        }

        var message = new IncomingMessage
        {
            Type = type.Value,
            MessageId = Id(element, "messageId", index, errors) ?? ContentId(element),
            UserId = Id(element, "userId", index, errors),
            AnonymousId = Id(element, "anonymousId", index, errors),
            GroupId = groupId,
            Event = type == MessageType.Track ? String(element, "event", index, errors) : null,
            Properties = Object(element, "properties", index, errors),
            Traits = Object(element, "traits", index, errors),
            Context = context,
            Timestamp = Time(element, "timestamp", index, errors),
            OriginalTimestamp = Time(element, "originalTimestamp", index, errors),
            SentAt = Time(element, "sentAt", index, errors),
            Size = size,
        };
        return new ParsedItem(index, message, errors);
    }

    /// <summary>Reads an RFC 3339 / ISO-8601 instant (Segment's timestamp format).</summary>
    public static bool TryParseTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    // A message without a messageId (Segment's libraries always send one; hand-written calls may not) gets one
    // derived from its content, so an exact resend is still recognised as a duplicate.
    private static string ContentId(JsonElement element) =>
        "content-" + Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(element)))[..32];

    private static string? String(JsonElement element, string name, int index, List<ItemError> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new ItemError(index, name, "must be a string"));
            return null;
        }

        return value.GetString();
    }

    // Segment ids are strings; numbers are accepted and kept as their JSON text (userId: 42 is user "42").
    private static string? Id(JsonElement element, string name, int index, List<ItemError> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => Error(errors, new ItemError(index, name, "must be a string or a number")),
        };
    }

    private static JsonObject? Object(JsonElement element, string name, int index, List<ItemError> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new ItemError(index, name, "must be a JSON object"));
            return null;
        }

        // A copy, not a view: the message outlives the document it was read from (imports dispose each line).
        return JsonSerializer.Deserialize<JsonObject>(value);
    }

    private static DateTimeOffset? Time(JsonElement element, string name, int index, List<ItemError> errors)
    {
        var text = String(element, name, index, errors);
        if (text is null)
        {
            return null;
        }

        if (!TryParseTime(text, out var value))
        {
            errors.Add(new ItemError(index, name, $"'{Truncate(text)}' is not an ISO-8601 date and time"));
            return null;
        }

        return value;
    }

    private static string? Error(List<ItemError> errors, ItemError error)
    {
        errors.Add(error);
        return null;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

using System.Globalization;
using System.Text.Json;

namespace HealthScoring.Integrations.Stripe;

/// <summary>Thrown inside the parser only; <see cref="StripeEventParser"/> turns it into a <see cref="StripeEventParseError"/>.</summary>
internal sealed class StripeShapeException(StripeEventErrorKind kind, string field, string message) : Exception(message)
{
    public StripeEventErrorKind Kind { get; } = kind;

    public string Field { get; } = field;
}

/// <summary>
/// Reads Stripe's JSON by hand. Stripe writes absent and <c>null</c> interchangeably across API versions, so both
/// read as "not there"; a value of the wrong JSON kind is an error naming its path.
/// </summary>
internal static class StripeJson
{
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    public static JsonElement RequiredObject(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value))
        {
            throw Missing(Join(path, name));
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw WrongKind(Join(path, name), "an object", value);
    }

    public static JsonElement? OptionalObject(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw WrongKind(Join(path, name), "an object", value);
    }

    public static string RequiredString(JsonElement obj, string name, string path) =>
        OptionalString(obj, name, path) ?? throw Missing(Join(path, name));

    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongKind(Join(path, name), "a string", value);
    }

    public static long RequiredInt64(JsonElement obj, string name, string path) =>
        OptionalInt64(obj, name, path) ?? throw Missing(Join(path, name));

    public static long? OptionalInt64(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw WrongKind(Join(path, name), "a whole number", value);
    }

    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongKind(Join(path, name), "true or false", value),
        };
    }

    public static DateTimeOffset RequiredUnixTime(JsonElement obj, string name, string path) =>
        OptionalUnixTime(obj, name, path) ?? throw Missing(Join(path, name));

    public static DateTimeOffset? OptionalUnixTime(JsonElement obj, string name, string path)
    {
        var seconds = OptionalInt64(obj, name, path);
        if (seconds is null)
        {
            return null;
        }

        if (seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new StripeShapeException(StripeEventErrorKind.InvalidField, Join(path, name), $"'{Join(path, name)}' is not a usable Unix time.");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds.Value);
    }

    /// <summary>Stripe amounts with sub-unit precision come as decimal strings (<c>unit_amount_decimal</c>).</summary>
    public static decimal? OptionalDecimalString(JsonElement obj, string name, string path)
    {
        var text = OptionalString(obj, name, path);
        if (text is null)
        {
            return null;
        }

        return decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new StripeShapeException(StripeEventErrorKind.InvalidField, Join(path, name), $"'{Join(path, name)}' is not a decimal number.");
    }

    /// <summary>An id that may be a plain string or an expanded object carrying <c>id</c>.</summary>
    public static string? OptionalId(JsonElement obj, string name, string path, out JsonElement? expanded)
    {
        expanded = null;
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Object:
                expanded = value;
                return RequiredString(value, "id", Join(path, name));
            default:
                throw WrongKind(Join(path, name), "an id string or an expanded object", value);
        }
    }

    public static string? OptionalId(JsonElement obj, string name, string path) => OptionalId(obj, name, path, out _);

    /// <summary>Stripe metadata: string keys to string values; absent or null reads as empty.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(JsonElement obj, string path)
    {
        var field = Join(path, "metadata");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!TryGet(obj, "metadata", out var metadata))
        {
            return result;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw WrongKind(field, "an object", metadata);
        }

        foreach (var entry in metadata.EnumerateObject())
        {
            result[entry.Name] = entry.Value.ValueKind switch
            {
                JsonValueKind.String => entry.Value.GetString()!,
                JsonValueKind.Null => string.Empty,
                _ => throw WrongKind($"{field}.{entry.Name}", "a string", entry.Value),
            };
        }

        return result;
    }

    public static StripeShapeException Missing(string field) =>
        new(StripeEventErrorKind.MissingField, field, $"'{field}' is missing or null.");

    public static StripeShapeException WrongKind(string field, string expected, JsonElement actual) =>
        new(StripeEventErrorKind.InvalidField, field, $"'{field}' should be {expected} but is {Describe(actual.ValueKind)}.");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };
}

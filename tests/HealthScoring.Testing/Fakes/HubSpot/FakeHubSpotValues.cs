using System.Globalization;
using System.Text.RegularExpressions;

namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>
/// Property definitions rules (names, type/fieldType pairs) and value checks against a definition. Values travel as
/// strings both ways; an empty string clears a value.
/// </summary>
internal static partial class FakeHubSpotValues
{
    public const int MaxStringLength = 65_536;

    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        "string", "number", "date", "datetime", "enumeration", "bool",
    };

    public static readonly IReadOnlySet<string> FieldTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "textarea", "text", "date", "file", "number", "select", "radio", "checkbox", "booleancheckbox", "calculation_equation",
    };

    private static readonly Dictionary<string, string[]> FieldTypesByType = new(StringComparer.Ordinal)
    {
        ["string"] = ["text", "textarea", "file", "calculation_equation"],
        ["number"] = ["number", "calculation_equation"],
        ["date"] = ["date", "calculation_equation"],
        ["datetime"] = ["date", "calculation_equation"],
        ["enumeration"] = ["select", "radio", "checkbox", "booleancheckbox", "calculation_equation"],
        ["bool"] = ["booleancheckbox", "calculation_equation"],
    };

    [GeneratedRegex("^[a-z][a-z0-9_]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static bool FieldTypeFits(string type, string fieldType) =>
        FieldTypesByType.TryGetValue(type, out var allowed) && allowed.Contains(fieldType, StringComparer.Ordinal);

    /// <summary>Null when <paramref name="value"/> is acceptable for <paramref name="property"/>; otherwise (code, message).</summary>
    public static (string Code, string Message)? Check(FakeHubSpotProperty property, string? value, Func<string, bool> isOwnerId, Func<string, bool> isUserId)
    {
        if (property.ReadOnlyValue)
        {
            return ("READ_ONLY_VALUE", $"{property.Name} is a read only property; its value cannot be set.");
        }

        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        switch (property.Type)
        {
            case "number":
                return decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                    ? null
                    : ("INVALID_FLOAT", $"{value} was not a valid number.");
            case "bool":
                return value is "true" or "false"
                    ? null
                    : ("INVALID_BOOLEAN", $"{value} was not a valid boolean (expected true or false).");
            case "datetime":
                return TryEpochMillis(value, out _)
                    ? null
                    : ("INVALID_DATETIME", $"{value} was not a valid datetime: use epoch milliseconds or an ISO 8601 UTC timestamp.");
            case "date":
                return TryEpochMillis(value, out var ms) && ms % 86_400_000 == 0
                    ? null
                    : ("INVALID_DATE", $"{value} was not a valid date: use midnight UTC in epoch milliseconds or yyyy-MM-dd.");
            case "enumeration":
                if (property.Name == "hubspot_owner_id")
                {
                    if (isOwnerId(value))
                    {
                        return null;
                    }

                    return isUserId(value)
                        ? ("INVALID_OWNER_ID", $"{value} is a userId, not an owner id; assign records with the owner's id.")
                        : ("INVALID_OWNER_ID", $"{value} is not a valid owner id.");
                }

                var allowed = property.Options.Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
                var chosen = property.FieldType == "checkbox" ? value.Split(';') : [value];
                var bad = chosen.Where(v => !allowed.Contains(v)).ToList();
                return bad.Count == 0
                    ? null
                    : ("INVALID_OPTION", $"{string.Join(";", bad)} was not one of the allowed options: [{string.Join(", ", allowed)}]");
            default:
                return value.Length <= MaxStringLength
                    ? null
                    : ("INVALID_STRING", $"{property.Name} is longer than the {MaxStringLength} characters a property value may have.");
        }
    }

    /// <summary>Reads epoch milliseconds, an ISO 8601 timestamp or a yyyy-MM-dd date.</summary>
    public static bool TryEpochMillis(string value, out long millis)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out millis))
        {
            return true;
        }

        if (DateTimeOffset.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            millis = date.ToUnixTimeMilliseconds();
            return true;
        }

        if (value.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            millis = at.ToUnixTimeMilliseconds();
            return true;
        }

        millis = 0;
        return false;
    }

    /// <summary>Compares two values the way the property's type orders them (numbers, times, else case-insensitive text).</summary>
    public static int Compare(string type, string left, string right)
    {
        if (type == "number"
            && decimal.TryParse(left, NumberStyles.Float, CultureInfo.InvariantCulture, out var l)
            && decimal.TryParse(right, NumberStyles.Float, CultureInfo.InvariantCulture, out var r))
        {
            return l.CompareTo(r);
        }

        if (type is "datetime" or "date" && TryEpochMillis(left, out var lm) && TryEpochMillis(right, out var rm))
        {
            return lm.CompareTo(rm);
        }

        return string.Compare(left, right, StringComparison.OrdinalIgnoreCase);
    }
}

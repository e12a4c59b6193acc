using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>What an endpoint answers: a status and an optional JSON body.</summary>
internal sealed record FakeResult(int Status, JsonNode? Body);

/// <summary>HubSpot-shaped error bodies and small JSON helpers for the fake.</summary>
internal static class FakeHubSpotJson
{
    /// <summary>
    /// HubSpot's general error body: <c>{"status":"error","message","correlationId","category","errors":[...]}</c>.
    /// </summary>
    public static FakeResult Error(int status, string category, string message, IReadOnlyList<JsonObject>? errors = null, JsonObject? context = null)
    {
        var body = new JsonObject
        {
            ["status"] = "error",
            ["message"] = message,
            ["correlationId"] = Guid.NewGuid().ToString(),
            ["category"] = category,
        };
        if (context is not null)
        {
            body["context"] = context;
        }

        if (errors is { Count: > 0 })
        {
            body["errors"] = new JsonArray([.. errors]);
        }

        return new FakeResult(status, body);
    }

    public static FakeResult Validation(string message, params JsonObject[] errors) =>
        Error(400, "VALIDATION_ERROR", message, errors);

    public static FakeResult NotFound(string message, JsonObject? context = null) =>
        Error(404, "OBJECT_NOT_FOUND", message, context: context);

    /// <summary>One entry of <c>errors[]</c>: <c>{"message","code","in"?,"context"?}</c>.</summary>
    public static JsonObject Detail(string message, string code, string? propertyName = null, string? @in = null)
    {
        var detail = new JsonObject { ["message"] = message, ["code"] = code };
        if (@in is not null)
        {
            detail["in"] = @in;
        }

        if (propertyName is not null)
        {
            detail["context"] = new JsonObject { ["propertyName"] = new JsonArray(propertyName) };
        }

        return detail;
    }

    /// <summary>The body a fault injected by a test answers with.</summary>
    public static FakeResult Injected(int status) => status switch
    {
        400 => Validation("Injected fault: the fake was told to reject this request."),
        401 => Error(401, "INVALID_AUTHENTICATION", "Injected fault: authentication rejected."),
        403 => Error(403, "MISSING_SCOPES", "Injected fault: this app hasn't been granted all required scopes to make this call."),
        404 => NotFound("Injected fault: resource not found."),
        409 => Error(409, "CONFLICT", "Injected fault: conflict."),
        429 => Error(429, "RATE_LIMITS", "Injected fault: rate limited."),
        >= 500 => Error(status, "INTERNAL_ERROR", $"Injected fault: internal error ({status.ToString(CultureInfo.InvariantCulture)})."),
        _ => Error(status, "ERROR", $"Injected fault ({status.ToString(CultureInfo.InvariantCulture)})."),
    };

    /// <summary>A JSON scalar as HubSpot reads it: strings as they are, numbers and booleans as their text.</summary>
    public static string? ScalarText(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };
    }

    public static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out JsonNode? node, out FakeResult? error)
    {
        try
        {
            node = JsonNode.Parse(text);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            node = null;
            error = Validation($"Invalid input JSON on line {ex.LineNumber + 1}, position {ex.BytePositionInLine}: {ex.Message}");
            return false;
        }
    }
}

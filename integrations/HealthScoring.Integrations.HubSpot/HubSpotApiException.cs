using System.Globalization;
using System.Net;
using System.Text;

namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// HubSpot refused a request (a non-retryable 4xx, or a 429/5xx/timeout once the retries are spent). Carries the
/// status and HubSpot's own message and category; the message never contains the access token.
/// </summary>
public sealed class HubSpotApiException : Exception
{
    public const string DailyPolicy = "DAILY";

    public HubSpotApiException()
        : this("A HubSpot request failed.")
    {
    }

    public HubSpotApiException(string message)
        : base(message)
    {
        Details = [];
    }

    public HubSpotApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Details = [];
    }

    internal HubSpotApiException(
        HttpStatusCode? statusCode,
        string? requestMethod,
        string? requestPath,
        string? hubSpotMessage,
        string? category = null,
        string? correlationId = null,
        string? policyName = null,
        IReadOnlyList<string>? details = null,
        Exception? innerException = null)
        : base(Describe(statusCode, requestMethod, requestPath, hubSpotMessage, category, correlationId, policyName, details), innerException)
    {
        StatusCode = statusCode;
        RequestMethod = requestMethod;
        RequestPath = requestPath;
        HubSpotMessage = hubSpotMessage;
        Category = category;
        CorrelationId = correlationId;
        PolicyName = policyName;
        Details = details ?? [];
    }

    /// <summary>HubSpot's status, or null when no answer came (timeout, connection failure).</summary>
    public HttpStatusCode? StatusCode { get; }

    public string? RequestMethod { get; }

    /// <summary>The request path (no query, no host).</summary>
    public string? RequestPath { get; }

    /// <summary>HubSpot's <c>message</c>.</summary>
    public string? HubSpotMessage { get; }

    /// <summary>HubSpot's <c>category</c>, such as <c>VALIDATION_ERROR</c> or <c>INVALID_AUTHENTICATION</c>.</summary>
    public string? Category { get; }

    public string? CorrelationId { get; }

    /// <summary>For a 429: <c>DAILY</c> or the burst policy's name.</summary>
    public string? PolicyName { get; }

    /// <summary>The messages of HubSpot's <c>errors[]</c>.</summary>
    public IReadOnlyList<string> Details { get; }

    /// <summary>The daily request budget is spent; retrying before HubSpot's midnight reset is pointless.</summary>
    public bool IsDailyLimit => PolicyName == DailyPolicy;

    /// <summary>Worth retrying later (no answer, 5xx or a burst 429); a 4xx other than 429 is not.</summary>
    public bool IsTransient =>
        StatusCode is null || (int)StatusCode >= 500 || (StatusCode == HttpStatusCode.TooManyRequests && !IsDailyLimit);

    private static string Describe(
        HttpStatusCode? statusCode, string? method, string? path, string? message, string? category, string? correlationId,
        string? policyName, IReadOnlyList<string>? details)
    {
        var text = new StringBuilder("HubSpot ");
        text.Append(method ?? "request").Append(' ').Append(path ?? "");
        text.Append(statusCode is { } status
            ? string.Create(CultureInfo.InvariantCulture, $" answered {(int)status} {status}")
            : " got no answer");
        if (!string.IsNullOrEmpty(message))
        {
            text.Append(": ").Append(message);
        }

        var tags = new[] { category, policyName is null ? null : $"policy {policyName}", correlationId is null ? null : $"correlationId {correlationId}" }
            .Where(t => t is not null)
            .ToList();
        if (tags.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", tags).Append(')');
        }

        foreach (var detail in (details ?? []).Where(d => d != message).Take(10))
        {
            text.Append(Environment.NewLine).Append("  - ").Append(detail);
        }

        return text.ToString();
    }
}

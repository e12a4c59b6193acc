using System.Net;
using System.Text.Json;

namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>Reads HubSpot's error bodies (every field optional, as HubSpot says) into <see cref="HubSpotApiException"/>.</summary>
internal static class HubSpotErrors
{
    public static async Task<HubSpotApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var error = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        var request = response.RequestMessage;
        var details = error?.Errors?.Select(e => e.Message).OfType<string>().ToList() ?? [];
        var message = error?.Message ?? (response.ReasonPhrase is { Length: > 0 } reason ? reason : null);
        return new HubSpotApiException(
            response.StatusCode, request?.Method.Method, HubSpotRequests.PathOf(request), message,
            error?.Category ?? error?.ErrorType, error?.CorrelationId, PolicyOf(response, error), details);
    }

    /// <summary>A 429 for the daily budget: <c>policyName = DAILY</c>, or no daily requests left.</summary>
    public static async ValueTask<bool> IsDailyLimitAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.TooManyRequests)
        {
            return false;
        }

        var error = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        return PolicyOf(response, error) == HubSpotApiException.DailyPolicy;
    }

    private static string? PolicyOf(HttpResponseMessage response, ErrorWire? error)
    {
        if (error?.PolicyName is { } policy)
        {
            return policy;
        }

        return response.StatusCode == HttpStatusCode.TooManyRequests
               && response.Headers.TryGetValues("X-HubSpot-RateLimit-Daily-Remaining", out var values)
               && values.FirstOrDefault() == "0"
            ? HubSpotApiException.DailyPolicy
            : null;
    }

    private static async Task<ErrorWire?> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Buffer first: the body may be read again (by the retry predicate, then by the caller).
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(text, HubSpotJson.Default.ErrorWire);
        }
        catch (JsonException)
        {
            // Not HubSpot's JSON (a proxy's HTML page, say): keep the status, drop the body.
            return null;
        }
    }
}

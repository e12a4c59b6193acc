using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// A typed client for the parts of HubSpot's CRM v3 API that HealthScoring uses: our company properties, account →
/// company mapping, batch score updates and alert tasks for company owners. Stands in for a HubSpot SDK.
/// Every request passes the shared client-side rate limiter and the Polly pipelines (see <c>AddHubSpot</c>);
/// HubSpot's refusals surface as <see cref="HubSpotApiException"/>.
/// </summary>
public sealed partial class HubSpotClient : IHubSpotClient
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly HubSpotOptions _options;
    private readonly HubSpotIntegrationStatus _status;
    private readonly HubSpotClientState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<HubSpotClient> _logger;

    public HubSpotClient(
        HttpClient httpClient,
        IOptions<HubSpotOptions> options,
        HubSpotIntegrationStatus status,
        HubSpotClientState state,
        TimeProvider time,
        ILogger<HubSpotClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        _options = options.Value;
        _status = status;
        _state = state;
        _time = time;
        _logger = logger;
    }

    /// <summary>False when no access token is configured; every call then throws <see cref="InvalidOperationException"/>.</summary>
    public bool IsEnabled => _status.IsEnabled;

    private void EnsureEnabled()
    {
        if (!IsEnabled)
        {
            throw new InvalidOperationException(
                "The HubSpot integration is off: no access token is configured (HubSpot:AccessToken). Check HubSpotClient.IsEnabled first.");
        }
    }

    private static byte[] Serialize<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(value, type);

    /// <summary>
    /// Sends one request and reads a JSON answer. A success status reads the body (when <paramref name="answer"/>
    /// is given); a status in <paramref name="tolerated"/> returns without a body; anything else throws
    /// <see cref="HubSpotApiException"/> with HubSpot's message.
    /// </summary>
    private async Task<(HttpStatusCode Status, T? Body)> CallAsync<T>(
        HttpMethod method,
        string uri,
        byte[]? body,
        JsonTypeInfo<T>? answer,
        CancellationToken cancellationToken,
        HttpStatusCode[]? tolerated = null,
        bool retryAmbiguousFailures = true)
        where T : class
    {
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = Json;
        }

        if (!retryAmbiguousFailures)
        {
            request.Options.Set(HubSpotRequests.RetryAmbiguousFailures, false);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            var read = answer is null || response.Content.Headers.ContentLength == 0
                ? null
                : await response.Content.ReadFromJsonAsync(answer, cancellationToken).ConfigureAwait(false);
            return (response.StatusCode, read);
        }

        if (tolerated is not null && tolerated.Contains(response.StatusCode))
        {
            return (response.StatusCode, null);
        }

        throw await HubSpotErrors.ToExceptionAsync(response, cancellationToken).ConfigureAwait(false);
    }
}

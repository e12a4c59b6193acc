using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// Typed <see cref="HttpClient"/> for the Stripe REST API (see <see cref="IStripeClient"/>). Sends the key as
/// <c>Authorization: Bearer</c> and pins <c>Stripe-Version</c>; POST bodies are form-encoded with bracketed keys;
/// every POST carries one <c>Idempotency-Key</c> for all its attempts; retries follow <see cref="StripeRetryPolicy"/>.
/// </summary>
public sealed class StripeClient : IStripeClient
{
    private const int MaxMetadataKeys = 50;
    private const int MaxMetadataKeyLength = 40;
    private const int MaxMetadataValueLength = 500;
    private const int MaxMeterFieldLength = 100;

    private readonly HttpClient _http;
    private readonly StripeOptions _options;
    private readonly Uri _baseUri;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public StripeClient(HttpClient http, StripeOptions options, ILogger<StripeClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PageSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.PageSize, 100, nameof(options));
        if (!Uri.TryCreate(options.BaseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri))
        {
            throw new ArgumentException($"Stripe BaseUrl '{options.BaseUrl}' is not an absolute URL.", nameof(options));
        }

        _http = http;
        _options = options;
        _baseUri = baseUri;
        _pipeline = StripeRetryPolicy.Build(options, logger ?? (ILogger)NullLogger.Instance);
    }

    public bool IsEnabled => _options.IsEnabled;

    public IAsyncEnumerable<StripeObject> ListCustomersAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default) =>
        ListAsync("v1/customers", ListQuery(options, customerFilter: false), options, cancellationToken);

    public IAsyncEnumerable<StripeObject> ListSubscriptionsAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = ListQuery(options, customerFilter: true);
        query.Add(new("status", "all"));
        return ListAsync("v1/subscriptions", query, options, cancellationToken);
    }

    public IAsyncEnumerable<StripeObject> ListInvoicesAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default) =>
        ListAsync("v1/invoices", ListQuery(options, customerFilter: true), options, cancellationToken);

    public IAsyncEnumerable<StripeObject> ListEventsAsync(string? after, StripeEventListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = EventFilters(options);
        var limit = PageSizeOf(options?.PageSize);
        return after is null ? AllEventsOldestFirstAsync(query, limit, cancellationToken) : EventsAfterAsync(after, query, limit, cancellationToken);
    }

    public async Task<StripeObject?> GetLatestEventAsync(StripeEventListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = EventFilters(options);
        query.Add(new("limit", "1"));
        var (items, _) = await GetPageAsync("v1/events", query, cancellationToken);
        return items.Count == 0 ? null : items[0];
    }

    private static List<KeyValuePair<string, string>> EventFilters(StripeEventListOptions? options)
    {
        var types = options?.Types ?? [];
        if (types.Count > 20)
        {
            throw new ArgumentException("Stripe accepts at most 20 event types per request.", nameof(options));
        }

        var query = new List<KeyValuePair<string, string>>();
        query.AddRange(types.Select(t => new KeyValuePair<string, string>("types[]", t)));
        if (options?.CreatedFrom is { } from)
        {
            query.Add(new("created[gte]", Unix(from)));
        }

        return query;
    }

    public async Task<StripeObject> UpdateCustomerMetadataAsync(
        string customerId,
        IReadOnlyDictionary<string, string?> metadata,
        string? idempotencyKey = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        ArgumentNullException.ThrowIfNull(metadata);
        ValidateMetadata(metadata);

        var form = metadata
            .OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => new KeyValuePair<string, string>($"metadata[{m.Key}]", m.Value ?? ""))
            .ToList();
        var path = $"v1/customers/{Uri.EscapeDataString(customerId)}";
        using var document = await SendAsync(HttpMethod.Post, path, null, form, idempotencyKey ?? StripeIdempotencyKeys.Random(), cancellationToken);
        return StripeObject.From(document.RootElement, path);
    }

    public async Task<StripeMeterEvent> CreateMeterEventAsync(
        string eventName,
        string customerId,
        long value,
        DateTimeOffset timestamp,
        string identifier,
        string? idempotencyKey = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        ArgumentException.ThrowIfNullOrWhiteSpace(identifier);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(eventName.Length, MaxMeterFieldLength, nameof(eventName));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(identifier.Length, MaxMeterFieldLength, nameof(identifier));

        List<KeyValuePair<string, string>> form =
        [
            new("event_name", eventName),
            new("identifier", identifier),
            new("payload[stripe_customer_id]", customerId),
            new("payload[value]", value.ToString(CultureInfo.InvariantCulture)),
            new("timestamp", Unix(timestamp)),
        ];
        const string path = "v1/billing/meter_events";
        using var document = await SendAsync(HttpMethod.Post, path, null, form, idempotencyKey ?? StripeIdempotencyKeys.ForMeterEvent(identifier), cancellationToken);
        return ReadMeterEvent(document.RootElement);
    }

    // ---- Lists -----------------------------------------------------------------------------------------------

    private static List<KeyValuePair<string, string>> ListQuery(StripeListOptions? options, bool customerFilter)
    {
        var query = new List<KeyValuePair<string, string>>();
        if (customerFilter && options?.Customer is { } customer)
        {
            query.Add(new("customer", customer));
        }

        if (options?.CreatedFrom is { } from)
        {
            query.Add(new("created[gte]", Unix(from)));
        }

        return query;
    }

    private int PageSizeOf(int? requested)
    {
        var size = requested ?? _options.PageSize;
        return size is >= 1 and <= 100 ? size : throw new ArgumentOutOfRangeException(nameof(requested), size, "Stripe pages hold 1 to 100 objects.");
    }

    private async IAsyncEnumerable<StripeObject> ListAsync(
        string path,
        List<KeyValuePair<string, string>> filters,
        StripeListOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var limit = PageSizeOf(options?.PageSize).ToString(CultureInfo.InvariantCulture);
        var cursor = options?.StartingAfter;
        while (true)
        {
            var query = new List<KeyValuePair<string, string>>(filters) { new("limit", limit) };
            if (cursor is not null)
            {
                query.Add(new("starting_after", cursor));
            }

            var (items, hasMore) = await GetPageAsync(path, query, cancellationToken);
            foreach (var item in items)
            {
                yield return item;
            }

            if (!hasMore || items.Count == 0)
            {
                yield break;
            }

            cursor = items[^1].Id;
        }
    }

    private async IAsyncEnumerable<StripeObject> EventsAfterAsync(
        string after,
        List<KeyValuePair<string, string>> filters,
        int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Lists run newest first; ending_before walks towards newer events, one page at a time.
        var cursor = after;
        while (true)
        {
            var query = new List<KeyValuePair<string, string>>(filters)
            {
                new("limit", limit.ToString(CultureInfo.InvariantCulture)),
                new("ending_before", cursor),
            };
            var (items, hasMore) = await GetPageAsync("v1/events", query, cancellationToken);
            for (var i = items.Count - 1; i >= 0; i--)
            {
                yield return items[i];
            }

            if (!hasMore || items.Count == 0)
            {
                yield break;
            }

            cursor = items[0].Id;
        }
    }

    private async IAsyncEnumerable<StripeObject> AllEventsOldestFirstAsync(
        List<KeyValuePair<string, string>> filters,
        int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var all = new List<StripeObject>();
        await foreach (var item in ListAsync("v1/events", filters, new StripeListOptions { PageSize = limit }, cancellationToken))
        {
            all.Add(item);
        }

        for (var i = all.Count - 1; i >= 0; i--)
        {
            yield return all[i];
        }
    }

    private async Task<(List<StripeObject> Items, bool HasMore)> GetPageAsync(string path, List<KeyValuePair<string, string>> query, CancellationToken cancellationToken)
    {
        using var document = await SendAsync(HttpMethod.Get, path, query, null, null, cancellationToken);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new StripeApiException($"Stripe GET /{path} did not return a list object.", statusCode: 200, type: "invalid_response");
        }

        var hasMore = root.TryGetProperty("has_more", out var more) && more.ValueKind == JsonValueKind.True;
        var items = new List<StripeObject>(data.GetArrayLength());
        foreach (var item in data.EnumerateArray())
        {
            items.Add(StripeObject.From(item, $"GET /{path}"));
        }

        return (items, hasMore);
    }

    // ---- Transport -------------------------------------------------------------------------------------------

    private async Task<JsonDocument> SendAsync(
        HttpMethod method,
        string path,
        IReadOnlyList<KeyValuePair<string, string>>? query,
        IReadOnlyList<KeyValuePair<string, string>>? form,
        string? idempotencyKey,
        CancellationToken cancellationToken)
    {
        if (!IsEnabled)
        {
            throw new StripeDisabledException();
        }

        var operation = $"{method} /{path}";
        var uri = new Uri(_baseUri, path + QueryString(query));
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StripeRetryPolicy.OperationKey, operation);
        HttpResponseMessage response;
        try
        {
            // One request message per attempt (a sent message cannot be sent again), all with the same idempotency key.
            response = await _pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    using var request = state.Self.CreateRequest(state.Method, state.Uri, state.Form, state.IdempotencyKey);
                    return await state.Self._http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ctx.CancellationToken);
                },
                context,
                (Self: this, Method: method, Uri: uri, Form: form, IdempotencyKey: idempotencyKey));
        }
        catch (Exception ex) when (StripeRetryPolicy.IsTransportFailure(ex, cancellationToken))
        {
            throw new StripeApiException(
                $"Stripe {operation} got no response ({ex.GetType().Name}: {ex.Message}).",
                statusCode: null,
                type: "api_connection_error",
                innerException: ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw ErrorFrom(operation, response, body);
            }

            try
            {
                return JsonDocument.Parse(body);
            }
            catch (JsonException ex)
            {
                throw new StripeApiException($"Stripe {operation} returned a body that is not JSON.", (int)response.StatusCode, "invalid_response", innerException: ex);
            }
        }
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, Uri uri, IReadOnlyList<KeyValuePair<string, string>>? form, string? idempotencyKey)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.SecretKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.TryAddWithoutValidation("Stripe-Version", _options.ApiVersion);
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }

        return request;
    }

    private static string QueryString(IReadOnlyList<KeyValuePair<string, string>>? query)
    {
        if (query is null || query.Count == 0)
        {
            return "";
        }

        var builder = new StringBuilder();
        foreach (var (key, value) in query)
        {
            // Brackets may stay unescaped, which keeps logged URLs readable.
            builder.Append(builder.Length == 0 ? '?' : '&')
                .Append(Uri.EscapeDataString(key).Replace("%5B", "[", StringComparison.Ordinal).Replace("%5D", "]", StringComparison.Ordinal))
                .Append('=')
                .Append(Uri.EscapeDataString(value));
        }

        return builder.ToString();
    }

    private static StripeApiException ErrorFrom(string operation, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        var requestId = response.Headers.TryGetValues("Request-Id", out var ids) ? ids.FirstOrDefault() : null;
        string? type = null, code = null, param = null, message = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                type = Text(error, "type");
                code = Text(error, "code");
                param = Text(error, "param");
                message = Text(error, "message");
            }
        }
        catch (JsonException)
        {
            // Not Stripe's error body (a proxy's page, say): the status alone has to do.
        }

        var text = new StringBuilder($"Stripe {operation} failed with HTTP {status}");
        if (type is not null)
        {
            text.Append(' ').Append(type);
            if (code is not null)
            {
                text.Append('/').Append(code);
            }
        }

        text.Append(": ").Append(message ?? response.ReasonPhrase ?? "no error body");
        if (param is not null)
        {
            text.Append(" (param: ").Append(param).Append(')');
        }

        return new StripeApiException(text.ToString(), status, type, code, param, message, requestId);

        static string? Text(JsonElement error, string name) =>
            error.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    // ---- Shapes ----------------------------------------------------------------------------------------------

    private static void ValidateMetadata(IReadOnlyDictionary<string, string?> metadata)
    {
        if (metadata.Count == 0 || metadata.Count > MaxMetadataKeys)
        {
            throw new ArgumentException($"Stripe metadata updates carry 1 to {MaxMetadataKeys} keys.", nameof(metadata));
        }

        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key) || key.Length > MaxMetadataKeyLength || key.Contains('[', StringComparison.Ordinal) || key.Contains(']', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Stripe metadata key '{key}' must be 1 to {MaxMetadataKeyLength} characters without square brackets.", nameof(metadata));
            }

            if (value is { Length: > MaxMetadataValueLength })
            {
                throw new ArgumentException($"Stripe metadata value of '{key}' is longer than {MaxMetadataValueLength} characters.", nameof(metadata));
            }
        }
    }

    private static StripeMeterEvent ReadMeterEvent(JsonElement root)
    {
        string Required(string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw new StripeApiException($"Stripe's meter event has no '{name}'.", statusCode: 200, type: "invalid_response");

        var payload = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in p.EnumerateObject())
            {
                payload[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
            }
        }

        var timestamp = root.TryGetProperty("timestamp", out var t) && t.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new StripeApiException("Stripe's meter event has no 'timestamp'.", statusCode: 200, type: "invalid_response");
        return new StripeMeterEvent(Required("event_name"), Required("identifier"), timestamp, payload);
    }

    private static string Unix(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}

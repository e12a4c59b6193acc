using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace HealthScoring.Testing.Fakes.Stripe;

/// <summary>
/// A fake Stripe API on 127.0.0.1 (a free port) for integration tests. It checks the secret key (Bearer, or Basic
/// with the key as user), takes POST bodies only form-encoded, rejects unknown or malformed parameters with Stripe's
/// error JSON, keeps customers, subscriptions, invoices, events, meters and meter events, pages lists as Stripe
/// does, replays idempotent POSTs, rate-limits, and fails, delays or drops requests on demand. Every request is
/// recorded in <see cref="Requests"/>.
/// </summary>
public sealed partial class FakeStripe : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _clock;
    private readonly List<FakeStripeRequest> _requests = [];
    private readonly Queue<Fault> _faults = new();
    private readonly Dictionary<string, StoredResponse> _idempotent = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private long _rateWindow;
    private int _rateCount;
    private long _requestCounter;

    public FakeStripe(string? secretKey = null, TimeProvider? clock = null)
    {
        SecretKey = secretKey ?? $"sk_test_fake{Guid.NewGuid():N}";
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The key the fake accepts.</summary>
    public string SecretKey { get; }

    /// <summary><c>http://127.0.0.1:{port}</c>; set by <see cref="StartAsync"/>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1:0");

    /// <summary>Waited before answering every request (a slow Stripe).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Requests per second beyond which the fake answers 429 (Stripe allows 25 in a sandbox); null for no limit.</summary>
    public int? RateLimitPerSecond { get; set; }

    /// <summary>The API version events are rendered with.</summary>
    public string ApiVersion { get; set; } = "2025-04-30.basil";

    /// <summary>The requests so far, oldest first.</summary>
    public IReadOnlyList<FakeStripeRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public void ClearRequests()
    {
        lock (_lock)
        {
            _requests.Clear();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The fake is already started.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    // ---- Fault injection -------------------------------------------------------------------------------------

    /// <summary>
    /// The next <paramref name="count"/> requests get <paramref name="status"/> with Stripe's error JSON, before any
    /// other check (as a gateway would; nothing is executed and nothing is stored under their idempotency keys).
    /// <paramref name="shouldRetry"/> sets <c>Stripe-Should-Retry</c>; null sends no such header.
    /// </summary>
    public void FailNext(int count, int status, bool? shouldRetry = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 400);
        Enqueue(count, new Fault(FaultKind.Fail, status, shouldRetry, TimeSpan.Zero));
    }

    /// <summary>The next <paramref name="count"/> requests lose their connection with no response.</summary>
    public void DropNext(int count) => Enqueue(count, new Fault(FaultKind.Drop, 0, null, TimeSpan.Zero));

    /// <summary>The next <paramref name="count"/> requests are answered normally, after <paramref name="delay"/>.</summary>
    public void DelayNext(int count, TimeSpan delay) => Enqueue(count, new Fault(FaultKind.Delay, 0, null, delay));

    private void Enqueue(int count, Fault fault)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                _faults.Enqueue(fault);
            }
        }
    }

    private enum FaultKind
    {
        Fail,
        Drop,
        Delay,
    }

    private sealed record Fault(FaultKind Kind, int Status, bool? ShouldRetry, TimeSpan Delay);

    // ---- The request pipeline --------------------------------------------------------------------------------

    private sealed record FakeResponse(int Status, JsonNode Body, IReadOnlyDictionary<string, string>? Headers = null, bool Replayed = false);

    private sealed record StoredResponse(string Fingerprint, FakeResponse Response);

    /// <summary>Thrown by endpoint code; becomes Stripe's error JSON.</summary>
    private sealed class StripeError(int status, string type, string message, string? param = null, string? code = null) : Exception(message)
    {
        public FakeResponse ToResponse() => ErrorResponse(status, type, Message, param, code);
    }

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var method = request.Method;
        var path = request.Path.Value ?? "/";
        var idempotencyKey = request.Headers.TryGetValue("Idempotency-Key", out var key) ? key.ToString() : null;
        var version = request.Headers.TryGetValue("Stripe-Version", out var v) ? v.ToString() : null;

        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        var formMultiValued = false;
        var hasNonFormBody = false;
        if (HttpMethods.IsPost(method))
        {
            if (request.HasFormContentType)
            {
                var read = await request.ReadFormAsync(http.RequestAborted);
                foreach (var (name, values) in read)
                {
                    formMultiValued |= values.Count > 1;
                    form[name] = values.ToString();
                }
            }
            else
            {
                using var reader = new StreamReader(request.Body, Encoding.UTF8);
                hasNonFormBody = (await reader.ReadToEndAsync(http.RequestAborted)).Length > 0;
            }
        }

        Fault? fault;
        lock (_lock)
        {
            _faults.TryDequeue(out fault);
        }

        var wait = Delay + (fault is { Kind: FaultKind.Delay } d ? d.Delay : TimeSpan.Zero);
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, _clock, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Record(method, path, request.QueryString.Value, idempotencyKey, version, form, 499, false);
                return;
            }
        }

        if (fault is { Kind: FaultKind.Drop })
        {
            Record(method, path, request.QueryString.Value, idempotencyKey, version, form, 0, false);
            http.Abort();
            return;
        }

        FakeResponse response;
        if (fault is { Kind: FaultKind.Fail } fail)
        {
            response = InjectedFailure(fail);
        }
        else
        {
            var query = request.Query.ToDictionary(q => q.Key, q => q.Value, StringComparer.Ordinal);
            lock (_lock)
            {
                response = Process(method, path, query, form, formMultiValued, hasNonFormBody, request.Headers.Authorization.ToString(), idempotencyKey);
            }
        }

        Record(method, path, request.QueryString.Value, idempotencyKey, version, form, response.Status, response.Replayed);
        http.Response.StatusCode = response.Status;
        http.Response.ContentType = "application/json";
        http.Response.Headers["Request-Id"] = $"req_fake{Interlocked.Increment(ref _requestCounter):D8}";
        http.Response.Headers["Stripe-Version"] = version ?? ApiVersion;
        if (idempotencyKey is not null && HttpMethods.IsPost(method))
        {
            http.Response.Headers["Idempotency-Key"] = idempotencyKey;
        }

        if (response.Replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }

        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            http.Response.Headers[name] = value;
        }

        await http.Response.WriteAsync(response.Body.ToJsonString(), http.RequestAborted);
    }

    private void Record(string method, string path, string? query, string? idempotencyKey, string? version, Dictionary<string, string> form, int status, bool replayed)
    {
        lock (_lock)
        {
            _requests.Add(new FakeStripeRequest(method, path, query ?? "", idempotencyKey, version, form, status, replayed));
        }
    }

    private static FakeResponse InjectedFailure(Fault fault)
    {
        var response = fault.Status == 429
            ? ErrorResponse(429, "invalid_request_error", "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.", code: "rate_limit")
            : ErrorResponse(fault.Status, fault.Status >= 500 ? "api_error" : "invalid_request_error", $"Injected failure ({fault.Status}).");
        return fault.ShouldRetry is { } retry
            ? response with { Headers = new Dictionary<string, string> { ["Stripe-Should-Retry"] = retry ? "true" : "false" } }
            : response;
    }

    private FakeResponse Process(
        string method,
        string path,
        Dictionary<string, StringValues> query,
        Dictionary<string, string> form,
        bool formMultiValued,
        bool hasNonFormBody,
        string authorization,
        string? idempotencyKey)
    {
        if (RateLimited())
        {
            return ErrorResponse(429, "invalid_request_error", "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.", code: "rate_limit");
        }

        if (Unauthorized(authorization) is { } unauthorized)
        {
            return unauthorized;
        }

        if (hasNonFormBody)
        {
            return ErrorResponse(400, "invalid_request_error", "Stripe request bodies must be application/x-www-form-urlencoded (for example metadata[key]=value).");
        }

        if (formMultiValued)
        {
            return ErrorResponse(400, "invalid_request_error", "A parameter was sent more than once; list items must be indexed (items[0][price]=…).");
        }

        if (!HttpMethods.IsPost(method) || idempotencyKey is null)
        {
            return Execute(method, path, query, form);
        }

        if (idempotencyKey.Length is 0 or > 255)
        {
            return ErrorResponse(400, "invalid_request_error", "Idempotency keys must be 1 to 255 characters.", "Idempotency-Key");
        }

        var fingerprint = $"{method} {path}\n" + string.Join('\n', form.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}"));
        if (_idempotent.TryGetValue(idempotencyKey, out var stored))
        {
            return stored.Fingerprint == fingerprint
                ? stored.Response with { Replayed = true }
                : ErrorResponse(
                    400,
                    "idempotency_error",
                    $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{idempotencyKey}' if you meant to execute a different request.");
        }

        var response = Execute(method, path, query, form);

        // Stripe saves a result once the endpoint ran; a request refused by validation can be retried with the key.
        if (response.Status is not (400 or 401 or 409 or 429))
        {
            _idempotent[idempotencyKey] = new StoredResponse(fingerprint, response);
        }

        return response;
    }

    private bool RateLimited()
    {
        if (RateLimitPerSecond is not { } limit)
        {
            return false;
        }

        var second = _clock.GetUtcNow().ToUnixTimeSeconds();
        if (second != _rateWindow)
        {
            _rateWindow = second;
            _rateCount = 0;
        }

        return ++_rateCount > limit;
    }

    private FakeResponse? Unauthorized(string authorization)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return ErrorResponse(401, "invalid_request_error", "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
        }

        string? presented = null;
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        else if (authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
                presented = decoded.Split(':', 2)[0];
            }
            catch (FormatException)
            {
                presented = null;
            }
        }

        if (presented is not null && string.Equals(presented, SecretKey, StringComparison.Ordinal))
        {
            return null;
        }

        var masked = presented is { Length: > 4 } ? $"{presented[..Math.Min(8, presented.Length - 4)]}****{presented[^4..]}" : "****";
        return ErrorResponse(401, "invalid_request_error", $"Invalid API Key provided: {masked}");
    }

    private static FakeResponse ErrorResponse(int status, string type, string message, string? param = null, string? code = null)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (param is not null)
        {
            error["param"] = param;
        }

        if (code is not null)
        {
            error["code"] = code;
        }

        return new FakeResponse(status, new JsonObject { ["error"] = error });
    }

    private DateTimeOffset Now => _clock.GetUtcNow();

    private static long Unix(DateTimeOffset time) => time.ToUnixTimeSeconds();

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}

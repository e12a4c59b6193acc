using System.Security.Claims;
using System.Threading.RateLimiting;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Resilience;

/// <summary>
/// The host's limits (System.Threading.RateLimiting): a token bucket per key for events sent and one per API key for
/// queries, partitioned by the key's id (never its secret), and a bound on ingest requests in progress. A refusal is a
/// <see cref="RetryLaterException"/>: 429 / RESOURCE_EXHAUSTED when a key is over its rate, 503 / UNAVAILABLE when
/// the host has more ingest work than it takes on; both carry how long to wait.
/// </summary>
public sealed class BackPressure : IAsyncDisposable
{
    /// <summary>What a client waiting for an ingest slot is told to wait when the queue is full.</summary>
    public static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<string> _events;
    private readonly PartitionedRateLimiter<string> _requests;
    private readonly ConcurrencyLimiter? _ingestSlots;

    public BackPressure(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        var ingest = _options.Ingest;
        var api = _options.Api;
        _events = PartitionedRateLimiter.Create<string, string>(key => ingest.EventsPerSecond <= 0
            ? RateLimitPartition.GetNoLimiter(key)
            : RateLimitPartition.GetTokenBucketLimiter(key, _ => Bucket(ingest.EventsPerSecond, ingest.Burst)));
        _requests = PartitionedRateLimiter.Create<string, string>(key => api.RequestsPerSecond <= 0 || key.Length == 0
            ? RateLimitPartition.GetNoLimiter(key)
            : RateLimitPartition.GetTokenBucketLimiter(key, _ => Bucket(api.RequestsPerSecond, api.Burst)));
        _ingestSlots = ingest.MaxConcurrentRequests <= 0 ? null : new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = ingest.MaxConcurrentRequests,
            QueueLimit = Math.Max(0, ingest.QueueLimit),
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>
    /// Waits for one of the host's ingest slots (in arrival order); dispose the result when the request is done. When
    /// every slot is taken and the queue is full, throws 503 at once rather than queueing without limit.
    /// </summary>
    public async ValueTask<IDisposable> EnterIngestAsync(CancellationToken cancellationToken)
    {
        if (_ingestSlots is null)
        {
            return NoSlot.Instance;
        }

        var lease = await _ingestSlots.AcquireAsync(1, cancellationToken);
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        throw new RetryLaterException(StatusCodes.Status503ServiceUnavailable, "Too busy",
            $"The host is already working on {_options.Ingest.MaxConcurrentRequests} ingest requests with {_options.Ingest.QueueLimit} waiting; nothing of this request was stored. Send it again after Retry-After seconds.",
            BusyRetryAfter);
    }

    /// <summary>Ingest slots free right now (int.MaxValue when unbounded).</summary>
    internal long IngestSlotsFree => _ingestSlots?.GetStatistics()?.CurrentAvailablePermits ?? int.MaxValue;

    /// <summary>Takes <paramref name="events"/> from the key's event bucket, or throws 429 with the wait until they would be there.</summary>
    public void TakeEvents(string partition, int events)
    {
        var ingest = _options.Ingest;
        if (events <= 0 || ingest.EventsPerSecond <= 0)
        {
            return;
        }

        // A request larger than the whole bucket takes the whole bucket, rather than never passing.
        var cost = Math.Min(events, Math.Max(1, ingest.Burst));
        using var lease = _events.AttemptAcquire(partition, cost);
        if (!lease.IsAcquired)
        {
            var wait = Wait(lease, cost - (_events.GetStatistics(partition)?.CurrentAvailablePermits ?? 0), ingest.EventsPerSecond);
            throw new RetryLaterException(StatusCodes.Status429TooManyRequests, "Rate limit exceeded",
                $"This key may send {ingest.EventsPerSecond} events per second (bursts of {ingest.Burst}); this request of {events} was refused whole, nothing of it stored. Send it again after Retry-After seconds.",
                wait);
        }
    }

    /// <summary>Takes one request from the API key's bucket, or throws 429 with the wait until the next one.</summary>
    public void TakeRequest(string partition)
    {
        using var lease = _requests.AttemptAcquire(partition);
        if (!lease.IsAcquired)
        {
            throw new RetryLaterException(StatusCodes.Status429TooManyRequests, "Rate limit exceeded", ApiLimitDetail, RetryAfterOf(lease));
        }
    }

    /// <summary>The query limit for HTTP, for ASP.NET Core's rate-limiting middleware: API keys by id; sessions and other callers are not limited here.</summary>
    public PartitionedRateLimiter<HttpContext> HttpApiLimiter() => _requests.WithTranslatedKey<HttpContext>(ApiPartition, leaveOpen: true);

    /// <summary>
    /// The partition of a caller's REST queries: its API key's id, or empty (not limited). gRPC calls are left to
    /// <see cref="GrpcKeyAuthentication"/>, which answers in a gRPC status rather than an HTTP 429 a gRPC client cannot read.
    /// </summary>
    public static string ApiPartition(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
        {
            return "";
        }

        var user = http.User;
        return user.FindFirstValue(ApiKeyAuthenticationHandler.KindClaim) == nameof(KeyKind.Api) && user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim) is { } keyId
            ? keyId
            : "";
    }

    /// <summary>The partition of a caller's events: its key's id, else (a signed-in session) its tenant.</summary>
    public static string IngestPartition(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim) ?? "tenant:" + user.TenantId();
    }

    /// <summary>The wait the middleware's refusal carries.</summary>
    public TimeSpan RetryAfterOf(RateLimitLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return Wait(lease, 1, _options.Api.RequestsPerSecond);
    }

    /// <summary>What a client over its query limit is told.</summary>
    public string ApiLimitDetail => $"This API key may make {_options.Api.RequestsPerSecond} requests per second (bursts of {_options.Api.Burst}). Try again after Retry-After seconds.";

    private static TimeSpan Wait(RateLimitLease lease, long missing, double perSecond) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero
            ? retryAfter
            : TimeSpan.FromSeconds(Math.Max(1, missing) / perSecond);

    private static TokenBucketRateLimiterOptions Bucket(double perSecond, int burst) => new()
    {
        TokenLimit = Math.Max(1, burst),
        // Refilled ten times a second (or once per token below 10/s), so a bucket never sits empty for a whole second.
        ReplenishmentPeriod = perSecond >= 10 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1.0 / perSecond),
        TokensPerPeriod = perSecond >= 10 ? Math.Max(1, (int)Math.Round(perSecond / 10)) : 1,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public async ValueTask DisposeAsync()
    {
        await _events.DisposeAsync();
        await _requests.DisposeAsync();
        if (_ingestSlots is not null)
        {
            await _ingestSlots.DisposeAsync();
        }
    }

    private sealed class NoSlot : IDisposable
    {
        public static readonly NoSlot Instance = new();

        public void Dispose()
        {
        }
    }
}

using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>
/// The Polly pipelines around each HubSpot request (one set per process):
/// <list type="number">
/// <item>429 (burst) → wait as the headers say (<c>Retry-After</c> when present, else a backoff bounded by
/// <c>X-HubSpot-RateLimit-Interval-Milliseconds</c>), pause the shared limiter, retry; a daily 429 is final;</item>
/// <item>5xx, timeouts, connection failures → jittered exponential backoff, bounded attempts;</item>
/// <item>a timeout per attempt.</item>
/// </list>
/// Every other status passes through untouched for the client to turn into a <see cref="HubSpotApiException"/>.
/// </summary>
internal sealed class HubSpotResilience
{
    private readonly HubSpotOptions _options;
    private readonly HubSpotRateLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public HubSpotResilience(HubSpotOptions options, HubSpotRateLimiter limiter, TimeProvider time, ILogger<HubSpotResilience> logger)
    {
        _options = options;
        _limiter = limiter;
        _time = time;
        _logger = logger;
        Standard = HttpPipeline(retryTransient: true);
        RateLimitOnly = HttpPipeline(retryTransient: false);
        Attempt = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }.AddTimeout(AttemptTimeout()).Build();
    }

    /// <summary>
    /// One attempt's time limit, started once the attempt holds its limiter slot: time spent queueing behind the
    /// client-side rate limit is not HubSpot failing to answer (counting it made queued requests time out and retry,
    /// adding load exactly when the budget was spent).
    /// </summary>
    public ResiliencePipeline<HttpResponseMessage> Attempt { get; }

    public HubSpotRateLimiter Limiter => _limiter;

    /// <summary>For reads and idempotent writes.</summary>
    public ResiliencePipeline<HttpResponseMessage> Standard { get; }

    /// <summary>For creates: a 429 is retried (HubSpot did not run the request), a timeout or 5xx is not.</summary>
    public ResiliencePipeline<HttpResponseMessage> RateLimitOnly { get; }

    public TimeSpan AttemptTimeoutValue => _options.AttemptTimeout;

    /// <summary>Repeats check-then-create after a create that failed without a clear answer (timeout, 5xx).</summary>
    public static ResiliencePipeline<TaskAttempt> TaskCreatePipeline(HubSpotOptions options, TimeProvider time, ILogger logger)
    {
        var taskCreate = new ResiliencePipelineBuilder<TaskAttempt> { TimeProvider = time };
        if (options.MaxRetryAttempts > 0)
        {
            taskCreate.AddRetry(new RetryStrategyOptions<TaskAttempt>
            {
                Name = "hubspot-task-create",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.AmbiguousFailure is not null),
                OnRetry = args =>
                {
                    logger.LogWarning(
                        "HubSpot task create for {DedupeKey} got no clear answer ({Failure}); checking for the task again before retry {Attempt} in {Delay}.",
                        args.Outcome.Result?.DedupeKey, args.Outcome.Result?.AmbiguousFailure?.StatusCode?.ToString() ?? "no answer",
                        args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return taskCreate.Build();
    }

    private ResiliencePipeline<HttpResponseMessage> HttpPipeline(bool retryTransient)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time };
        if (_options.MaxRateLimitRetries > 0)
        {
            builder.AddRetry(RateLimitRetry());
        }

        if (retryTransient && _options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(TransientRetry());
        }

        return builder.Build();
    }

    private RetryStrategyOptions<HttpResponseMessage> RateLimitRetry() => new()
    {
        Name = "hubspot-rate-limit",
        MaxRetryAttempts = _options.MaxRateLimitRetries,
        ShouldHandle = async args =>
            args.Outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } response
            && !await HubSpotErrors.IsDailyLimitAsync(response, args.Context.CancellationToken).ConfigureAwait(false),
        DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RateLimitDelay(args.Outcome.Result!, args.AttemptNumber)),
        OnRetry = args =>
        {
            // Everyone holds back, not only this caller: the portal's budget is shared.
            _limiter.PauseFor(args.RetryDelay);
            var request = args.Outcome.Result?.RequestMessage;
            _logger.LogWarning(
                "HubSpot rate-limited {Method} {Path} (429); waiting {Delay} before retry {Attempt} of {Max}.",
                request?.Method, HubSpotRequests.PathOf(request), args.RetryDelay, args.AttemptNumber + 1, _options.MaxRateLimitRetries);
            return ValueTask.CompletedTask;
        },
    };

    private RetryStrategyOptions<HttpResponseMessage> TransientRetry() => new()
    {
        Name = "hubspot-transient",
        MaxRetryAttempts = _options.MaxRetryAttempts,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = _options.RetryBaseDelay,
        MaxDelay = _options.MaxRetryDelay,
        ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>()
            .HandleResult(response => (int)response.StatusCode >= 500),
        OnRetry = args =>
        {
            var what = args.Outcome.Result is { } response
                ? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)
                : args.Outcome.Exception?.GetType().Name;
            _logger.LogWarning(
                "HubSpot request failed ({Failure}); retry {Attempt} of {Max} in {Delay}.",
                what, args.AttemptNumber + 1, _options.MaxRetryAttempts, args.RetryDelay);
            return ValueTask.CompletedTask;
        },
    };

    private TimeoutStrategyOptions AttemptTimeout() => new()
    {
        Name = "hubspot-attempt-timeout",
        Timeout = _options.AttemptTimeout,
    };

    /// <summary>
    /// How long to wait after a 429. <c>Retry-After</c> wins when HubSpot sends it (unconfirmed that it does).
    /// Otherwise the rolling window frees up somewhere within <c>X-HubSpot-RateLimit-Interval-Milliseconds</c>
    /// (10 s; 1 s for search), so back off exponentially from the base delay, never beyond one interval.
    /// </summary>
    internal TimeSpan RateLimitDelay(HttpResponseMessage response, int attemptNumber)
    {
        TimeSpan delay;
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta && delta > TimeSpan.Zero)
        {
            delay = delta;
        }
        else if (retryAfter?.Date is { } date && date > _time.GetUtcNow())
        {
            delay = date - _time.GetUtcNow();
        }
        else
        {
            var interval = response.Headers.TryGetValues("X-HubSpot-RateLimit-Interval-Milliseconds", out var values)
                           && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms > 0
                ? TimeSpan.FromMilliseconds(ms)
                : response.RequestMessage is { } request && HubSpotRequests.IsSearch(request) ? TimeSpan.FromSeconds(1) : HubSpotRateLimiter.BurstWindow;
            var backoff = _options.RetryBaseDelay * Math.Pow(2, Math.Min(attemptNumber, 16));
            var jittered = backoff * (0.8 + (0.2 * Random.Shared.NextDouble()));
            delay = jittered < interval ? jittered : interval;
        }

        return delay < _options.MaxRetryDelay ? delay : _options.MaxRetryDelay;
    }
}

/// <summary>One check-then-create round of a task: a result, or a create that failed without a clear answer.</summary>
internal sealed record TaskAttempt(string DedupeKey, TaskResult? Result, HubSpotApiException? AmbiguousFailure);

/// <summary>
/// Runs each request through <see cref="HubSpotResilience"/>: every attempt, retries included, first takes a slot of
/// the shared rate limiter (given back when its answer headers are in), then is sent under the attempt timeout. A
/// spent timeout or connection failure becomes a <see cref="HubSpotApiException"/>.
/// </summary>
internal sealed class HubSpotResilienceHandler(HubSpotResilience resilience) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var pipeline = HubSpotRequests.RetriesAmbiguousFailures(request) ? resilience.Standard : resilience.RateLimitOnly;
        try
        {
            return await pipeline.ExecuteAsync(
                async token =>
                {
                    using var slot = await resilience.Limiter
                        .AcquireAsync(HubSpotRequests.IsSearch(request), request.Method.Method, HubSpotRequests.PathOf(request), token)
                        .ConfigureAwait(false);
                    return await resilience.Attempt.ExecuteAsync(
                        async attempt => await base.SendAsync(request, attempt).ConfigureAwait(false), token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new HubSpotApiException(
                null, request.Method.Method, HubSpotRequests.PathOf(request),
                $"no answer within {resilience.AttemptTimeoutValue.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", innerException: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new HubSpotApiException(null, request.Method.Method, HubSpotRequests.PathOf(request), ex.Message, innerException: ex);
        }
    }
}

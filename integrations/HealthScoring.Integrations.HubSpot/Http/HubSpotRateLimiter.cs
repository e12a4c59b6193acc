using System.Net;

namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>
/// The client-side limiter every attempt passes through (one per process): a rolling 10-second burst window, a
/// rolling 1-second window for CRM search (see <see cref="RollingWindow"/> for how a request is counted), an
/// optional daily count, and a pause that a 429 sets so that all callers hold back together, not only the one
/// that was refused.
/// </summary>
internal sealed class HubSpotRateLimiter
{
    /// <summary>HubSpot's burst window.</summary>
    public static readonly TimeSpan BurstWindow = TimeSpan.FromSeconds(10);

    /// <summary>HubSpot's search window (4 per second per token).</summary>
    public static readonly TimeSpan SearchWindow = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly RollingWindow _burst;
    private readonly RollingWindow _search;
    private readonly long? _dailyLimit;
    private readonly TimeProvider _time;
    private TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _pausedUntil = long.MinValue;
    private DateOnly _day;
    private long _sentToday;

    public HubSpotRateLimiter(HubSpotOptions options, TimeProvider time)
    {
        _time = time;
        _burst = new RollingWindow(options.MaxRequestsPer10Seconds, BurstWindow, time);
        _search = new RollingWindow(options.MaxSearchRequestsPerSecond, SearchWindow, time);
        _dailyLimit = options.DailyLimit;
    }

    /// <summary>Waits until a request may be sent and takes its slot; dispose the lease when the answer is in.</summary>
    public async ValueTask<Lease> AcquireAsync(bool isSearch, string method, string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            Task finished;
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                var pause = now < _pausedUntil ? _time.GetElapsedTime(now, _pausedUntil) : TimeSpan.Zero;
                var burst = _burst.WaitAt(now);
                var search = isSearch ? _search.WaitAt(now) : TimeSpan.Zero;
                if (pause == TimeSpan.Zero && burst == TimeSpan.Zero && search == TimeSpan.Zero)
                {
                    CountToday(method, path);
                    _burst.Start();
                    if (isSearch)
                    {
                        _search.Start();
                    }

                    return new Lease(this, isSearch);
                }

                wait = burst == Timeout.InfiniteTimeSpan || search == Timeout.InfiniteTimeSpan
                    ? Timeout.InfiniteTimeSpan
                    : TimeSpan.FromTicks(Math.Max(pause.Ticks, Math.Max(burst.Ticks, search.Ticks)));
                finished = _finished.Task;
            }

            if (wait == Timeout.InfiniteTimeSpan)
            {
                // Every slot is held by a request in flight: the next answer starts a slot's countdown.
                await finished.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Holds every caller back for <paramref name="delay"/> (after a 429).</summary>
    public void PauseFor(TimeSpan delay)
    {
        lock (_gate)
        {
            var until = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            _pausedUntil = Math.Max(_pausedUntil, until);
        }
    }

    private void Finish(bool isSearch)
    {
        TaskCompletionSource finished;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _burst.Finish(now);
            if (isSearch)
            {
                _search.Finish(now);
            }

            finished = _finished;
            _finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        finished.TrySetResult();
    }

    private void CountToday(string method, string path)
    {
        if (_dailyLimit is not { } limit)
        {
            return;
        }

        var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        if (today != _day)
        {
            _day = today;
            _sentToday = 0;
        }

        if (_sentToday >= limit)
        {
            throw new HubSpotApiException(
                HttpStatusCode.TooManyRequests, method, path,
                $"The client-side daily limit of {limit} requests (HubSpot:DailyLimit) is reached; the request was not sent.",
                category: "CLIENT_RATE_LIMIT", policyName: HubSpotApiException.DailyPolicy);
        }

        _sentToday++;
    }

    /// <summary>A taken slot; disposing it (once the answer or failure is in) starts the slot's countdown.</summary>
    internal sealed class Lease(HubSpotRateLimiter limiter, bool isSearch) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limiter.Finish(isSearch);
            }
        }
    }
}

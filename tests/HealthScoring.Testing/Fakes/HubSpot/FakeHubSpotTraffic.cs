using System.Globalization;

namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>Why a request is refused with 429, or null policy when it may pass.</summary>
internal sealed record RateDecision(string? PolicyName, string Message, int RetryAfterSeconds, bool WithHeaders)
{
    public static readonly RateDecision Allowed = new(null, "", 0, true);

    public bool IsAllowed => PolicyName is null;
}

/// <summary>
/// Counts traffic the way HubSpot limits it (a rolling 10-second burst window, a daily count, a per-second search
/// limit), records what the fake observed, and holds the faults a test injected. Thread-safe.
/// </summary>
internal sealed class FakeHubSpotTraffic(FakeHubSpotOptions options, TimeProvider clock)
{
    public static readonly TimeSpan BurstWindow = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan SearchWindow = TimeSpan.FromSeconds(1);

    // ⚠ Unconfirmed names: the notes only confirm DAILY; TEN_SECONDLY_ROLLING is from secondary sources.
    public const string BurstPolicy = "TEN_SECONDLY_ROLLING";
    public const string DailyPolicy = "DAILY";
    public const string SearchPolicy = "SECONDLY";

    private readonly Lock _gate = new();
    private readonly Queue<long> _observed = new();
    private readonly Queue<long> _observedSearch = new();
    private readonly Queue<long> _accepted = new();
    private readonly Queue<long> _acceptedSearch = new();
    private readonly List<Fault> _faults = [];
    private readonly List<FakeHubSpotCall> _calls = [];
    private int _maxObserved;
    private int _maxObservedSearch;
    private long _dailyCount;
    private DateOnly _day;
    private long _rateLimitedUntil = long.MinValue;
    private string _rateLimitedPolicy = BurstPolicy;
    private TimeSpan _delay;
    private int _delayRemaining;

    private sealed class Fault(int count, int statusCode, string? method, string? path, bool afterProcessing)
    {
        public int Remaining { get; set; } = count;
        public int StatusCode { get; } = statusCode;
        public bool AfterProcessing { get; } = afterProcessing;

        public bool Applies(string requestMethod, string requestPath) =>
            (method is null || string.Equals(method, requestMethod, StringComparison.OrdinalIgnoreCase))
            && (path is null
                || (path.EndsWith('*') ? requestPath.StartsWith(path[..^1], StringComparison.Ordinal) : requestPath == path));
    }

    public int MaxObservedInBurstWindow
    {
        get { lock (_gate) { return _maxObserved; } }
    }

    public int MaxObservedSearchPerSecond
    {
        get { lock (_gate) { return _maxObservedSearch; } }
    }

    public IReadOnlyList<FakeHubSpotCall> Calls
    {
        get { lock (_gate) { return [.. _calls]; } }
    }

    /// <summary>Counts an arrival in the observed windows (every request, whatever the fake answers).</summary>
    public void Arrived(bool isSearch)
    {
        lock (_gate)
        {
            var now = clock.GetTimestamp();
            _maxObserved = Math.Max(_maxObserved, Push(_observed, now, BurstWindow));
            if (isSearch)
            {
                _maxObservedSearch = Math.Max(_maxObservedSearch, Push(_observedSearch, now, SearchWindow));
            }
        }
    }

    public void Log(FakeHubSpotCall call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
    }

    public void ResetLog()
    {
        lock (_gate)
        {
            _calls.Clear();
            _observed.Clear();
            _observedSearch.Clear();
            _maxObserved = 0;
            _maxObservedSearch = 0;
        }
    }

    public void FailNext(int count, int statusCode, string? method, string? path, bool afterProcessing)
    {
        lock (_gate)
        {
            _faults.Add(new Fault(count, statusCode, method, path, afterProcessing));
        }
    }

    public void RateLimitFor(TimeSpan period, string policyName)
    {
        lock (_gate)
        {
            _rateLimitedUntil = clock.GetTimestamp() + (long)(period.TotalSeconds * clock.TimestampFrequency);
            _rateLimitedPolicy = policyName;
        }
    }

    public void Delay(TimeSpan delay, int requests)
    {
        lock (_gate)
        {
            _delay = delay;
            _delayRemaining = requests;
        }
    }

    public void ClearFaults()
    {
        lock (_gate)
        {
            _faults.Clear();
            _rateLimitedUntil = long.MinValue;
            _delayRemaining = 0;
        }
    }

    public TimeSpan? TakeDelay()
    {
        lock (_gate)
        {
            if (_delayRemaining <= 0)
            {
                return null;
            }

            _delayRemaining--;
            return _delay;
        }
    }

    public int? TakeFault(string method, string path, bool afterProcessing)
    {
        lock (_gate)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining > 0 && f.AfterProcessing == afterProcessing && f.Applies(method, path));
            if (fault is null)
            {
                return null;
            }

            fault.Remaining--;
            return fault.StatusCode;
        }
    }

    /// <summary>Decides whether an authenticated request may pass; if so, it counts against the limits.</summary>
    public RateDecision Admit(bool isSearch)
    {
        lock (_gate)
        {
            var now = clock.GetTimestamp();
            if (now < _rateLimitedUntil)
            {
                var left = TimeSpan.FromSeconds((double)(_rateLimitedUntil - now) / clock.TimestampFrequency);
                return new RateDecision(_rateLimitedPolicy, Limit(_rateLimitedPolicy), Seconds(left), true);
            }

            RollDay();
            if (_dailyCount >= options.DailyLimit)
            {
                var midnight = new DateTimeOffset(_day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                return new RateDecision(DailyPolicy, Limit(DailyPolicy), Seconds(midnight - clock.GetUtcNow()), true);
            }

            Prune(_accepted, now, BurstWindow);
            if (_accepted.Count >= options.BurstLimit)
            {
                var free = TimeSpan.FromSeconds((double)(_accepted.Peek() - now) / clock.TimestampFrequency) + BurstWindow;
                return new RateDecision(BurstPolicy, Limit(BurstPolicy), Seconds(free), true);
            }

            if (isSearch)
            {
                Prune(_acceptedSearch, now, SearchWindow);
                if (_acceptedSearch.Count >= options.SearchRequestsPerSecond)
                {
                    // Community reports say search responses may carry no rate-limit headers at all.
                    return new RateDecision(SearchPolicy, Limit(SearchPolicy), 1, false);
                }

                _acceptedSearch.Enqueue(now);
            }

            _accepted.Enqueue(now);
            _dailyCount++;
            return RateDecision.Allowed;
        }
    }

    /// <summary>The <c>X-HubSpot-RateLimit-*</c> headers as they stand now.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers()
    {
        lock (_gate)
        {
            RollDay();
            Prune(_accepted, clock.GetTimestamp(), BurstWindow);
            return
            [
                new("X-HubSpot-RateLimit-Daily", Text(options.DailyLimit)),
                new("X-HubSpot-RateLimit-Daily-Remaining", Text(Math.Max(0, options.DailyLimit - _dailyCount))),
                new("X-HubSpot-RateLimit-Max", Text(options.BurstLimit)),
                new("X-HubSpot-RateLimit-Remaining", Text(Math.Max(0, options.BurstLimit - _accepted.Count))),
                new("X-HubSpot-RateLimit-Interval-Milliseconds", Text((long)BurstWindow.TotalMilliseconds)),
            ];
        }
    }

    private static string Limit(string policy) => policy switch
    {
        DailyPolicy => "You have reached your daily limit.",
        SearchPolicy => "You have reached your secondly limit.",
        _ => "You have reached your ten_secondly_rolling limit.",
    };

    private static int Seconds(TimeSpan span) => Math.Max(1, (int)Math.Ceiling(span.TotalSeconds));

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void RollDay()
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (today != _day)
        {
            _day = today;
            _dailyCount = 0;
        }
    }

    private int Push(Queue<long> window, long now, TimeSpan length)
    {
        Prune(window, now, length);
        window.Enqueue(now);
        return window.Count;
    }

    private void Prune(Queue<long> window, long now, TimeSpan length)
    {
        while (window.Count > 0 && clock.GetElapsedTime(window.Peek(), now) >= length)
        {
            window.Dequeue();
        }
    }
}

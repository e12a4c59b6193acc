namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Whether this host's ingest is saturated, so that background read models (the daily aggregates) give way: an
/// acknowledgement is what a sender waits for, while an aggregate a few seconds or minutes behind the log costs
/// nobody anything, and catching up later in larger batches costs less per event. Ingest counts as saturated when,
/// within the last <see cref="Window"/>, the group-commit writer found requests waiting after a commit (events arrive
/// faster than one commit at a time takes them), or spent at least <see cref="BusyShare"/> of the window committing
/// (a few senders that each wait for their answer before sending more keep it busy without ever queueing).
/// </summary>
public sealed class IngestPressure(TimeProvider clock)
{
    /// <summary>How long after the last sign of a backlog ingest still counts as saturated; also the span the busy share is measured over.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>The share of the window spent committing from which ingest counts as saturated.</summary>
    public const double BusyShare = 0.5;

    private readonly Lock _gate = new();
    private long _lastBacklog = long.MinValue;

    // Committing time in the current window and in the one before it (timestamps of the clock).
    private bool _started;
    private long _windowStart;
    private TimeSpan _busyNow;
    private TimeSpan _busyBefore;
    private TimeSpan _lengthBefore;

    /// <summary>Records that requests were waiting behind a commit.</summary>
    public void Backlogged() => Volatile.Write(ref _lastBacklog, clock.GetTimestamp());

    /// <summary>Records a commit that took <paramref name="elapsed"/>.</summary>
    public void Committed(TimeSpan elapsed)
    {
        lock (_gate)
        {
            Roll();
            _busyNow += elapsed;
        }
    }

    /// <summary>True while a backlog was seen within <see cref="Window"/>, or the writer was busy for <see cref="BusyShare"/> of the last window.</summary>
    public bool IsSaturated
    {
        get
        {
            var last = Volatile.Read(ref _lastBacklog);
            if (last != long.MinValue && clock.GetElapsedTime(last) < Window)
            {
                return true;
            }

            lock (_gate)
            {
                Roll();
                var intoWindow = clock.GetElapsedTime(_windowStart);

                // The window before counts in full; the current one once it is long enough to say anything.
                return (_lengthBefore > TimeSpan.Zero && _busyBefore >= _lengthBefore * BusyShare) || (intoWindow >= Window / 4 && _busyNow >= intoWindow * BusyShare);
            }
        }
    }

    private void Roll()
    {
        var sinceStart = _started ? clock.GetElapsedTime(_windowStart) : TimeSpan.MaxValue;
        if (sinceStart < Window)
        {
            return;
        }

        // A window rolls at the first use after it ends, so it may have lasted longer than Window; its share is of
        // its real length. One that ended more than a window ago says nothing about now.
        (_busyBefore, _lengthBefore) = sinceStart < Window * 2 ? (_busyNow, sinceStart) : (TimeSpan.Zero, TimeSpan.Zero);
        _busyNow = TimeSpan.Zero;
        _windowStart = clock.GetTimestamp();
        _started = true;
    }
}

namespace HealthScoring.EventStore;

/// <summary>
/// The next versions of streams this store writes, handed out in-process so that a bulk append can number its events
/// and COPY them before it locks the streams' rows (a claim). Each stream's tail is the last version this store
/// committed or handed to an append still in flight: a guess, never trusted. An append moves each stream's row from
/// the version it was handed to its own last one, and only where the row is still at that version; so a wrong guess
/// (another process wrote the stream, an earlier append in flight failed, the tables were emptied) fails that check,
/// the append writes nothing and retries, and no version is ever given twice.
/// </summary>
/// <remarks>
/// <para>Claims are handed out in the order their appends' transactions took their ids
/// (<see cref="EnterNumberingAsync"/>), which is the log's order. They are checked in that order too: each remembers
/// the one handed out before it, and checks its rows only after that one has committed or failed, so that two appends
/// in flight on the same stream check their rows in the order their versions were handed out. That wait is bounded
/// (<see cref="OrderWait"/>): PostgreSQL cannot see it, so a wait that closed a cycle with database locks would
/// otherwise hang; past it, the rows' locks and deadlock detection order the appends.</para>
/// <para>Appends enter in one of two modes, never mixed: claims, or locks (reserving first, reading the versions back, as
/// a single-stream append with an expected version must). A claim that failed leaves the appends after it on stale
/// guesses, so the next appends wait until those in flight are over (and a stream read back from the database is then
/// read as committed). A stale guess means another writer may be active on these streams: then appends take locks for
/// <see cref="LocksAfterStale"/>, which is how two writers share streams without wasting work.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A SemaphoreSlim whose AvailableWaitHandle is never used holds nothing to dispose.")]
internal sealed class StreamVersionClaims(TimeProvider clock, int capacity = StreamVersionClaims.DefaultCapacity)
{
    /// <summary>Enough for every account of a large tenant; about 100 bytes each.</summary>
    public const int DefaultCapacity = 200_000;

    /// <summary>The longest a claim waits for the one before it to commit (usually milliseconds).</summary>
    public static readonly TimeSpan OrderWait = TimeSpan.FromSeconds(2);

    /// <summary>How long appends take locks instead of claims after a claim found a stream moved by someone else.</summary>
    public static readonly TimeSpan LocksAfterStale = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _numbering = new(1, 1);
    private readonly Dictionary<(string Tenant, string Stream), long> _tails = [];
    private Claim? _last;
    private int _active;
    private bool _activeAreClaims;
    private bool _draining;
    private DateTimeOffset _locksUntil = DateTimeOffset.MinValue;
    private long _failures;
    private int _locksWaiting;
    private long _stale;
    private TaskCompletionSource _idle = NewIdle();

    /// <summary>How many claims have found a stream row other than they expected (see <see cref="Finish"/>).</summary>
    public long StaleCount
    {
        get
        {
            lock (_gate)
            {
                return _stale;
            }
        }
    }

    /// <summary>
    /// Enters an append: true when it may claim versions, false when it must reserve them with locks. Waits while
    /// appends of the other mode are in flight, or while those in flight are draining after a failure. An append
    /// waiting to lock goes first: claims keep coming under load, and would otherwise never let it in.
    /// </summary>
    public async Task<bool> EnterAsync(bool locks, CancellationToken cancellationToken)
    {
        var queued = false;
        try
        {
            while (true)
            {
                Task idle;
                lock (_gate)
                {
                    var claims = !locks && clock.GetUtcNow() >= _locksUntil;
                    var sameMode = _active > 0 && !_draining && _activeAreClaims == claims;
                    if ((claims && _locksWaiting == 0 && (_active == 0 || sameMode)) || (!claims && (_active == 0 || sameMode)))
                    {
                        if (queued)
                        {
                            (queued, _locksWaiting) = (false, _locksWaiting - 1);
                        }

                        _active++;
                        _activeAreClaims = claims;
                        return claims;
                    }

                    if (!claims && !queued)
                    {
                        (queued, _locksWaiting) = (true, _locksWaiting + 1);
                    }

                    // Let those in flight finish before the mode changes (and meanwhile let no more of them in).
                    _draining |= _active > 0;
                    idle = _idle.Task;
                }

                await idle.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            if (queued)
            {
                lock (_gate)
                {
                    // Given up while waiting: claims held back for this append may go.
                    if (--_locksWaiting == 0 && _active == 0)
                    {
                        SignalIdle();
                    }
                }
            }
        }
    }

    /// <summary>
    /// Numbering, one append at a time: inside it an append asks which versions it lacks (<see cref="Unknown"/>),
    /// reads them and takes its transaction's id, then its claim (<see cref="Take"/>), so that claims are handed out
    /// in the order of their transaction ids. The log is ordered by transaction id: an append numbered after another
    /// on a stream must sort after it.
    /// </summary>
    public async Task<IDisposable> EnterNumberingAsync(CancellationToken cancellationToken)
    {
        await _numbering.WaitAsync(cancellationToken);
        return new Numbering(_numbering);
    }

    /// <summary>Leaves an append entered by <see cref="EnterAsync"/> (after its <see cref="Finish"/>, if it took a claim).</summary>
    public void Exit()
    {
        lock (_gate)
        {
            // Past the capacity (rarely): tails in flight cannot be dropped, so the appends in flight drain and then
            // every tail is dropped.
            var full = _tails.Count > capacity;
            if (--_active > 0)
            {
                _draining |= full;
                return;
            }

            if (full)
            {
                _tails.Clear();
            }

            _draining = false;
            SignalIdle();
        }
    }

    /// <summary>The streams of <paramref name="counts"/> this store has no tail for (their stored versions must be read).</summary>
    public List<string> Unknown(string tenantId, IReadOnlyDictionary<string, int> counts)
    {
        lock (_gate)
        {
            return [.. counts.Keys.Where(s => !_tails.ContainsKey((tenantId, s)))];
        }
    }

    /// <summary>
    /// Versions for <paramref name="counts"/> (events per stream, in first-seen order); <paramref name="stored"/>
    /// gives the stored version of each stream that had no tail (0 when it has no row), read by the caller. Null when
    /// a stream has neither: it had a tail when <see cref="Unknown"/> was asked, and a claim that failed since then
    /// forgot it. Nothing is handed out then; the caller's append retries.
    /// </summary>
    public Claim? Take(string tenantId, IReadOnlyDictionary<string, int> counts, IReadOnlyDictionary<string, long> stored)
    {
        lock (_gate)
        {
            foreach (var stream in counts.Keys)
            {
                if (!_tails.ContainsKey((tenantId, stream)) && !stored.ContainsKey(stream))
                {
                    return null;
                }
            }

            var claim = new Claim(tenantId, counts.Count, _last, _failures);
            var i = 0;
            foreach (var (stream, count) in counts)
            {
                var before = _tails.TryGetValue((tenantId, stream), out var tail) ? tail : stored[stream];
                claim.Set(i++, stream, before, before + count);
                _tails[(tenantId, stream)] = before + count;
            }

            _last = claim;
            return claim;
        }
    }

    /// <summary>
    /// The claim's append is over: committed (its tails stand) or not (its streams are forgotten, and the appends
    /// still in flight, numbered after it, drain before any other enters). <paramref name="stale"/>: it found a stream
    /// moved, and no failure here since it was handed out explains that: someone else writes these streams, so
    /// appends take locks for a while.
    /// </summary>
    public void Finish(Claim claim, bool committed, bool stale)
    {
        lock (_gate)
        {
            if (!committed)
            {
                foreach (var stream in claim.Streams)
                {
                    _tails.Remove((claim.TenantId, stream));
                }

                _draining = true;
            }

            _stale += stale ? 1 : 0;
            if (stale && _failures == claim.FailuresBefore)
            {
                _locksUntil = clock.GetUtcNow() + LocksAfterStale;
            }

            if (!committed)
            {
                _failures++;
            }

            if (ReferenceEquals(_last, claim))
            {
                _last = null;
            }
        }

        claim.Done();
    }

    /// <summary>Versions committed by an append that reserved with locks (they replace any tail).</summary>
    public void Remember(string tenantId, IReadOnlyDictionary<string, long> versions)
    {
        lock (_gate)
        {
            foreach (var (stream, version) in versions)
            {
                _tails[(tenantId, stream)] = version;
            }
        }
    }

    private void SignalIdle()
    {
        _idle.TrySetResult();
        _idle = NewIdle();
    }

    private sealed class Numbering(SemaphoreSlim numbering) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                numbering.Release();
            }
        }
    }

    private static TaskCompletionSource NewIdle() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One append's versions: for each stream, the version its row must be at, and the one to move it to.</summary>
    internal sealed class Claim(string tenantId, int streams, Claim? previous, long failuresBefore)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Claim? _previous = previous;

        public string TenantId { get; } = tenantId;

        /// <summary>How many claims had failed when this one was handed out.</summary>
        public long FailuresBefore { get; } = failuresBefore;

        public string[] Streams { get; } = new string[streams];

        public long[] Before { get; } = new long[streams];

        public long[] After { get; } = new long[streams];

        public void Set(int i, string stream, long before, long after) => (Streams[i], Before[i], After[i]) = (stream, before, after);

        /// <summary>
        /// Waits (at most <see cref="OrderWait"/>) until the claim handed out before this one has committed or given
        /// up: a row it created is invisible to this one's update until then (a row it moved would only be locked).
        /// </summary>
        public async Task WaitForPreviousAsync(CancellationToken cancellationToken)
        {
            var previous = Interlocked.Exchange(ref _previous, null);
            if (previous is null)
            {
                return;
            }

            try
            {
                await previous._done.Task.WaitAsync(OrderWait, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Leave the order to the rows' locks (and PostgreSQL's deadlock detection) from here.
            }
        }

        /// <summary>This claim's append is over: the next claim may check its rows.</summary>
        public void Done()
        {
            _previous = null;
            _done.TrySetResult();
        }
    }
}

/// <summary>A claimed version proved wrong: nothing was written.</summary>
internal sealed class StaleStreamVersionsException() : Exception("A stream was not at the version this store handed out for it.");

using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace HealthScoring.EventStore.Subscriptions;

/// <summary>Processes batches of the global log for one named subscription.</summary>
public interface ISubscriptionHandler
{
    /// <summary>
    /// Handles a batch, in global order. Delivery is at least once: after a crash the batch that was being
    /// handled is delivered again, so handlers must be idempotent (for example, keyed by event id).
    /// </summary>
    Task HandleAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// A handler whose writes go to the store's own database: its batch and the checkpoint commit in one transaction,
/// so each event takes effect exactly once even though delivery is at least once. Projections use this.
/// </summary>
public interface ITransactionalSubscriptionHandler : ISubscriptionHandler
{
    /// <summary>Handles a batch inside <paramref name="transaction"/>; the runner commits it with the checkpoint.</summary>
    Task HandleAsync(IReadOnlyList<RecordedEvent> events, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Not used: the runner always calls the transactional overload.</summary>
    Task ISubscriptionHandler.HandleAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Transactional handlers are called with a connection and transaction.");
}

/// <summary>
/// A background handler that gives way to more urgent work: after each batch the runner (not a foreground catch-up)
/// awaits <see cref="PaceAsync"/>, which may pause before the next batch.
/// </summary>
public interface IPacedSubscriptionHandler : ISubscriptionHandler
{
    /// <summary>Called after a batch of <paramref name="count"/> events that took <paramref name="elapsed"/>; returns when the next may start.</summary>
    ValueTask PaceAsync(int count, TimeSpan elapsed, CancellationToken cancellationToken);
}

/// <summary>Settings of one subscription.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>The subscription's durable name: its checkpoint and its leadership lock are keyed by it.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The event types the handler wants (null: all). Others are skipped in the database rather than read and
    /// deserialized only to be ignored: a publisher of rare score events must not read every usage event.
    /// </summary>
    public IReadOnlyCollection<Type>? EventTypes { get; init; }

    /// <summary>Data fields the handler never reads, left out in the database (see <see cref="DataOmission"/>).</summary>
    public DataOmission? Omit { get; init; }

    /// <summary>The most events handed to the handler at once.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>
    /// How long to let the log fill after a batch smaller than <see cref="BatchSize"/> before reading again (zero:
    /// read again at once). While events arrive steadily, a handler whose cost is mostly per batch (one upsert of
    /// everything a batch touched) then works on fewer, larger batches, at the price of this much more lag.
    /// </summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.Zero;

    /// <summary>How long to wait before looking again when the subscription has caught up.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often a standby instance tries to take the lead.</summary>
    public TimeSpan LeadershipRetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The first pause after a failed batch; it doubles up to <see cref="MaxErrorBackoff"/>.</summary>
    public TimeSpan ErrorBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest pause after repeated failures.</summary>
    public TimeSpan MaxErrorBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest pause between attempts while PostgreSQL is unavailable (see <see cref="TransientStoreFailure"/>):
    /// shorter than <see cref="MaxErrorBackoff"/>, so that a subscription resumes within seconds of the database's return.
    /// </summary>
    public TimeSpan MaxOutageBackoff { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Runs one subscription: takes the lead through a session advisory lock (only one instance processes), loads
/// the durable checkpoint, hands batches of the log to the handler in order, and saves the checkpoint after each
/// batch. A failed batch is retried from the checkpoint after a backoff; a standby instance takes over when the
/// leader's connection goes away. <see cref="StopAsync"/> is graceful: the batch in progress is finished and
/// checkpointed, so a restart handles nothing twice.
/// </summary>
public sealed class SubscriptionRunner : IHostedService, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly IEventStore _store;
    private readonly ISubscriptionHandler _handler;
    private readonly SubscriptionOptions _options;
    private readonly ILogger _logger;
    private readonly string _schema;
    private readonly string _lockKey;
    private CancellationTokenSource? _stopping;
    private CancellationTokenSource? _stopRequested;
    private Task? _loop;
    private readonly OutageLog _outage = new();
    private volatile bool _isLeader;
    private long _processed;
    private LogPosition _position;

    /// <summary>Creates a runner; call <see cref="StartAsync"/> to begin.</summary>
    public SubscriptionRunner(NpgsqlDataSource dataSource, IEventStore store, EventStoreOptions storeOptions, ISubscriptionHandler handler, SubscriptionOptions options, ILogger<SubscriptionRunner>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(storeOptions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Name);
        storeOptions.Validate();
        _dataSource = dataSource;
        _store = store;
        _handler = handler;
        _options = options;
        _schema = storeOptions.Schema;
        _lockKey = $"healthscoring.subscription:{_schema}:{options.Name}";
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The subscription's name.</summary>
    public string Name => _options.Name;

    /// <summary>True while this instance holds the lead and processes events.</summary>
    public bool IsLeader => _isLeader;

    /// <summary>Events handled by this instance since it started.</summary>
    public long EventsProcessed => Interlocked.Read(ref _processed);

    /// <summary>The last checkpoint this instance saved or loaded.</summary>
    public LogPosition Position => _position;

    /// <summary>Starts the loop in the background and returns at once.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"Subscription '{Name}' is already started.");
        }

        _stopping = new CancellationTokenSource();
        _stopRequested = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _loop = Task.Run(() => RunAsync(_stopRequested.Token, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the loop gracefully: it stops waiting at once, but a batch in progress is finished and checkpointed
    /// first, and a position reached by skipping events (a filtered subscription) is saved, so the checkpoint is the
    /// position of the last event handled. When <paramref name="cancellationToken"/> fires first (the host's shutdown
    /// timeout), the batch is cancelled instead and not checkpointed: it is delivered again on the next start, here
    /// or on another instance. The lead is released.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var stopping = _stopping;
        var stopRequested = _stopRequested;
        if (_loop is null || stopping is null || stopRequested is null)
        {
            return;
        }

        try
        {
            await stopRequested.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        await using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), stopping))
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Stops at once: a batch in progress is cancelled and not checkpointed (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        var stopping = _stopping;
        if (stopping is not null)
        {
            try
            {
                await stopping.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // Disposed already.
            }
        }

        await StopAsync(CancellationToken.None);

        // The host may still call StopAsync after the container has disposed us: it then finds nothing to stop.
        Interlocked.Exchange(ref _stopRequested, null)?.Dispose();
        Interlocked.Exchange(ref _stopping, null)?.Dispose();
    }

    /// <summary>Reads a subscription's saved checkpoint (null when it has never saved one).</summary>
    public static async Task<LogPosition?> ReadCheckpointAsync(NpgsqlDataSource dataSource, EventStoreOptions storeOptions, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(storeOptions);
        await using var command = dataSource.CreateCommand($"select tx_id, seq from {storeOptions.Schema}.subscriptions where name = $1");
        command.Parameters.AddWithValue(name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new LogPosition(await reader.GetFieldValueAsync<ulong>(0, cancellationToken), await reader.GetFieldValueAsync<long>(1, cancellationToken));
    }

    /// <param name="stopRequested">Ends waits and the loop between batches (a graceful stop).</param>
    /// <param name="stopping">Cancels everything, a batch in progress too (a hard stop); it also fires <paramref name="stopRequested"/>.</param>
    private async Task RunAsync(CancellationToken stopRequested, CancellationToken stopping)
    {
        var backoff = _options.ErrorBackoff;
        while (!stopRequested.IsCancellationRequested)
        {
            try
            {
                await using var leadership = await _dataSource.OpenConnectionAsync(stopRequested);
                try
                {
                    await AcquireLeadershipAsync(leadership, stopRequested);
                    _isLeader = true;
                    _logger.LogInformation("Subscription {Subscription} is led by this instance", Name);
                    if (_outage.Succeeded() is { } outage)
                    {
                        _logger.LogInformation("Subscription {Subscription} reached PostgreSQL again after {Outage}", Name, outage);
                    }

                    await ProcessAsLeaderAsync(leadership, () => backoff = _options.ErrorBackoff, untilCaughtUp: false, stopRequested, stopping);
                }
                finally
                {
                    _isLeader = false;
                    await ReleaseAsync(leadership);
                }
            }
            catch (OperationCanceledException) when (stopRequested.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (TransientStoreFailure.Is(ex))
            {
                // PostgreSQL is away (restart, failover, network): say so once, then wait for it without a log line per try.
                if (_outage.Failed())
                {
                    _logger.LogWarning("Subscription {Subscription} lost PostgreSQL at {Position} ({Failure}); it resumes from its checkpoint when the database is back", Name, _position, ex.GetType().Name);
                }

                if (!await PauseAsync(backoff, stopRequested))
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxOutageBackoff.Ticks));
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Subscription {Subscription} failed at {Position}; retrying from its checkpoint in {Backoff}", Name, _position, backoff);
                if (!await PauseAsync(backoff, stopRequested))
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxErrorBackoff.Ticks));
            }
        }
    }

    private static async Task<bool> PauseAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task AcquireLeadershipAsync(NpgsqlConnection leadership, CancellationToken stopping)
    {
        while (!await TryTakeLeadAsync(leadership, stopping))
        {
            await Task.Delay(_options.LeadershipRetryInterval, stopping);
        }
    }

    /// <summary>Takes the subscription's session-level advisory lock on <paramref name="leadership"/> if it is free.</summary>
    private async Task<bool> TryTakeLeadAsync(NpgsqlConnection leadership, CancellationToken cancellationToken)
    {
        await using var tryLock = new NpgsqlCommand("select pg_try_advisory_lock(hashtextextended($1, 0))", leadership);
        tryLock.Parameters.AddWithValue(_lockKey);
        return (bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Runs the subscription in the foreground until it has handled everything in the log, then returns how many
    /// events it handled (for a CLI, a rebuild, a test). It must hold the lead to do so: when another instance holds
    /// it, this throws <see cref="SubscriptionBusyException"/> at once rather than race it. <paramref name="reset"/>,
    /// when given, runs first in one transaction with the removal of the checkpoint (e.g. to empty a read model
    /// before rebuilding it from the start of the log).
    /// </summary>
    public async Task<long> CatchUpAsync(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task>? reset = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        await using var leadership = await _dataSource.OpenConnectionAsync(cancellationToken);
        if (!await TryTakeLeadAsync(leadership, cancellationToken))
        {
            throw new SubscriptionBusyException($"Subscription '{Name}' is being run by another process (it holds the lead); stop that process first.");
        }

        try
        {
            if (reset is not null)
            {
                await using var tx = await leadership.BeginTransactionAsync(cancellationToken);
                await reset(leadership, tx, cancellationToken);
                await using var delete = new NpgsqlCommand($"delete from {_schema}.subscriptions where name = $1", leadership, tx);
                delete.Parameters.AddWithValue(Name);
                await delete.ExecuteNonQueryAsync(cancellationToken);
                await tx.CommitAsync(cancellationToken);
            }

            var before = EventsProcessed;
            await ProcessAsLeaderAsync(leadership, () => progress?.Report(EventsProcessed - before), untilCaughtUp: true, CancellationToken.None, cancellationToken);
            return EventsProcessed - before;
        }
        finally
        {
            await ReleaseAsync(leadership);
        }
    }

    private Task<LogPage> ReadAsync(LogPosition after, int maxCount, CancellationToken cancellationToken) =>
        _options.EventTypes is { } types
            ? _store.ReadAllOfTypesAsync(after, maxCount, types, null, _options.Omit, cancellationToken)
            : _store.ReadAllAsync(after, maxCount, null, _options.Omit, cancellationToken);

    /// <param name="leadership">The connection holding the lead.</param>
    /// <param name="onSuccess">Called after each batch handled.</param>
    /// <param name="untilCaughtUp">Returns once the log is handled to its end (a catch-up), instead of following it.</param>
    /// <param name="stopRequested">Ends the loop between batches (after saving a skipped-to position) and cuts waits short.</param>
    /// <param name="stopping">Cancels everything, a batch in progress too.</param>
    private async Task ProcessAsLeaderAsync(NpgsqlConnection leadership, Action onSuccess, bool untilCaughtUp, CancellationToken stopRequested, CancellationToken stopping)
    {
        _position = await ReadCheckpointAsync(_dataSource, new EventStoreOptions { Schema = _schema }, Name, stopping) ?? LogPosition.Start;
        // A catch-up handles everything appended before it began, including events still hidden behind a
        // transaction that was open elsewhere when they were read for (see LogHorizon).
        var horizon = untilCaughtUp ? await LogHorizon.NowAsync(_dataSource, stopping) : 0;
        await using var heartbeat = new NpgsqlCommand("select 1", leadership);
        var skippedSaved = Stopwatch.GetTimestamp();
        var saved = _position;
        using var waits = CancellationTokenSource.CreateLinkedTokenSource(stopping, stopRequested);
        while (!stopping.IsCancellationRequested)
        {
            if (stopRequested.IsCancellationRequested)
            {
                // A graceful stop: the last batch is checkpointed; a position reached by skipping is saved now, so
                // that the checkpoint is where this instance really stopped.
                if (_position > saved)
                {
                    await using var connection = await _dataSource.OpenConnectionAsync(stopping);
                    await SaveCheckpointAsync(connection, null, _position, 0, stopping);
                }

                _logger.LogInformation("Subscription {Subscription} stopped; its checkpoint is {TransactionId}/{Sequence}", Name, _position.TransactionId, _position.Sequence);
                return;
            }

            var readStarted = Stopwatch.GetTimestamp();
            var page = await ReadAsync(_position, _options.BatchSize, stopping);
            if (page.Events.Count == 0 && page.LastPosition > _position)
            {
                // Only skipped events (a filtered subscription): move on at once, but save that position at most
                // every few seconds, as the horizon moves with every transaction in the cluster. A restart rescans
                // the skipped events since the last save, which is harmless.
                _position = page.LastPosition;
                if (untilCaughtUp || Stopwatch.GetElapsedTime(skippedSaved) >= SkippedCheckpointInterval)
                {
                    await using var connection = await _dataSource.OpenConnectionAsync(stopping);
                    await SaveCheckpointAsync(connection, null, _position, 0, stopping);
                    skippedSaved = Stopwatch.GetTimestamp();
                    saved = _position;
                }

                continue;
            }

            if (page.Events.Count == 0 && untilCaughtUp)
            {
                if (await LogHorizon.HasPassedAsync(_dataSource, horizon, stopping))
                {
                    // Nothing was readable, and everything readable at that moment included all it had to.
                    var again = await ReadAsync(_position, 1, stopping);
                    if (again.Events.Count == 0 && again.LastPosition == _position)
                    {
                        return;
                    }

                    continue;
                }

                await Task.Delay(_options.PollInterval, stopping);
                continue;
            }

            if (page.Events.Count == 0)
            {
                // Caught up: make sure we still hold the lead (the connection holding the lock is alive), then wait.
                await heartbeat.ExecuteScalarAsync(stopping);
                await WaitAsync(_options.PollInterval, waits.Token);
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            if (_handler is ITransactionalSubscriptionHandler transactional)
            {
                await using var connection = await _dataSource.OpenConnectionAsync(stopping);
                await using var tx = await connection.BeginTransactionAsync(stopping);
                await transactional.HandleAsync(page.Events, connection, tx, stopping);
                if (!await SaveCheckpointAsync(connection, tx, page.LastPosition, page.Events.Count, stopping))
                {
                    // Another instance has moved the checkpoint past us: we lost the lead without noticing.
                    await tx.RollbackAsync(stopping);
                    throw new InvalidOperationException($"Subscription '{Name}' lost its lead; batch rolled back.");
                }

                await tx.CommitAsync(stopping);
            }
            else
            {
                await _handler.HandleAsync(page.Events, stopping);
                await using var connection = await _dataSource.OpenConnectionAsync(stopping);
                await SaveCheckpointAsync(connection, null, page.LastPosition, page.Events.Count, stopping);
            }

            _position = saved = page.LastPosition;
            Interlocked.Add(ref _processed, page.Events.Count);
            onSuccess();
            _logger.LogDebug("Subscription {Subscription} handled {Count} events up to {Position} in {Elapsed}", Name, page.Events.Count, _position, Stopwatch.GetElapsedTime(started));
            if (untilCaughtUp)
            {
                continue;
            }

            try
            {
                if (_handler is IPacedSubscriptionHandler paced)
                {
                    await paced.PaceAsync(page.Events.Count, Stopwatch.GetElapsedTime(readStarted), waits.Token);
                }

                if (page.Events.Count < _options.BatchSize && _options.SettleDelay > TimeSpan.Zero)
                {
                    await Task.Delay(_options.SettleDelay, waits.Token);
                }
            }
            catch (OperationCanceledException) when (waits.IsCancellationRequested)
            {
                // A stop cut the pause short: the loop decides what comes next.
            }
        }
    }

    private static readonly TimeSpan SkippedCheckpointInterval = TimeSpan.FromSeconds(5);

    /// <summary>Waits <paramref name="delay"/>, or less when <paramref name="cancellationToken"/> fires (no exception: the caller's loop decides).</summary>
    private static async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Woken early.
        }
    }

    private async Task<bool> SaveCheckpointAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, LogPosition position, int count, CancellationToken cancellationToken)
    {
        // Monotonic: a former leader that has not noticed losing the lead can never move the checkpoint back.
        await using var command = new NpgsqlCommand(
            $"""
            insert into {_schema}.subscriptions as s (name, tx_id, seq, events_processed) values ($1, $2, $3, $4)
            on conflict (name) do update set tx_id = excluded.tx_id, seq = excluded.seq,
                events_processed = s.events_processed + excluded.events_processed, updated_at = now()
            where (s.tx_id, s.seq) < (excluded.tx_id, excluded.seq)
            """, connection, tx);
        command.Parameters.AddWithValue(Name);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = position.TransactionId });
        command.Parameters.AddWithValue(position.Sequence);
        command.Parameters.AddWithValue((long)count);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task ReleaseAsync(NpgsqlConnection leadership)
    {
        // The connection goes back to a pool, where a session lock would outlive us: release it explicitly.
        if (leadership.FullState != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock_all()", leadership);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // A broken connection is discarded by the pool, and PostgreSQL has already released its locks.
            _logger.LogDebug(ex, "Subscription {Subscription}: releasing the lead on a broken connection", Name);
        }
    }
}

/// <summary>Another instance holds a subscription's lead, so this one cannot run it in the foreground.</summary>
public sealed class SubscriptionBusyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public SubscriptionBusyException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SubscriptionBusyException() { }

    /// <summary>Creates the exception with its cause.</summary>
    public SubscriptionBusyException(string message, Exception inner) : base(message, inner) { }
}

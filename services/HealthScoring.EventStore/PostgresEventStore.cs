using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;

namespace HealthScoring.EventStore;

/// <summary>The event store on PostgreSQL. Thread-safe; one instance per schema is enough.</summary>
public sealed class PostgresEventStore : IEventStore
{
    private static readonly JsonSerializerOptions MetadataJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly NpgsqlDataSource _dataSource;
    private readonly EventTypeRegistry _registry;
    private readonly EventStoreOptions _options;
    private readonly string _s;
    private readonly int _orderLockSpace;
    private readonly TimeProvider _clock;
    private readonly StreamVersionClaims _claims;

    /// <summary>Creates the store over <paramref name="dataSource"/>; the schema must have been migrated.</summary>
    public PostgresEventStore(NpgsqlDataSource dataSource, EventTypeRegistry registry, EventStoreOptions options, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _dataSource = dataSource;
        _registry = registry;
        _options = options;
        _s = options.Schema;
        _orderLockSpace = StreamOrderLocks.Space(options.Schema);
        _clock = clock ?? TimeProvider.System;
        _claims = new StreamVersionClaims(_clock);
    }

    /// <summary>The schema this store reads and writes.</summary>
    public string Schema => _s;

    /// <summary>How many bulk appends found a stream other than the versions they claimed said, and retried locking first.</summary>
    internal long StaleClaims => _claims.StaleCount;

    /// <inheritdoc />
    public async Task<AppendResult> AppendToStreamAsync(string tenantId, string streamId, ExpectedVersion expectedVersion, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ValidateId(tenantId, nameof(tenantId));
        ValidateId(streamId, nameof(streamId));
        var prepared = Prepare(events.Select(e => new StreamEvent(streamId, e)));
        var result = await WriteWithRetriesAsync(tenantId, prepared, expectedVersion, cancellationToken);
        var version = result.StreamVersions.TryGetValue(streamId, out var v) ? v : await GetStreamVersionAsync(tenantId, streamId, cancellationToken) ?? 0;
        return new AppendResult(version, result.AppendedCount, result.DuplicateEventIds);
    }

    /// <inheritdoc />
    public async Task<BulkAppendResult> BulkAppendAsync(string tenantId, IReadOnlyList<StreamEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ValidateId(tenantId, nameof(tenantId));
        foreach (var e in events)
        {
            ValidateId(e.StreamId, nameof(StreamEvent.StreamId));
        }

        var prepared = Prepare(events);
        return await WriteWithRetriesAsync(tenantId, prepared, null, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string tenantId, string streamId, ReadStreamOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ReadStreamOptions();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            select {Columns} from {_s}.events
            where tenant_id = $1 and stream_id = $2 and stream_version >= $3
              and ($4::bigint is null or stream_version <= $4)
              and ($5::timestamptz is null or occurred_at <= $5)
              and ($6::timestamptz is null or recorded_at <= $6)
            order by stream_version
            """, connection);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(streamId);
        command.Parameters.AddWithValue(options.FromVersion);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)options.ToVersion ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)options.OccurredUntil?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)options.RecordedUntil?.ToUniversalTime() ?? DBNull.Value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadEvent(reader);
        }
    }

    /// <inheritdoc />
    public async Task<long?> GetStreamVersionAsync(string tenantId, string streamId, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"select version from {_s}.streams where tenant_id = $1 and stream_id = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(streamId);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long version ? version : null;
    }

    /// <inheritdoc />
    public async Task<LogPage> ReadAllAsync(LogPosition after, int maxCount, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await using var command = _dataSource.CreateCommand(
            $"""
            select {ColumnsOmitting(omit, 5)} from {_s}.events
            where (tx_id, seq) > ($1, $2)
              and tx_id < pg_snapshot_xmin(pg_current_snapshot())
              and ($3::text is null or tenant_id = $3)
            order by tx_id, seq
            limit $4
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = after.TransactionId });
        command.Parameters.AddWithValue(after.Sequence);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)tenantId ?? DBNull.Value });
        command.Parameters.AddWithValue(maxCount);
        AddOmission(command, omit);
        var events = new List<RecordedEvent>(Math.Min(maxCount, 4096));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(ReadEvent(reader));
        }

        return new LogPage(events, events.Count > 0 ? events[^1].Position : after);
    }

    /// <inheritdoc />
    public async Task<LogPage> ReadAllOfTypesAsync(LogPosition after, int maxCount, IReadOnlyCollection<Type> eventTypes, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentNullException.ThrowIfNull(eventTypes);

        // The horizon comes back even when no event matches (one row of nulls), to move the position past the
        // skipped events: every transaction below it has finished, so nothing can appear below it later.
        await using var command = _dataSource.CreateCommand(
            $"""
            select p.*, h.horizon from (select pg_snapshot_xmin(pg_current_snapshot()) as horizon) h
            left join lateral (
                select {ColumnsOmitting(omit, 6)} from {_s}.events
                where (tx_id, seq) > ($1, $2)
                  and tx_id < h.horizon
                  and ($3::text is null or tenant_id = $3)
                  and type = any($5)
                order by tx_id, seq
                limit $4) p on true
            order by p.tx_id, p.seq
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = after.TransactionId });
        command.Parameters.AddWithValue(after.Sequence);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)tenantId ?? DBNull.Value });
        command.Parameters.AddWithValue(maxCount);
        command.Parameters.AddWithValue(_registry.StoredNamesOf(eventTypes));
        AddOmission(command, omit);
        var events = new List<RecordedEvent>(Math.Min(maxCount, 4096));
        ulong horizon = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                horizon = await reader.GetFieldValueAsync<ulong>(ColumnCount, cancellationToken);
                if (!await reader.IsDBNullAsync(0, cancellationToken))
                {
                    events.Add(ReadEvent(reader));
                }
            }
        }

        if (events.Count == maxCount)
        {
            return new LogPage(events, events[^1].Position);
        }

        // A short page scanned everything below the horizon: the next read starts at the horizon's transaction.
        var scanned = new LogPosition(horizon - 1, long.MaxValue);
        return new LogPage(events, scanned > after ? scanned : after);
    }

    /// <inheritdoc />
    public async Task<long> PurgeAsync(string tenantId, IReadOnlyCollection<string> eventTypes, DateTimeOffset occurredBefore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventTypes);
        await using var command = _dataSource.CreateCommand(
            $"""
            with slowest as (select tx_id, seq from {_s}.subscriptions order by tx_id, seq limit 1)
            delete from {_s}.events e
            where e.tenant_id = $1 and e.type = any($2) and e.occurred_at < $3
              and (not exists (select 1 from slowest) or (e.tx_id, e.seq) <= (select tx_id, seq from slowest))
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(eventTypes.ToArray());
        command.Parameters.AddWithValue(occurredBefore.ToUniversalTime());
        command.CommandTimeout = 0;
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string Columns = "seq, tenant_id, stream_id, stream_version, event_id, type, data::text, metadata::text, occurred_at, recorded_at, tx_id";

    private const int ColumnCount = 11;

    /// <summary>
    /// <see cref="Columns"/>, with the omitted fields removed from the data in the database (parameters
    /// <c>$first</c>: the types' stored names, <c>$first+1</c>: the fields; see <see cref="AddOmission"/>).
    /// </summary>
    private static string ColumnsOmitting(DataOmission? omit, int first) => omit is null
        ? Columns
        : Columns.Replace(", data::text,", $", (case when type = any(${first}) then data - ${first + 1}::text[] else data end)::text,", StringComparison.Ordinal);

    private void AddOmission(NpgsqlCommand command, DataOmission? omit)
    {
        if (omit is not null)
        {
            command.Parameters.AddWithValue(_registry.StoredNamesOf(omit.EventTypes));
            command.Parameters.AddWithValue(omit.Fields.ToArray());
        }
    }

    private RecordedEvent ReadEvent(NpgsqlDataReader reader)
    {
        var type = reader.GetString(5);
        var json = reader.GetString(6);
        var metadata = reader.IsDBNull(7) ? Empty : JsonSerializer.Deserialize<EventMetadata>(reader.GetString(7), MetadataJson) ?? Empty;
        var (name, data) = _registry.Deserialize(type, json);
        return new RecordedEvent(
            new LogPosition(reader.GetFieldValue<ulong>(10), reader.GetInt64(0)),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetInt64(3),
            reader.GetGuid(4),
            name,
            data,
            json,
            metadata,
            reader.GetFieldValue<DateTimeOffset>(8),
            reader.GetFieldValue<DateTimeOffset>(9));
    }

    private static readonly EventMetadata Empty = new();

    /// <summary>
    /// Checks and names each event. The JSON is written later, row by row inside the COPY (<see cref="PreparedEvent.JsonFor"/>):
    /// so the database parses the rows already sent while this process serializes the next ones, instead of
    /// waiting for a whole batch to be serialized first. A serialization failure then aborts the COPY, and the
    /// transaction writes nothing, as before.
    /// </summary>
    private List<PreparedEvent> Prepare(IEnumerable<StreamEvent> events)
    {
        var now = _clock.GetUtcNow();
        var prepared = new List<PreparedEvent>(events.TryGetNonEnumeratedCount(out var n) ? n : 16);

        // Callers usually share one metadata instance across a call's events (ingestion does): serialize it once.
        EventMetadata? lastMetadata = null;
        string? lastMetadataJson = null;
        foreach (var (streamId, e) in events)
        {
            ArgumentNullException.ThrowIfNull(e);
            if (e.EventId == Guid.Empty)
            {
                throw new ArgumentException($"An event for stream '{streamId}' has an empty event id.", nameof(events));
            }

            var typeName = _registry.NameOf(e);
            if (!ReferenceEquals(e.Metadata, lastMetadata))
            {
                lastMetadata = e.Metadata;
                lastMetadataJson = e.Metadata is null || e.Metadata.IsEmpty ? null : JsonSerializer.Serialize(e.Metadata, MetadataJson);
            }

            var metadata = lastMetadataJson;
            prepared.Add(new PreparedEvent(streamId, e, typeName, metadata, (e.OccurredAt ?? now).ToUniversalTime()));
        }

        return prepared;
    }

    private static void ValidateId(string id, string what)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new ArgumentException($"{what} must not be empty.", what);
        }

        if (id.Length > 256)
        {
            throw new ArgumentException($"{what} is longer than 256 characters.", what);
        }
    }

    private async Task<BulkAppendResult> WriteWithRetriesAsync(string tenantId, List<PreparedEvent> prepared, ExpectedVersion? expected, CancellationToken cancellationToken)
    {
        // Bulk appends skip the stored-id query at first: the unique index on (tenant_id, event_id) checks every
        // row during the COPY anyway, and querying it beforehand costs a second probe per event (about a sixth of
        // a 1M-event load). When the index does find a stored id, the transaction rolls back whole and the next
        // attempt queries first, so duplicates are still skipped and reported. Single-stream appends always
        // query first: a retried append must be recognised before its expected version is checked.
        var checkStored = expected is not null;
        var useClaims = true;
        var races = 0;
        while (true)
        {
            // Appends with an expected version reserve with locks; bulk appends claim versions (see StreamVersionClaims).
            var claims = await _claims.EnterAsync(locks: expected is not null || !useClaims, cancellationToken);
            try
            {
                return await WriteAsync(tenantId, prepared, expected, checkStored, claims, cancellationToken);
            }
            catch (StaleStreamVersionsException)
            {
                // A stream was not at the version this store handed out (another writer moved it, an append before
                // this one failed, or the tables were emptied). Nothing was written; reserve with locks.
                useClaims = false;
            }
            catch (PostgresException ex) when (IsRetryable(ex) && (!checkStored || races < _options.DuplicateRaceRetries))
            {
                // Either the optimistic COPY met a stored id, or a concurrent call stored one of these ids (or took
                // stream locks in another order) between our query and our COPY. Nothing was written; go again.
                races += checkStored ? 1 : 0;
                checkStored = true;
            }
            finally
            {
                _claims.Exit();
            }
        }

        static bool IsRetryable(PostgresException ex) =>
            (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "events_event_id")
            || ex.SqlState == PostgresErrorCodes.DeadlockDetected;
    }

    private async Task<BulkAppendResult> WriteAsync(string tenantId, List<PreparedEvent> prepared, ExpectedVersion? expected, bool checkStored, bool useClaims, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        var stored = prepared.Count == 0 || !checkStored ? [] : await FindStoredIdsAsync(connection, tx, tenantId, prepared, cancellationToken);
        var duplicates = new List<Guid>();
        var seen = new HashSet<Guid>(prepared.Count);
        var toWrite = new List<PreparedEvent>(prepared.Count);
        foreach (var e in prepared)
        {
            if (stored.Contains(e.EventId) || !seen.Add(e.EventId))
            {
                duplicates.Add(e.EventId);
            }
            else
            {
                toWrite.Add(e);
            }
        }

        if (toWrite.Count == 0)
        {
            await tx.CommitAsync(cancellationToken);
            return new BulkAppendResult(0, duplicates, new Dictionary<string, long>());
        }

        // The JSON of the events is made on another thread meanwhile, ahead of the COPY loop that writes it: the
        // COPY then streams rows as fast as PostgreSQL takes them instead of making each one in between.
        using var stopAhead = new CancellationTokenSource();
        var ahead = toWrite.Count >= SerializeAheadFrom ? Task.Run(() => SerializeAhead(toWrite, stopAhead.Token), CancellationToken.None) : Task.CompletedTask;
        try
        {
            return await ReserveCopyCommitAsync(connection, tx, tenantId, toWrite, duplicates, expected, useClaims, cancellationToken);
        }
        finally
        {
            await stopAhead.CancelAsync();
            await ahead;
        }
    }

    // Smaller appends serialize in the COPY loop: starting a task would cost more than it saves.
    private const int SerializeAheadFrom = 256;

    /// <summary>Makes each event's JSON in order until done, stopped, caught up with, or failed (a failure is the COPY loop's to report).</summary>
    private void SerializeAhead(List<PreparedEvent> events, CancellationToken stop)
    {
        foreach (var e in events)
        {
            if (stop.IsCancellationRequested || !e.TrySerializeAhead(_registry))
            {
                return;
            }
        }
    }

    private async Task<BulkAppendResult> ReserveCopyCommitAsync(
        NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, List<PreparedEvent> toWrite, List<Guid> duplicates, ExpectedVersion? expected, bool useClaims, CancellationToken cancellationToken)
    {
        // Count per stream in first-seen order.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in toWrite)
        {
            counts[e.StreamId] = counts.GetValueOrDefault(e.StreamId) + 1;
        }

        if (expected is null && useClaims)
        {
            return await ClaimCopyCheckCommitAsync(connection, tx, tenantId, toWrite, duplicates, counts, cancellationToken);
        }

        // Reserve versions first (after the streams' order locks), locking the streams' rows through the COPY and the commit.
        var versions = expected is { } exp
            ? await ReserveOneAsync(connection, tx, tenantId, toWrite[0].StreamId, toWrite.Count, exp, cancellationToken)
            : await ReserveManyAsync(connection, tx, tenantId, counts, cancellationToken);
        await CopyAsync(connection, tenantId, toWrite, counts, versions, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        _claims.Remember(tenantId, versions);
        return new BulkAppendResult(toWrite.Count, duplicates, versions);
    }

    /// <summary>
    /// A bulk append that numbers its events from versions handed out in-process (<see cref="StreamVersionClaims"/>),
    /// COPYs them, and only then locks the streams' rows, moving each from the version it was handed to its new one
    /// where the row is still at that version; any other row state throws <see cref="StaleStreamVersionsException"/>
    /// and nothing is written. So an append's COPY does not wait for the commit of the append before it, which holds
    /// those rows until then: two group commits can be in flight, one copying while the other commits. Reserving
    /// first and reading the versions back took a third of a group commit's time in the ingest benchmark.
    /// </summary>
    private async Task<BulkAppendResult> ClaimCopyCheckCommitAsync(
        NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, List<PreparedEvent> toWrite, List<Guid> duplicates, Dictionary<string, int> counts, CancellationToken cancellationToken)
    {
        StreamVersionClaims.Claim? claim;
        using (await _claims.EnterNumberingAsync(cancellationToken))
        {
            // The stored versions it lacks, then this transaction's id, then its claim, one append at a time: claims
            // are handed out in the order of the log.
            var unknown = _claims.Unknown(tenantId, counts);
            var stored = await StartNumberingAsync(connection, tx, tenantId, counts, unknown, cancellationToken);

            // No claim: a failed append forgot a tail read as known a moment ago; the appends in flight drain, and
            // this one retries (with locks, as after any stale guess) having written nothing.
            claim = _claims.Take(tenantId, counts, stored) ?? throw new StaleStreamVersionsException();
        }

        var (committed, stale) = (false, false);
        try
        {
            var versions = new Dictionary<string, long>(counts.Count, StringComparer.Ordinal);
            for (var i = 0; i < claim.Streams.Length; i++)
            {
                versions[claim.Streams[i]] = claim.After[i];
            }

            try
            {
                await CopyAsync(connection, tenantId, toWrite, counts, versions, cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "events_stream_version")
            {
                // Another writer has stored events at versions handed out here: the same as a row found elsewhere.
                throw new StaleStreamVersionsException();
            }

            await claim.WaitForPreviousAsync(cancellationToken);
            await CheckClaimAsync(connection, tx, claim, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            committed = true;
            return new BulkAppendResult(toWrite.Count, duplicates, versions);
        }
        catch (StaleStreamVersionsException)
        {
            stale = true;
            throw;
        }
        finally
        {
            _claims.Finish(claim, committed, stale);
        }
    }

    /// <summary>
    /// In one round trip: takes the shared order locks of the claim's streams (<paramref name="counts"/>), reads the
    /// stored versions of <paramref name="streamIds"/> (0 for a stream without a row) without locking, then gives the
    /// transaction its id (<c>pg_current_xact_id()</c> assigns one). In that order: every append whose version was
    /// read, or that held the locks exclusive before, had committed, so its transaction id is below this one's.
    /// </summary>
    private async Task<Dictionary<string, long>> StartNumberingAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, Dictionary<string, int> counts, List<string> streamIds, CancellationToken cancellationToken)
    {
        var versions = streamIds.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        await using var batch = new NpgsqlBatch(connection, tx) { BatchCommands = { OrderLocks(tenantId, counts.Keys, shared: true) } };
        if (streamIds.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"select stream_id, version from {_s}.streams where tenant_id = $1 and stream_id = any($2)")
            {
                Parameters = { new() { Value = tenantId }, new() { Value = streamIds.ToArray() } },
            });
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("select pg_current_xact_id()"));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (streamIds.Count > 0 && await reader.NextResultAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                versions[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return versions;
    }

    /// <summary>
    /// <paramref name="reserve"/> after the exclusive order locks of <paramref name="streamIds"/>, in one round trip:
    /// an append that locks its streams' rows first takes the order locks before its first write, so it gets its
    /// transaction id only once no other append on them is in flight. Its reader's results start with the locks'.
    /// </summary>
    private NpgsqlBatch AfterOrderLocks(NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, IEnumerable<string> streamIds, NpgsqlBatchCommand reserve) =>
        new(connection, tx) { BatchCommands = { OrderLocks(tenantId, streamIds, shared: false), reserve } };

    /// <summary>Takes the order locks of <paramref name="streamIds"/> (<see cref="StreamOrderLocks"/>) for the rest of the transaction.</summary>
    private NpgsqlBatchCommand OrderLocks(string tenantId, IEnumerable<string> streamIds, bool shared) =>
        new(StreamOrderLocks.Sql(shared)) { Parameters = { new() { Value = _orderLockSpace }, new() { Value = StreamOrderLocks.BucketsOf(tenantId, streamIds) } } };

    /// <summary>
    /// Moves each claimed stream's row from the version it was handed to its new one (creating the rows of new
    /// streams), locking the rows in stream-id order like <see cref="ReserveManyAsync"/>; throws
    /// <see cref="StaleStreamVersionsException"/> unless every row was where the claim expected it, last written by
    /// a transaction before this one (else this append's events would come before that one's in the log, though
    /// numbered after them: possible when another process moved the row to exactly the version expected here).
    /// </summary>
    private async Task CheckClaimAsync(NpgsqlConnection connection, NpgsqlTransaction tx, StreamVersionClaims.Claim claim, CancellationToken cancellationToken)
    {
        var (moved, from, to) = (new List<string>(claim.Streams.Length), new List<long>(claim.Streams.Length), new List<long>(claim.Streams.Length));
        var (created, createdAt) = (new List<string>(), new List<long>());
        for (var i = 0; i < claim.Streams.Length; i++)
        {
            if (claim.Before[i] == 0)
            {
                created.Add(claim.Streams[i]);
                createdAt.Add(claim.After[i]);
            }
            else
            {
                moved.Add(claim.Streams[i]);
                from.Add(claim.Before[i]);
                to.Add(claim.After[i]);
            }
        }

        await using var batch = new NpgsqlBatch(connection, tx);
        if (moved.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                update {_s}.streams as s set version = u.after, updated_at = now(), tx_id = pg_current_xact_id()
                from (select * from unnest($2::text[], $3::bigint[], $4::bigint[]) as x(stream_id, before, after) order by stream_id collate "C") as u
                where s.tenant_id = $1 and s.stream_id = u.stream_id and s.version = u.before
                  and (s.tx_id is null or s.tx_id < pg_current_xact_id())
                """)
            {
                Parameters = { new() { Value = claim.TenantId }, new() { Value = moved.ToArray() }, new() { Value = from.ToArray() }, new() { Value = to.ToArray() } },
            });
        }

        if (created.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                insert into {_s}.streams (tenant_id, stream_id, version, tx_id)
                select $1, u.stream_id, u.version, pg_current_xact_id() from unnest($2::text[], $3::bigint[]) as u(stream_id, version)
                order by u.stream_id collate "C"
                on conflict (tenant_id, stream_id) do nothing
                """)
            {
                Parameters = { new() { Value = claim.TenantId }, new() { Value = created.ToArray() }, new() { Value = createdAt.ToArray() } },
            });
        }

        // Each statement touches a stream's row at most once, so all are where expected only if every one was.
        if (await batch.ExecuteNonQueryAsync(cancellationToken) != claim.Streams.Length)
        {
            throw new StaleStreamVersionsException();
        }
    }

    /// <summary>Writes <paramref name="toWrite"/> numbered up to each stream's final version in <paramref name="versions"/>.</summary>
    private async Task CopyAsync(NpgsqlConnection connection, string tenantId, List<PreparedEvent> toWrite, Dictionary<string, int> counts, Dictionary<string, long> versions, CancellationToken cancellationToken)
    {
        // Next version to hand out per stream = final version - count + 1.
        var next = new Dictionary<string, long>(counts.Count, StringComparer.Ordinal);
        foreach (var (stream, count) in counts)
        {
            next[stream] = versions[stream] - count + 1;
        }

        await using (var importer = await connection.BeginBinaryImportAsync(
            $"copy {_s}.events (tenant_id, stream_id, stream_version, event_id, type, data, metadata, occurred_at) from stdin (format binary)", cancellationToken))
        {
            foreach (var e in toWrite)
            {
                var version = next[e.StreamId]++;
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(tenantId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.StreamId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(version, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.EventId, NpgsqlDbType.Uuid, cancellationToken);
                await importer.WriteAsync(e.TypeName, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.JsonFor(_registry), NpgsqlDbType.Jsonb, cancellationToken);
                if (e.MetadataJson is null)
                {
                    await importer.WriteNullAsync(cancellationToken);
                }
                else
                {
                    await importer.WriteAsync(e.MetadataJson, NpgsqlDbType.Jsonb, cancellationToken);
                }

                await importer.WriteAsync(e.OccurredAt, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }
    }

    private async Task<HashSet<Guid>> FindStoredIdsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, List<PreparedEvent> prepared, CancellationToken cancellationToken)
    {
        var ids = new Guid[prepared.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = prepared[i].EventId;
        }

        await using var command = new NpgsqlCommand($"select event_id from {_s}.events where tenant_id = $1 and event_id = any($2)", connection, tx);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(ids);
        var stored = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(reader.GetGuid(0));
        }

        return stored;
    }

    private async Task<Dictionary<string, long>> ReserveManyAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, Dictionary<string, int> counts, CancellationToken cancellationToken)
    {
        // Rows are locked in stream-id order so that concurrent bulk appends cannot deadlock on each other.
        var command = new NpgsqlBatchCommand(
            $"""
            insert into {_s}.streams as s (tenant_id, stream_id, version, tx_id)
            select $1, u.stream_id, u.n, pg_current_xact_id() from unnest($2::text[], $3::bigint[]) as u(stream_id, n)
            order by u.stream_id collate "C"
            on conflict (tenant_id, stream_id) do update set version = s.version + excluded.version, updated_at = now(), tx_id = excluded.tx_id
            returning stream_id, version
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(counts.Keys.ToArray());
        command.Parameters.AddWithValue(counts.Values.Select(c => (long)c).ToArray());
        var versions = new Dictionary<string, long>(counts.Count, StringComparer.Ordinal);
        await using var batch = AfterOrderLocks(connection, tx, tenantId, counts.Keys, command);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions[reader.GetString(0)] = reader.GetInt64(1);
        }

        return versions;
    }

    private async Task<Dictionary<string, long>> ReserveOneAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string tenantId, string streamId, int count, ExpectedVersion expected, CancellationToken cancellationToken)
    {
        string sql;
        if (expected == ExpectedVersion.Any)
        {
            sql = $"""
                insert into {_s}.streams as s (tenant_id, stream_id, version, tx_id) values ($1, $2, $3, pg_current_xact_id())
                on conflict (tenant_id, stream_id) do update set version = s.version + excluded.version, updated_at = now(), tx_id = excluded.tx_id
                returning version
                """;
        }
        else if (expected == ExpectedVersion.NoStream)
        {
            sql = $"insert into {_s}.streams (tenant_id, stream_id, version, tx_id) values ($1, $2, $3, pg_current_xact_id()) on conflict (tenant_id, stream_id) do nothing returning version";
        }
        else
        {
            sql = $"update {_s}.streams set version = version + $3, updated_at = now(), tx_id = pg_current_xact_id() where tenant_id = $1 and stream_id = $2 and version = $4 returning version";
        }

        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(streamId);
        command.Parameters.AddWithValue((long)count);
        if (expected.Value >= 0)
        {
            command.Parameters.AddWithValue(expected.Value);
        }

        await using (var batch = AfterOrderLocks(connection, tx, tenantId, [streamId], command))
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return new Dictionary<string, long>(StringComparer.Ordinal) { [streamId] = reader.GetInt64(0) };
            }
        }

        await using var current = new NpgsqlCommand($"select version from {_s}.streams where tenant_id = $1 and stream_id = $2", connection, tx);
        current.Parameters.AddWithValue(tenantId);
        current.Parameters.AddWithValue(streamId);
        var actual = await current.ExecuteScalarAsync(cancellationToken) as long?;
        throw new ConcurrencyException(tenantId, streamId, expected, actual);
    }

    /// <summary>
    /// An event checked for appending; its JSON is made once, by the COPY loop or ahead of it on another thread
    /// (<see cref="TrySerializeAhead"/>), never by both at once (event data such as a JsonObject is not safe to read
    /// from two threads), and kept: a retried append reuses it.
    /// </summary>
    private sealed class PreparedEvent(string streamId, NewEvent e, string typeName, string? metadataJson, DateTimeOffset occurredAt)
    {
        private const int Untouched = 0;
        private const int Busy = 1;
        private const int Done = 2;

        private int _state;
        private string? _json;

        public string StreamId { get; } = streamId;

        public Guid EventId => e.EventId;

        public string TypeName { get; } = typeName;

        public string? MetadataJson { get; } = metadataJson;

        public DateTimeOffset OccurredAt { get; } = occurredAt;

        /// <summary>The event's JSON: made now, or waited for if the thread ahead is making it.</summary>
        public string JsonFor(EventTypeRegistry registry)
        {
            var spin = new SpinWait();
            while (true)
            {
                switch (Interlocked.CompareExchange(ref _state, Busy, Untouched))
                {
                    case Done:
                        return _json!;
                    case Untouched:
                        return Make(registry);
                    default:
                        spin.SpinOnce();
                        break;
                }
            }
        }

        /// <summary>Makes the JSON unless it is made or being made; false when the caller should stop going ahead.</summary>
        public bool TrySerializeAhead(EventTypeRegistry registry)
        {
            if (Interlocked.CompareExchange(ref _state, Busy, Untouched) != Untouched)
            {
                // The COPY loop has caught up (or this one is made already): nothing left to gain ahead of it.
                return Volatile.Read(ref _state) == Done;
            }

            try
            {
                Make(registry);
                return true;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Whatever it is, it is left to the COPY loop, which makes this one again and reports the failure in
                // order, as if nothing had gone ahead.
                return false;
            }
        }

        private string Make(EventTypeRegistry registry)
        {
            try
            {
                _json = registry.SerializeData(e, TypeName);
                Volatile.Write(ref _state, Done);
                return _json;
            }
            catch
            {
                Volatile.Write(ref _state, Untouched);
                throw;
            }
        }
    }
}

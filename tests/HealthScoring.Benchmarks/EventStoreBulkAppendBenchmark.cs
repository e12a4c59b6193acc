using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Schema;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// <see cref="PostgresEventStore.BulkAppendAsync"/> against psql's <c>\copy</c> of the very same rows (CSV) into
/// a table of the same shape, defaults and indexes, both in one fresh schema that is dropped afterwards.
/// </summary>
public sealed class EventStoreBulkAppendBenchmark : IBenchmark
{
    private const string Tenant = "bench";
    private const int Seed = 20_261_121;
    private const string ReferenceName = "psql \\copy (csv)";
    private const string CopyColumns = "tenant_id, stream_id, stream_version, event_id, type, data, metadata, occurred_at";

    private static readonly DateTimeOffset FirstDay = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Spread = TimeSpan.FromDays(180);
    private static readonly string[] UsageKinds =
        ["login", "report_viewed", "dashboard_opened", "export_created", "api_call", "seat_added", "alert_acknowledged", "integration_synced"];

    // The store's metadata options (PostgresEventStore.MetadataJson, private there): the reference must load the same text.
    private static readonly JsonSerializerOptions MetadataJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Name => "eventstore.bulk_append";

    public string Description => "PostgresEventStore.BulkAppendAsync vs psql \\copy (csv) of the same rows, in a fresh schema";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options;
        var log = context.Log;
        var schema = string.Create(CultureInfo.InvariantCulture, $"bench_{DateTime.UtcNow:yyyyMMdd_HHmmss}_{Environment.ProcessId}");
        var orderText = options.Order == RunOrder.ReferenceFirst ? "reference (psql) first, then ours" : "ours first, then reference (psql)";
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {options.Events:N0} events over {options.Streams:N0} streams, batch size {options.BatchSize:N0} events per BulkAppendAsync call, order: {orderText}"));
        log.Info($"  database {BenchConnection.Describe(context.ConnectionString)}, schema {schema} (dropped at the end)");

        var input = Generate(options.Events, options.Streams, log);

        var builder = new NpgsqlConnectionStringBuilder(context.ConnectionString) { ApplicationName = "healthscoring-bench" };
        builder.CommandTimeout = Math.Max(builder.CommandTimeout, 600);
        var storeOptions = new EventStoreOptions { Schema = schema };
        var registry = new EventTypeRegistry().Register<UsageRecorded>();
        var csv = Path.Combine(Path.GetTempPath(), $"{schema}_ref_events.csv");
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try
        {
            await new SchemaMigrator(dataSource, storeOptions).MigrateAsync(cancellationToken);
            await ExecuteAsync(dataSource, $"create table {schema}.ref_events (like {schema}.events including all)", cancellationToken);
            var store = new PostgresEventStore(dataSource, registry, storeOptions);

            var sw = Stopwatch.StartNew();
            WriteCsv(csv, input, registry);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  reference input: {csv} ({new FileInfo(csv).Length / (1024.0 * 1024.0):F0} MB CSV, written in {sw.Elapsed.TotalSeconds:F1}s, not timed; working set now {Environment.WorkingSet / (1024.0 * 1024.0):F0} MB)"));

            Measurement reference, ours;
            if (options.Order == RunOrder.ReferenceFirst)
            {
                reference = await RunReferenceAsync(dataSource, builder, schema, csv, input.Events.Length, log, cancellationToken);
                await SettleAsync(dataSource, $"{schema}.ref_events", log, cancellationToken);
                ours = await RunOursAsync(dataSource, store, input, options.BatchSize, log, cancellationToken);
            }
            else
            {
                ours = await RunOursAsync(dataSource, store, input, options.BatchSize, log, cancellationToken);
                await SettleAsync(dataSource, $"{schema}.events", log, cancellationToken);
                reference = await RunReferenceAsync(dataSource, builder, schema, csv, input.Events.Length, log, cancellationToken);
            }

            await VerifyAsync(dataSource, schema, input, log, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  ours {ours.Rate:N0} events/s ({ours.Elapsed.TotalSeconds:F2}s), psql \\copy {reference.Rate:N0} events/s ({reference.Elapsed.TotalSeconds:F2}s): ratio {ours.Rate / reference.Rate:F2}"));
            return [BenchmarkResult.Compared(Name, ours.Rate, "events/s", ReferenceName, reference.Rate)];
        }
        finally
        {
            File.Delete(csv);
            try
            {
                // Not cancellable: the schema must go even when the run was interrupted.
                await ExecuteAsync(dataSource, $"drop schema if exists {schema} cascade", CancellationToken.None);
            }
            catch (NpgsqlException ex)
            {
                log.Info($"  warning: could not drop schema {schema}: {ex.Message}");
            }
        }
    }

    /// <summary>The input, built before any timer starts.</summary>
    /// <param name="Events">The events in append order.</param>
    /// <param name="Versions">The stream version each event gets (the store numbers a stream's events from 1 in append order).</param>
    /// <param name="StreamIds">All stream ids.</param>
    /// <param name="StreamVersions">Each stream's final version.</param>
    private sealed record Input(StreamEvent[] Events, long[] Versions, string[] StreamIds, long[] StreamVersions);

    private readonly record struct Measurement(TimeSpan Elapsed, int Count, long Checkpoints)
    {
        public double Rate => Count / Elapsed.TotalSeconds;
    }

    private static Input Generate(int count, int streams, ProgressLog log)
    {
        var sw = Stopwatch.StartNew();
        var random = new Random(Seed);
        var streamIds = new string[streams];
        var users = new string[streams][];
        for (var s = 0; s < streams; s++)
        {
            streamIds[s] = string.Create(CultureInfo.InvariantCulture, $"account-{s + 1:D5}");
            users[s] = new string[1 + random.Next(8)];
            for (var u = 0; u < users[s].Length; u++)
            {
                users[s][u] = string.Create(CultureInfo.InvariantCulture, $"user-{s + 1:D5}-{u + 1:D2}");
            }
        }

        // Every stream gets count/streams events (the first count%streams one more), in shuffled order.
        var streamOf = new int[count];
        for (var i = 0; i < count; i++)
        {
            streamOf[i] = i % streams;
        }

        random.Shuffle(streamOf);

        var metadata = new EventMetadata(Source: "bench");
        var slot = Spread.Ticks / count;
        var events = new StreamEvent[count];
        var versions = new long[count];
        var streamVersions = new long[streams];
        Span<byte> id = stackalloc byte[16];
        for (var i = 0; i < count; i++)
        {
            var s = streamOf[i];
            random.NextBytes(id);
            id[7] = (byte)((id[7] & 0x0F) | 0x40); // a well-formed version 4 (random) UUID
            id[8] = (byte)((id[8] & 0x3F) | 0x80);
            var ticks = (slot * i) + random.NextInt64(slot);
            var occurredAt = FirstDay.AddTicks(ticks - (ticks % 10)); // whole microseconds, as PostgreSQL keeps them
            var user = users[s][random.Next(users[s].Length)];
            var data = new UsageRecorded(UsageKinds[random.Next(UsageKinds.Length)], user, 1 + random.Next(50));
            events[i] = new StreamEvent(streamIds[s], new NewEvent(new Guid(id), data, metadata, occurredAt));
            versions[i] = ++streamVersions[s];
            if ((i + 1) % 100_000 == 0 || i + 1 == count)
            {
                log.Report("generating", i + 1, count, sw.Elapsed);
            }
        }

        return new Input(events, versions, streamIds, streamVersions);
    }

    private static void WriteCsv(string path, Input input, EventTypeRegistry registry)
    {
        if (!registry.TryGetName(typeof(UsageRecorded), out var typeName))
        {
            throw new InvalidOperationException("UsageRecorded is not registered.");
        }

        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        for (var i = 0; i < input.Events.Length; i++)
        {
            var (streamId, e) = input.Events[i];
            var data = JsonSerializer.Serialize(e.Data, e.Data.GetType(), registry.JsonOptions);
            var metadata = e.Metadata is null || e.Metadata.IsEmpty ? null : JsonSerializer.Serialize(e.Metadata, MetadataJson);
            Field(writer, Tenant).Write(',');
            Field(writer, streamId).Write(',');
            writer.Write(input.Versions[i].ToString(CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(e.EventId.ToString("D"));
            writer.Write(',');
            Field(writer, typeName).Write(',');
            Field(writer, data).Write(',');
            if (metadata is not null)
            {
                Field(writer, metadata); // an empty unquoted field is NULL in CSV
            }

            writer.Write(',');
            writer.Write(e.OccurredAt!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture));
            writer.Write('\n');
        }
    }

    private static StreamWriter Field(StreamWriter writer, string value)
    {
        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
        return writer;
    }

    private static async Task<Measurement> RunReferenceAsync(NpgsqlDataSource dataSource, NpgsqlConnectionStringBuilder builder, string schema, string csv, int count, ProgressLog log, CancellationToken cancellationToken)
    {
        if (csv.Contains('\'', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The temporary file path {csv} contains a quote; set TMPDIR to another directory.");
        }

        var start = new ProcessStartInfo("psql")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", $"\\copy {schema}.ref_events ({CopyColumns}) from '{csv}' with (format csv)" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGHOST"] = builder.Host;
        start.Environment["PGPORT"] = builder.Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["PGUSER"] = builder.Username;
        start.Environment["PGPASSWORD"] = builder.Password;
        start.Environment["PGDATABASE"] = builder.Database;
        start.Environment["PGAPPNAME"] = "healthscoring-bench-reference";

        var checkpoints = await CheckpointCountAsync(dataSource, cancellationToken);
        log.Info($"  reference: psql \\copy {count:N0} rows ...");
        CollectGarbage();
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start psql.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        sw.Stop();
        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql \\copy failed with exit code {process.ExitCode}: {output.Trim()}");
        }

        var measurement = new Measurement(sw.Elapsed, count, await CheckpointCountAsync(dataSource, cancellationToken) - checkpoints);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  reference: {count:N0} rows in {sw.Elapsed.TotalSeconds:F2}s = {measurement.Rate:N0} events/s (checkpoints during the run: {measurement.Checkpoints})"));
        return measurement;
    }

    private static async Task<Measurement> RunOursAsync(NpgsqlDataSource dataSource, PostgresEventStore store, Input input, int batchSize, ProgressLog log, CancellationToken cancellationToken)
    {
        var events = input.Events;
        var calls = (events.Length + batchSize - 1) / batchSize;
        var checkpoints = await CheckpointCountAsync(dataSource, cancellationToken);
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  ours: BulkAppendAsync, {calls} call(s) of up to {batchSize:N0} events ..."));
        CollectGarbage();
        var sw = Stopwatch.StartNew();
        for (var offset = 0; offset < events.Length; offset += batchSize)
        {
            var batch = new ArraySegment<StreamEvent>(events, offset, Math.Min(batchSize, events.Length - offset));
            var result = await store.BulkAppendAsync(Tenant, batch, cancellationToken);
            if (result.AppendedCount != batch.Count || result.DuplicateEventIds.Count != 0)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"BulkAppendAsync at offset {offset} appended {result.AppendedCount} of {batch.Count} events ({result.DuplicateEventIds.Count} reported as duplicates)."));
            }

            log.Report("ours: appended", offset + batch.Count, events.Length, sw.Elapsed);
        }

        sw.Stop();
        var measurement = new Measurement(sw.Elapsed, events.Length, await CheckpointCountAsync(dataSource, cancellationToken) - checkpoints);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  ours: {events.Length:N0} events in {sw.Elapsed.TotalSeconds:F2}s = {measurement.Rate:N0} events/s (checkpoints during the run: {measurement.Checkpoints}; working set now {Environment.WorkingSet / (1024.0 * 1024.0):F0} MB)"));
        return measurement;
    }

    /// <summary>
    /// Lets the server catch up with the first side's writes before the second starts: vacuum (so autovacuum does
    /// not start on them mid-run) and, where allowed, a checkpoint (so the second side does not pay for flushing them).
    /// </summary>
    private static async Task SettleAsync(NpgsqlDataSource dataSource, string table, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        await ExecuteAsync(dataSource, $"vacuum (analyze) {table}", cancellationToken);
        string checkpoint;
        try
        {
            await ExecuteAsync(dataSource, "checkpoint", cancellationToken);
            checkpoint = "checkpoint done";
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            checkpoint = "checkpoint skipped (needs superuser or pg_checkpoint)";
        }

        log.Info(string.Create(CultureInfo.InvariantCulture, $"  between runs: vacuum analyze {table}; {checkpoint} ({sw.Elapsed.TotalSeconds:F1}s)"));
    }

    private static async Task VerifyAsync(NpgsqlDataSource dataSource, string schema, Input input, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var expected = input.Events.Length;
        var failures = new List<string>();

        var events = await ScalarAsync(dataSource, $"select count(*) from {schema}.events where tenant_id = '{Tenant}'", cancellationToken);
        if (events != expected)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"events holds {events:N0} rows, expected {expected:N0}"));
        }

        var expectedVersions = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var s = 0; s < input.StreamIds.Length; s++)
        {
            expectedVersions[input.StreamIds[s]] = input.StreamVersions[s];
        }

        var streams = 0;
        var wrong = new List<string>();
        await using (var command = dataSource.CreateCommand($"select stream_id, version from {schema}.streams where tenant_id = '{Tenant}'"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                streams++;
                var id = reader.GetString(0);
                var version = reader.GetInt64(1);
                if (!expectedVersions.TryGetValue(id, out var want) || want != version)
                {
                    wrong.Add(string.Create(CultureInfo.InvariantCulture, $"{id} at {version} (expected {(want == 0 ? "no such stream" : want.ToString(CultureInfo.InvariantCulture))})"));
                }
            }
        }

        if (streams != input.StreamIds.Length)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"streams holds {streams:N0} rows, expected {input.StreamIds.Length:N0}"));
        }

        if (wrong.Count > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{wrong.Count:N0} stream(s) at the wrong version, e.g. {string.Join("; ", wrong.Take(3))}"));
        }

        var gappy = await ScalarAsync(dataSource,
            $"select count(*) from (select 1 from {schema}.events group by tenant_id, stream_id having min(stream_version) <> 1 or max(stream_version) <> count(*)) g",
            cancellationToken);
        if (gappy != 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{gappy:N0} stream(s) whose events are not numbered 1..n"));
        }

        // Both sides must have stored the same rows, or the comparison means nothing.
        var reference = await ScalarAsync(dataSource, $"select count(*) from {schema}.ref_events", cancellationToken);
        var same = await ScalarAsync(dataSource,
            $"""
            select count(*) from {schema}.events e join {schema}.ref_events r
              on r.tenant_id = e.tenant_id and r.event_id = e.event_id and r.stream_id = e.stream_id and r.stream_version = e.stream_version
             and r.type = e.type and r.data = e.data and r.metadata is not distinct from e.metadata and r.occurred_at = e.occurred_at
            """,
            cancellationToken);
        if (reference != expected || same != expected)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"ref_events holds {reference:N0} rows of which {same:N0} equal ours, expected {expected:N0}"));
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException($"Verification failed: {string.Join("; ", failures)}.");
        }

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  verified: {events:N0} events, {streams:N0} streams at their expected versions, versions 1..n per stream, psql's {reference:N0} rows identical ({sw.Elapsed.TotalSeconds:F1}s)"));
    }

    /// <summary>Starts a timed section from a collected heap, so that it does not pay for the generator's garbage.</summary>
    private static void CollectGarbage()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    private static async Task<long> CheckpointCountAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        await ScalarAsync(dataSource, "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter", cancellationToken);

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>The benchmark's event: small (≈ 70 bytes of JSON), like most usage events.</summary>
public sealed record UsageRecorded(string Event, string UserId, int Count);

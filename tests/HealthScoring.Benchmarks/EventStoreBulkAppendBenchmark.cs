using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Schema;
using HealthScoring.Testing;
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

    private static readonly DateTimeOffset FirstDay = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Spread = TimeSpan.FromDays(180);
    private static readonly string[] UsageKinds =
        ["login", "report_viewed", "dashboard_opened", "export_created", "api_call", "seat_added", "alert_acknowledged", "integration_synced"];

    /// <summary>The benchmark's name, for <c>--only</c>.</summary>
    public const string BenchmarkName = "eventstore.bulk_append";

    public string Name => BenchmarkName;

    public string Description => "PostgresEventStore.BulkAppendAsync vs psql \\copy (csv) of the same rows, in a fresh schema";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options;
        var log = context.Log;
        var schema = BenchDatabase.NewSchemaName();
        var orderText = options.Order == RunOrder.ReferenceFirst ? "reference (psql) first, then ours" : "ours first, then reference (psql)";
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {options.Events:N0} events over {options.Streams:N0} streams, batch size {options.BatchSize:N0} events per BulkAppendAsync call, order: {orderText}"));
        log.Info($"  database {BenchConnection.Describe(context.ConnectionString)}, schema {schema} (dropped at the end)");

        var input = Generate(options.Events, options.Streams, log);

        var builder = BenchDatabase.Builder(context.ConnectionString);
        var storeOptions = new EventStoreOptions { Schema = schema };
        var registry = new EventTypeRegistry().Register<UsageRecorded>();
        var csv = Path.Combine(Path.GetTempPath(), $"{schema}_ref_events.csv");
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try
        {
            await new SchemaMigrator(dataSource, storeOptions).MigrateAsync(cancellationToken);
            var referenceTable = await PsqlCopy.CreateReferenceTableAsync(dataSource, schema, cancellationToken);
            var store = new PostgresEventStore(dataSource, registry, storeOptions);

            var sw = Stopwatch.StartNew();
            WriteCsv(csv, input, registry);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  reference input: {csv} ({new FileInfo(csv).Length / (1024.0 * 1024.0):F0} MB CSV, written in {sw.Elapsed.TotalSeconds:F1}s, not timed; working set now {Environment.WorkingSet / (1024.0 * 1024.0):F0} MB)"));

            Measurement reference, ours;
            if (options.Order == RunOrder.ReferenceFirst)
            {
                reference = await PsqlCopy.RunAsync(dataSource, builder, referenceTable, csv, input.Events.Length, log, cancellationToken);
                await BenchDatabase.SettleAsync(dataSource, referenceTable, log, cancellationToken);
                ours = await RunOursAsync(dataSource, store, input, options.BatchSize, log, cancellationToken);
            }
            else
            {
                ours = await RunOursAsync(dataSource, store, input, options.BatchSize, log, cancellationToken);
                await BenchDatabase.SettleAsync(dataSource, $"{schema}.events", log, cancellationToken);
                reference = await PsqlCopy.RunAsync(dataSource, builder, referenceTable, csv, input.Events.Length, log, cancellationToken);
            }

            await VerifyAsync(dataSource, schema, input, log, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  ours {ours.Rate:N0} events/s ({ours.Elapsed.TotalSeconds:F2}s), psql \\copy {reference.Rate:N0} events/s ({reference.Elapsed.TotalSeconds:F2}s): ratio {ours.Rate / reference.Rate:F2}"));
            return [BenchmarkResult.Compared(Name, ours.Rate, "events/s", PsqlCopy.ReferenceName, reference.Rate)];
        }
        finally
        {
            File.Delete(csv);
            await BenchDatabase.DropSchemaAsync(dataSource, schema, log);
        }
    }

    /// <summary>The input, built before any timer starts.</summary>
    /// <param name="Events">The events in append order.</param>
    /// <param name="Versions">The stream version each event gets (the store numbers a stream's events from 1 in append order).</param>
    /// <param name="StreamIds">All stream ids.</param>
    /// <param name="StreamVersions">Each stream's final version.</param>
    private sealed record Input(StreamEvent[] Events, long[] Versions, string[] StreamIds, long[] StreamVersions);

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

        using var writer = new EventCsvWriter(path);
        for (var i = 0; i < input.Events.Length; i++)
        {
            var (streamId, e) = input.Events[i];
            var data = JsonSerializer.Serialize(e.Data, e.Data.GetType(), registry.JsonOptions);
            var metadata = e.Metadata is null || e.Metadata.IsEmpty ? null : JsonSerializer.Serialize(e.Metadata, PsqlCopy.MetadataJson);
            writer.Write(Tenant, streamId, input.Versions[i], e.EventId, typeName, data, metadata, e.OccurredAt!.Value);
        }
    }

    private static async Task<Measurement> RunOursAsync(NpgsqlDataSource dataSource, PostgresEventStore store, Input input, int batchSize, ProgressLog log, CancellationToken cancellationToken)
    {
        var events = input.Events;
        var calls = (events.Length + batchSize - 1) / batchSize;
        var checkpoints = await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken);
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  ours: BulkAppendAsync, {calls} call(s) of up to {batchSize:N0} events ..."));
        BenchDatabase.CollectGarbage();
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
        var measurement = new Measurement(sw.Elapsed, events.Length, await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken) - checkpoints);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  ours: {events.Length:N0} events in {sw.Elapsed.TotalSeconds:F2}s = {measurement.Rate:N0} events/s (checkpoints during the run: {measurement.Checkpoints}; working set now {Environment.WorkingSet / (1024.0 * 1024.0):F0} MB)"));
        return measurement;
    }

    private static async Task VerifyAsync(NpgsqlDataSource dataSource, string schema, Input input, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var expected = input.Events.Length;
        var failures = new List<string>();

        var events = await BenchDatabase.ScalarAsync(dataSource, $"select count(*) from {schema}.events where tenant_id = '{Tenant}'", cancellationToken);
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

        var gappy = await BenchDatabase.ScalarAsync(dataSource,
            $"select count(*) from (select 1 from {schema}.events group by tenant_id, stream_id having min(stream_version) <> 1 or max(stream_version) <> count(*)) g",
            cancellationToken);
        if (gappy != 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{gappy:N0} stream(s) whose events are not numbered 1..n"));
        }

        // Both sides must have stored the same rows, or the comparison means nothing.
        var reference = await BenchDatabase.ScalarAsync(dataSource, $"select count(*) from {schema}.ref_events", cancellationToken);
        var same = await BenchDatabase.ScalarAsync(dataSource,
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
}

/// <summary>The benchmark's event: small (≈ 70 bytes of JSON), like most usage events.</summary>
public sealed record UsageRecorded(string Event, string UserId, int Count);

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// End-to-end ingestion into the real API host, run as a child process on a fresh schema: the same generated
/// Segment track calls (1M over 5,000 accounts by default) once through Segment's HTTP batch API and once through
/// gRPC client streaming, each by a fresh tenant, with this process as the load generator. Compared in the same
/// run with psql's <c>\copy</c> of the same rows in their stored shape (the reference) and with the event store's
/// raw <see cref="PostgresEventStore.BulkAppendAsync"/> of them. The API's resident set is sampled throughout.
/// </summary>
/// <remarks>
/// Order: reference (psql), raw bulk append, HTTP, gRPC, reference again (the sides are compared with psql's rate
/// over both reference runs, as the disk's speed drifts over a run of minutes). Each side writes into an empty table: the events (and the
/// API's stream, user and account rows) of a side are verified, then truncated, vacuumed and checkpointed before
/// the next, as psql's reference table is empty when it starts.
/// </remarks>
public sealed class IngestBenchmark : IBenchmark
{
    public const string BenchmarkName = "ingest";

    private const string ReferenceTenant = "ingest-ref";
    private const string BulkTenant = "ingest-bulk";
    private const string HttpTenant = "ingest-http";
    private const string GrpcTenant = "ingest-grpc";
    private const string WarmupTenant = "ingest-warmup";

    // The runtime's thread that compiles hot methods again, optimized (tiered compilation), as Linux names it.
    private const string JitThread = ".NET Tiered Com";

    // The API's limits (IngestionOptions, Grpc:MaxReceiveMessageSize defaults): a payload over them is refused.
    private const int MaxBatchBytes = 500 * 1024;
    private const int MaxGrpcMessageBytes = 4 * 1024 * 1024;

    // Acceptance targets, reported against, never enforced.
    private const double HttpTarget = 0.5;
    private const double GrpcTarget = 0.6;
    private const double RssTargetMb = 500;

    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    public string Name => BenchmarkName;

    public string Description => "Segment /v1/batch (HTTP) and gRPC IngestStream into the API host (child process) vs psql \\copy (csv) and raw BulkAppendAsync; API peak RSS";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options;
        var log = context.Log;
        var schema = BenchDatabase.NewSchemaName("ingest");
        var name = options.NoProjection ? $"{Name}.no_projection" : Name;
        var count = options.Events;
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {count:N0} Segment track calls over {options.Accounts:N0} accounts; HTTP: {options.HttpBatch:N0} events per /v1/batch on {options.Concurrency} connections; gRPC: {options.GrpcBatch:N0} events per message on {options.GrpcCalls} IngestStream calls"));
        log.Info($"  database {BenchConnection.Describe(context.ConnectionString)}, schema {schema} (dropped at the end); order: psql reference, raw BulkAppendAsync, HTTP, gRPC, psql reference again");

        var workload = IngestWorkload.Generate(count, options.Accounts, log);
        var builder = BenchDatabase.Builder(context.ConnectionString);
        var csv = Path.Combine(Path.GetTempPath(), $"{schema}_ref_events.csv");
        var dll = options.ApiDll ?? ApiHostProcess.DefaultDll(RepoPaths.Root());
        log.Info($"  API host {dll}");
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        ApiHostProcess? api = null;
        try
        {
            // The host migrates the (new) schema when it starts; keys are made with its own store, on the same schema.
            api = await ApiHostProcess.StartAsync(dll, context.ConnectionString, schema, log, cancellationToken,
                options.NoProjection ? new Dictionary<string, string> { ["Accounts__RunProjection"] = "false" } : null);
            if (options.NoProjection)
            {
                log.Info("  NOTE: the API host runs WITHOUT its account-daily projection (an ingest-only host): results are ingest.no_projection.*, not the headline");
            }

            var referenceTable = await PsqlCopy.CreateReferenceTableAsync(dataSource, schema, cancellationToken);
            var storeOptions = new EventStoreOptions { Schema = schema, MigrateOnStart = false };
            var keys = new ApiKeyStore(dataSource, storeOptions, TimeProvider.System);
            var httpKey = await CreateWriteKeyAsync(keys, HttpTenant, cancellationToken);
            var grpcKey = await CreateWriteKeyAsync(keys, GrpcTenant, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  tenants {HttpTenant} and {GrpcTenant} with a write key each (ApiKeyStore); API RSS at rest {RssSampler.ReadStatusMegabytes(api.ProcessId, "VmRSS"):F0} MB"));

            if (!options.NoWarmup)
            {
                await WarmUpAsync(dataSource, api, keys, schema, options, log, cancellationToken);
            }

            // The stored shape: what the API writes for each call, received at a fixed instant.
            var registry = new EventTypeRegistry().Register<TrackRecorded>(IngestWorkload.TrackTypeName);
            var metadata = new EventMetadata(Source: "http");

            // 1. The reference.
            var sw = Stopwatch.StartNew();
            WriteCsv(csv, workload, registry, metadata);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  reference input: {csv} ({new FileInfo(csv).Length / (1024.0 * 1024.0):F0} MB CSV, written in {sw.Elapsed.TotalSeconds:F1}s, not timed)"));
            var (referenceBefore, referenceCpuBefore) = await RunReferenceAsync(dataSource, builder, referenceTable, csv, count, log, cancellationToken);
            await BenchDatabase.SettleAsync(dataSource, referenceTable, log, cancellationToken);

            // 2. The store's own ceiling: BulkAppendAsync of the stored shape, no HTTP, no parsing.
            var (bulk, bulkPgCpu) = await RunBulkAppendAsync(dataSource, registry, storeOptions, workload, metadata, options.BatchSize, log, cancellationToken);
            await VerifyAsync(dataSource, schema, referenceTable, BulkTenant, workload, log, cancellationToken);
            await ResetAsync(dataSource, schema, log, cancellationToken);

            // 3. Segment's HTTP API.
            var http = await RunHttpAsync(dataSource, api, httpKey, workload, options, log, cancellationToken);
            await VerifyAsync(dataSource, schema, referenceTable, HttpTenant, workload, log, cancellationToken);
            await ResetAsync(dataSource, schema, log, cancellationToken);

            // 4. gRPC client streaming.
            var grpc = await RunGrpcAsync(dataSource, api, grpcKey, workload, options, log, cancellationToken);
            await VerifyAsync(dataSource, schema, referenceTable, GrpcTenant, workload, log, cancellationToken);

            // 5. The reference again, into an emptied table: the disk's speed drifts over minutes here, so the sides
            // are compared with psql's rate over both runs, which bracket them.
            await BenchDatabase.ExecuteAsync(dataSource, $"truncate {referenceTable}", cancellationToken);
            var (referenceAfter, referenceCpuAfter) = await RunReferenceAsync(dataSource, builder, referenceTable, csv, count, log, cancellationToken);
            var referenceCpuPer1k = (referenceCpuBefore + referenceCpuAfter) * 1000 / (referenceBefore.Count + referenceAfter.Count);
            var reference = new Measurement(referenceBefore.Elapsed + referenceAfter.Elapsed, referenceBefore.Count + referenceAfter.Count, referenceBefore.Checkpoints + referenceAfter.Checkpoints);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  reference: psql \\copy {referenceBefore.Rate:N0} events/s before the sides, {referenceAfter.Rate:N0} after; compared with both together: {reference.Rate:N0} events/s"));

            Summarise(log, reference, bulk, http, grpc);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  CPU-seconds per 1k events: psql \\copy: PostgreSQL {referenceCpuPer1k:F3}; raw BulkAppendAsync: PostgreSQL {bulkPgCpu * 1000 / count:F3}; HTTP: API {http.ApiCpuPer1k:F3} + PostgreSQL {http.PgCpuPer1k:F3}; gRPC: API {grpc.ApiCpuPer1k:F3} + PostgreSQL {grpc.PgCpuPer1k:F3}"));
            return
            [
                BenchmarkResult.Compared($"{name}.http", http.Load.Rate, "events/s", PsqlCopy.ReferenceName, reference.Rate),
                BenchmarkResult.Compared($"{name}.grpc", grpc.Load.Rate, "events/s", PsqlCopy.ReferenceName, reference.Rate),
                BenchmarkResult.Compared($"{name}.bulk_append", bulk.Rate, "events/s", PsqlCopy.ReferenceName, reference.Rate),
                BenchmarkResult.Plain($"{name}.http.api_peak_rss", http.PeakRssMb, "MB"),
                BenchmarkResult.Plain($"{name}.http.api_vmhwm", http.HighWaterMarkMb, "MB"),
                BenchmarkResult.Plain($"{name}.grpc.api_peak_rss", grpc.PeakRssMb, "MB"),
                BenchmarkResult.Plain($"{name}.grpc.api_vmhwm", grpc.HighWaterMarkMb, "MB"),
                BenchmarkResult.Plain($"{name}.reference.pg_cpu_ms_per_1k", referenceCpuPer1k * 1000, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.bulk_append.pg_cpu_ms_per_1k", bulkPgCpu * 1_000_000 / count, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.http.api_cpu_ms_per_1k", http.ApiCpuPer1k * 1000, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.http.pg_cpu_ms_per_1k", http.PgCpuPer1k * 1000, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.grpc.api_cpu_ms_per_1k", grpc.ApiCpuPer1k * 1000, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.grpc.pg_cpu_ms_per_1k", grpc.PgCpuPer1k * 1000, "CPU-ms"),
                BenchmarkResult.Plain($"{name}.http.retried_requests", http.Load.Retries, "requests"),
                BenchmarkResult.Plain($"{name}.grpc.retried_calls", grpc.Load.Retries, "calls"),
            ];
        }
        catch (Exception ex) when (api is not null && ex is not OperationCanceledException)
        {
            // Whatever went wrong, the host's last words (it logs warnings and errors) help.
            log.Info($"  API host's last output:{Environment.NewLine}{api.OutputTail()}");
            throw;
        }
        finally
        {
            if (api is not null)
            {
                await api.DisposeAsync();
            }

            File.Delete(csv);
            await BenchDatabase.DropSchemaAsync(dataSource, schema, log);
        }
    }

    /// <summary>
    /// A side run against the API: the load's outcome, the API's memory meanwhile, and the CPU-seconds per 1,000
    /// events of the API process and of its own PostgreSQL backends (ingest, projection, publisher alike).
    /// </summary>
    private sealed record ApiRun(LoadOutcome Load, double PeakRssMb, double HighWaterMarkMb, long Deadlocks, double ApiCpuPer1k, double PgCpuPer1k);

    /// <summary>psql's reference run, with the CPU-seconds its backend used (wall-clock rates are noisy on a shared machine; CPU time less so).</summary>
    private static async Task<(Measurement Measurement, double PgCpu)> RunReferenceAsync(
        NpgsqlDataSource dataSource, NpgsqlConnectionStringBuilder builder, string table, string csv, int count, ProgressLog log, CancellationToken cancellationToken)
    {
        await using var cpu = await CpuTime.FollowBackendsAsync(dataSource, PsqlCopy.ApplicationName, cancellationToken);
        var measurement = await PsqlCopy.RunAsync(dataSource, builder, table, csv, count, log, cancellationToken);
        var pgCpu = await cpu.StopAsync();
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  reference: psql's backend used {pgCpu:F1} CPU-s ({pgCpu * 1000 / count:F3} per 1k events)"));
        return (measurement, pgCpu);
    }

    private static async Task<string> CreateWriteKeyAsync(ApiKeyStore keys, string tenant, CancellationToken cancellationToken)
    {
        await keys.EnsureTenantAsync(tenant, cancellationToken);
        var (_, secret) = await keys.CreateKeyAsync(tenant, KeyKind.Write, "ingest benchmark", cancellationToken);
        return secret;
    }

    private static void WriteCsv(string path, IngestWorkload workload, EventTypeRegistry registry, EventMetadata metadata)
    {
        var metadataJson = JsonSerializer.Serialize(metadata, PsqlCopy.MetadataJson);
        var versions = new long[workload.AccountIds.Length];
        using var writer = new EventCsvWriter(path);
        for (var i = 0; i < workload.Calls.Length; i++)
        {
            var (streamId, e) = workload.Stored(i, workload.Until, metadata);
            var data = JsonSerializer.Serialize(e.Data, e.Data.GetType(), registry.JsonOptions);
            writer.Write(ReferenceTenant, streamId, ++versions[workload.Calls[i].Account], e.EventId, IngestWorkload.TrackTypeName, data, metadataJson, e.OccurredAt!.Value);
        }
    }

    private static async Task<(Measurement Measurement, double PgCpu)> RunBulkAppendAsync(
        NpgsqlDataSource dataSource, EventTypeRegistry registry, EventStoreOptions storeOptions, IngestWorkload workload, EventMetadata metadata, int batchSize, ProgressLog log, CancellationToken cancellationToken)
    {
        var store = new PostgresEventStore(dataSource, registry, storeOptions);
        var count = workload.Calls.Length;
        var calls = (count + batchSize - 1) / batchSize;
        var checkpoints = await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  raw: BulkAppendAsync of the stored shape, {calls} call(s) of up to {batchSize:N0} events (each call's events built before its timer starts) ..."));
        BenchDatabase.CollectGarbage();
        await using var cpu = await CpuTime.FollowBackendsAsync(dataSource, BenchDatabase.ApplicationName, cancellationToken);
        var timed = TimeSpan.Zero;
        var wall = Stopwatch.StartNew();
        for (var offset = 0; offset < count; offset += batchSize)
        {
            var n = Math.Min(batchSize, count - offset);
            var batch = new StreamEvent[n];
            for (var i = 0; i < n; i++)
            {
                batch[i] = workload.Stored(offset + i, workload.Until, metadata);
            }

            var sw = Stopwatch.StartNew();
            var result = await store.BulkAppendAsync(BulkTenant, batch, cancellationToken);
            timed += sw.Elapsed;
            if (result.AppendedCount != n || result.DuplicateEventIds.Count != 0)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"BulkAppendAsync at offset {offset} appended {result.AppendedCount} of {n} events ({result.DuplicateEventIds.Count} reported as duplicates)."));
            }

            log.Report("raw: appended", offset + n, count, timed);
        }

        var pgCpu = await cpu.StopAsync();
        var measurement = new Measurement(timed, count, await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken) - checkpoints);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  raw: {count:N0} events in {timed.TotalSeconds:F2}s of BulkAppendAsync ({wall.Elapsed.TotalSeconds:F2}s with building) = {measurement.Rate:N0} events/s (checkpoints during the run: {measurement.Checkpoints}); this process's PostgreSQL backends used {pgCpu:F1} CPU-s"));
        return (measurement, pgCpu);
    }

    /// <summary>
    /// Untimed: a freshly started .NET host spends its first minute under load compiling its hot methods again,
    /// optimized, on a thread of its own (tiered compilation, here about a quarter of the API's CPU at first), which
    /// a host that has been running for a while has long done. So the same kind of load (a tenth of the events, at
    /// least 10,000 and at most 100,000, over both protocols) runs first, until that thread is quiet; what it wrote
    /// is then emptied like a side's. <c>--no-warmup</c> measures the host cold.
    /// </summary>
    private static async Task WarmUpAsync(NpgsqlDataSource dataSource, ApiHostProcess api, ApiKeyStore keys, string schema, BenchmarkOptions options, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        await using var jit = await CpuTime.FollowThreadsAsync(api.ProcessId, JitThread, cancellationToken);
        var count = Math.Clamp(options.Events / 10, Math.Min(10_000, options.Events), 100_000);
        var workload = IngestWorkload.Generate(count, options.Accounts, log);
        var httpKey = await CreateWriteKeyAsync(keys, WarmupTenant + "-http", cancellationToken);
        var grpcKey = await CreateWriteKeyAsync(keys, WarmupTenant + "-grpc", cancellationToken);
        var http = HttpPayloads(workload, options);
        var grpc = GrpcPayloads(workload, options);
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  warm-up (not timed): {count:N0} events over HTTP, then over gRPC, as tenants {WarmupTenant}-http and -grpc ..."));
        await SegmentHttpLoad.RunAsync(api.RestUrl, httpKey, http, options.Concurrency, log, cancellationToken);
        await GrpcIngestLoad.RunAsync(api.GrpcUrl, grpcKey, grpc, options.GrpcCalls, log, cancellationToken);
        await WaitForSubscriptionsAsync(dataSource, api, !options.NoProjection, cancellationToken);

        // Until the compiling thread has been quiet for two seconds (at most half a minute).
        var waited = Stopwatch.StartNew();
        var quietSince = Stopwatch.StartNew();
        var last = jit.Read();
        while (quietSince.Elapsed < TimeSpan.FromSeconds(2) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var now = jit.Read();
            if (now - last > 0.02)
            {
                quietSince.Restart();
            }

            last = now;
        }

        await ResetAsync(dataSource, schema, log, cancellationToken);
        var jitCpu = await jit.StopAsync();
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  warm-up: done in {sw.Elapsed.TotalSeconds:F1}s; the host's tiered-compilation thread used {jitCpu:F1} CPU-s meanwhile"));
    }

    private static async Task<ApiRun> RunHttpAsync(NpgsqlDataSource dataSource, ApiHostProcess api, string writeKey, IngestWorkload workload, BenchmarkOptions options, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var queue = HttpPayloads(workload, options);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  http: {queue.Payloads.Count:N0} /v1/batch bodies of up to {options.HttpBatch} events ({queue.TotalBytes / (1024.0 * 1024.0):F0} MB JSON, largest {queue.Payloads.Max(p => p.Length) / 1024.0:F0} KB; built in {sw.Elapsed.TotalSeconds:F1}s, not timed); posting on {options.Concurrency} connections ..."));
        return await RunAgainstApiAsync(dataSource, api, "http", queue, !options.NoProjection, () => SegmentHttpLoad.RunAsync(api.RestUrl, writeKey, queue, options.Concurrency, log, cancellationToken), log);
    }

    private static async Task<ApiRun> RunGrpcAsync(NpgsqlDataSource dataSource, ApiHostProcess api, string key, IngestWorkload workload, BenchmarkOptions options, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var queue = GrpcPayloads(workload, options);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  grpc: {queue.Payloads.Count:N0} IngestBatchRequest messages of up to {options.GrpcBatch} events ({queue.TotalBytes / (1024.0 * 1024.0):F0} MB protobuf, largest {queue.Payloads.Max(p => p.Length) / 1024.0:F0} KB; built in {sw.Elapsed.TotalSeconds:F1}s, not timed); streaming on {options.GrpcCalls} concurrent calls of up to {GrpcIngestLoad.MaxMessagesPerCall} messages each ..."));
        return await RunAgainstApiAsync(dataSource, api, "grpc", queue, !options.NoProjection, () => GrpcIngestLoad.RunAsync(api.GrpcUrl, key, queue, options.GrpcCalls, log, cancellationToken), log);
    }

    /// <summary>The workload as <c>/v1/batch</c> bodies of <c>--http-batch</c> events.</summary>
    private static PayloadSet HttpPayloads(IngestWorkload workload, BenchmarkOptions options) =>
        BuildPayloads(workload, options.HttpBatch, MaxBatchBytes, "/v1/batch body", "--http-batch", workload.SegmentBatchJson);

    /// <summary>The workload as IngestStream messages of <c>--grpc-batch</c> events.</summary>
    private static PayloadSet GrpcPayloads(IngestWorkload workload, BenchmarkOptions options) =>
        BuildPayloads(workload, options.GrpcBatch, MaxGrpcMessageBytes, "IngestBatchRequest", "--grpc-batch", workload.IngestBatchFrame);

    private static PayloadSet BuildPayloads(IngestWorkload workload, int batch, int limit, string what, string option, Func<int, int, byte[]> build)
    {
        var count = workload.Calls.Length;
        var payloads = new List<byte[]>((count + batch - 1) / batch);
        var counts = new List<int>(payloads.Capacity);
        for (var offset = 0; offset < count; offset += batch)
        {
            var n = Math.Min(batch, count - offset);
            var payload = build(offset, n);
            if (payload.Length > limit)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"A {what} of {n} events is {payload.Length:N0} bytes, over the API's limit of {limit:N0}: lower {option}."));
            }

            payloads.Add(payload);
            counts.Add(n);
        }

        return new PayloadSet(payloads, counts);
    }

    /// <summary>Runs <paramref name="load"/> from a collected heap while sampling the API's RSS, and checks the API's counts.</summary>
    private static async Task<ApiRun> RunAgainstApiAsync(NpgsqlDataSource dataSource, ApiHostProcess api, string label, PayloadSet queue, bool projection, Func<Task<LoadOutcome>> load, ProgressLog log)
    {
        api.EnsureRunning();
        var deadlocks = await DeadlocksAsync(dataSource);
        BenchDatabase.CollectGarbage();
        var reset = RssSampler.TryResetHighWaterMark(api.ProcessId);
        var before = RssSampler.ReadStatusMegabytes(api.ProcessId, "VmRSS") ?? double.NaN;
        var (apiCpu, pgCpu, ownCpu) = (CpuTime.OfProcess(api.ProcessId) ?? double.NaN, CpuTime.OfPostgres(), Environment.CpuUsage.TotalTime.TotalSeconds);
        await using var jit = await CpuTime.FollowThreadsAsync(api.ProcessId, JitThread, CancellationToken.None);
        await using var backends = await CpuTime.FollowBackendsAsync(dataSource, ApiHostProcess.ApplicationName, CancellationToken.None);
        LoadOutcome outcome;
        double peak;
        double apiBackendCpu;
        await using (var sampler = RssSampler.Start(api.ProcessId, SampleInterval))
        {
            try
            {
                outcome = await load();
            }
            catch (InvalidOperationException ex)
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                var during = await DeadlocksAsync(dataSource) - deadlocks;
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: {ex.Message} (PostgreSQL deadlocks in this database during the run: {during:N0}; the API host's output is above)"), ex);
            }

            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: {outcome.Sent:N0} events in {outcome.Elapsed.TotalSeconds:F2}s = {outcome.Rate:N0} events/s ({queue.TotalBytes / (1024.0 * 1024.0) / outcome.Elapsed.TotalSeconds:F1} MB/s); API: accepted {outcome.Accepted:N0}, duplicates {outcome.Duplicates:N0}, unassigned {outcome.Unassigned:N0}"));

            // The host's subscriptions (projection, publisher) follow the log behind the acknowledgements: the CPU
            // figures include their catching up, so that work they left for later is not missed.
            var lag = await WaitForSubscriptionsAsync(dataSource, api, projection, CancellationToken.None);
            log.Info(string.Create(CultureInfo.InvariantCulture, $"  {label}: the host's subscriptions caught up {lag.TotalSeconds:F1}s after the last acknowledgement"));
            peak = await sampler.StopAsync();
            (apiCpu, pgCpu, ownCpu) = ((CpuTime.OfProcess(api.ProcessId) ?? double.NaN) - apiCpu, CpuTime.OfPostgres() - pgCpu, Environment.CpuUsage.TotalTime.TotalSeconds - ownCpu);
            var jitCpu = await jit.StopAsync();
            apiBackendCpu = await backends.StopAsync();
            var wall = outcome.Elapsed.TotalSeconds;
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: CPU during the run ({Environment.ProcessorCount} cores): API {apiCpu:F1}s ({apiCpu / wall:F2} cores; of it the tiered-compilation thread {jitCpu:F1}s), the API's PostgreSQL backends {apiBackendCpu:F1}s ({apiBackendCpu / wall:F2} cores), PostgreSQL {pgCpu:F1}s ({pgCpu / wall:F2} cores, all sessions), load generator {ownCpu:F1}s ({ownCpu / wall:F2} cores)"));
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: CPU-seconds per 1k events: API {apiCpu * 1000 / outcome.Sent:F3}, its PostgreSQL backends {apiBackendCpu * 1000 / outcome.Sent:F3}"));
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: API RSS {before:F0} MB before, peak {peak:F0} MB over {sampler.Samples:N0} samples every {SampleInterval.TotalMilliseconds:F0} ms"));
        }

        api.EnsureRunning();
        var hwm = RssSampler.ReadStatusMegabytes(api.ProcessId, "VmHWM") ?? double.NaN;
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: API VmHWM {hwm:F0} MB ({(reset ? "reset before this run" : "could not be reset: the process's peak so far")})"));

        // PostgreSQL counts deadlocks per database; a backend reports its counters within a second of going idle.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        deadlocks = await DeadlocksAsync(dataSource) - deadlocks;
        if (outcome.Retries > 0)
        {
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: WARNING: {outcome.Retries:N0} failed attempt(s) were retried ({outcome.Duplicates:N0} events answered as duplicates on retry); PostgreSQL deadlocks in this database meanwhile: {deadlocks:N0}"));
            log.Info($"  {label}: first failure: {outcome.FirstFailure}");
        }
        else
        {
            log.Info(string.Create(CultureInfo.InvariantCulture, $"  {label}: no failed requests; PostgreSQL deadlocks in this database meanwhile: {deadlocks:N0}"));
        }

        if (outcome.Accepted + outcome.Duplicates != outcome.Sent)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{label}: the API accepted {outcome.Accepted:N0} of {outcome.Sent:N0} events ({outcome.Duplicates:N0} duplicates)."));
        }

        return new ApiRun(outcome, peak, hwm, deadlocks, apiCpu * 1000 / outcome.Sent, apiBackendCpu * 1000 / outcome.Sent);
    }

    /// <summary>Waits until every subscription of the host has handled the whole log; returns how long that took.</summary>
    private static async Task<TimeSpan> WaitForSubscriptionsAsync(NpgsqlDataSource dataSource, ApiHostProcess api, bool projection, CancellationToken cancellation)
    {
        var schema = api.Schema;
        var names = projection ? $"('{Api.Accounts.AccountDailyProjection.SubscriptionName}'), ('{Api.Alerts.AlertPublisher.SubscriptionName}')" : $"('{Api.Alerts.AlertPublisher.SubscriptionName}')";
        var sw = Stopwatch.StartNew();
        while (await BenchDatabase.ScalarAsync(dataSource,
            $"""
            select count(*) from (values {names}) as n(name)
            left join {schema}.subscriptions s using (name)
            left join lateral (select e.tx_id, e.seq from {schema}.events e order by e.tx_id desc, e.seq desc limit 1) last on true
            where s.name is null or (last.tx_id, last.seq) > (s.tx_id, s.seq)
            """, cancellation) > 0)
        {
            // The log's last position from the end of its index: cheap, so the polling takes no CPU from the
            // subscriptions it waits for (an exists() over the log after each checkpoint cost 0.24 s a poll).
            api.EnsureRunning();
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellation);
        }

        return sw.Elapsed;
    }

    private static Task<long> DeadlocksAsync(NpgsqlDataSource dataSource) =>
        BenchDatabase.ScalarAsync(dataSource, "select deadlocks from pg_stat_database where datname = current_database()", CancellationToken.None);

    /// <summary>
    /// Checks that the tenant's events are exactly the calls sent: as many as sent, each in its account's stream with
    /// the reference's id, type, time and data (all but receivedAt, which is the API's clock), streams numbered 1..n.
    /// </summary>
    private static async Task VerifyAsync(NpgsqlDataSource dataSource, string schema, string referenceTable, string tenant, IngestWorkload workload, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var expected = workload.Calls.Length;
        var failures = new List<string>();
        var events = await BenchDatabase.ScalarAsync(dataSource, $"select count(*) from {schema}.events where tenant_id = '{tenant}'", cancellationToken);
        if (events != expected)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"events holds {events:N0} rows of tenant {tenant}, expected {expected:N0}"));
        }

        var same = await BenchDatabase.ScalarAsync(dataSource,
            $"""
            select count(*) from {schema}.events e join {referenceTable} r on r.tenant_id = '{ReferenceTenant}' and r.event_id = e.event_id
             where e.tenant_id = '{tenant}' and r.stream_id = e.stream_id and r.type = e.type and r.occurred_at = e.occurred_at
               and (r.data - 'receivedAt') = (e.data - 'receivedAt')
            """,
            cancellationToken);
        if (same != expected)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{same:N0} of tenant {tenant}'s events equal the reference's, expected {expected:N0}"));
        }

        var streams = await BenchDatabase.ScalarAsync(dataSource, $"select count(*) from {schema}.streams where tenant_id = '{tenant}'", cancellationToken);
        var versions = await BenchDatabase.ScalarAsync(dataSource, $"select coalesce(sum(version), 0) from {schema}.streams where tenant_id = '{tenant}'", cancellationToken);
        if (streams != workload.AccountsUsed || versions != expected)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"streams holds {streams:N0} rows with versions summing to {versions:N0}, expected {workload.AccountsUsed:N0} and {expected:N0}"));
        }

        var gappy = await BenchDatabase.ScalarAsync(dataSource,
            $"select count(*) from (select 1 from {schema}.events where tenant_id = '{tenant}' group by stream_id having min(stream_version) <> 1 or max(stream_version) <> count(*)) g",
            cancellationToken);
        if (gappy != 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{gappy:N0} stream(s) whose events are not numbered 1..n"));
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException($"Verification failed: {string.Join("; ", failures)}.");
        }

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  verified {tenant}: {events:N0} events, each equal to its reference row but for receivedAt; {streams:N0} streams numbered 1..n ({sw.Elapsed.TotalSeconds:F1}s)"));
    }

    /// <summary>Empties what a side wrote (events, streams, the API's users and accounts), so that the next starts on empty tables.</summary>
    private static async Task ResetAsync(NpgsqlDataSource dataSource, string schema, ProgressLog log, CancellationToken cancellationToken)
    {
        await BenchDatabase.ExecuteAsync(dataSource, $"truncate {schema}.events, {schema}.streams, {schema}.users, {schema}.accounts", cancellationToken);
        await BenchDatabase.SettleAsync(dataSource, $"{schema}.events", log, cancellationToken);
    }

    private static void Summarise(ProgressLog log, Measurement reference, Measurement bulk, ApiRun http, ApiRun grpc)
    {
        string Versus(double rate, double target) =>
            string.Create(CultureInfo.InvariantCulture, $"{rate / reference.Rate:F2} of psql (target ≥ {target:F2}: {(rate / reference.Rate >= target ? "met" : "MISSED")})");
        string Memory(ApiRun run) =>
            string.Create(CultureInfo.InvariantCulture, $"peak RSS {Math.Max(run.PeakRssMb, run.HighWaterMarkMb):F0} MB (target < {RssTargetMb:F0}: {(Math.Max(run.PeakRssMb, run.HighWaterMarkMb) < RssTargetMb ? "met" : "MISSED")})");

        log.Info(string.Create(CultureInfo.InvariantCulture, $"  psql \\copy {reference.Rate:N0} events/s; raw BulkAppendAsync {bulk.Rate:N0} events/s ({bulk.Rate / reference.Rate:F2} of psql)"));
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  HTTP  {http.Load.Rate:N0} events/s: {Versus(http.Load.Rate, HttpTarget)}; {Memory(http)}; {http.Load.Retries} retried request(s)"));
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  gRPC  {grpc.Load.Rate:N0} events/s: {Versus(grpc.Load.Rate, GrpcTarget)}; {Memory(grpc)}; {grpc.Load.Retries} retried call(s)"));
    }
}

using System.Globalization;
using HealthScoring.Api.Tenancy;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Resilience.Tests;

/// <summary>
/// Sustained ingest of one tenant's Segment track calls on three paths at once, each over its own slice of one
/// <see cref="IngestWorkload"/> (unique messageIds): <c>POST /v1/batch</c> on several connections, IngestStream calls
/// and unary IngestBatch calls, through the shared load generator, which records every acknowledged payload. The
/// last <see cref="ProbeCalls"/> calls are left out for a test's own requests.
/// </summary>
internal sealed class SustainedIngest : IDisposable
{
    /// <summary>Events per HTTP body and per gRPC request message.</summary>
    public const int BatchSize = 50;

    /// <summary>Calls at the end of the workload that no lane sends.</summary>
    public const int ProbeCalls = 200;

    public const string Tenant = "faults";

    private readonly List<Lane> _lanes;
    private CancellationTokenSource? _stop;

    private SustainedIngest(IngestWorkload workload, List<Lane> lanes)
    {
        Workload = workload;
        _lanes = lanes;
    }

    public IngestWorkload Workload { get; }

    public IReadOnlyList<Lane> Lanes => _lanes;

    /// <summary>Calls the lanes send (all but the probes').</summary>
    public int LaneCalls => Workload.Calls.Length - ProbeCalls;

    /// <summary>
    /// <paramref name="calls"/> track calls over <paramref name="accounts"/> accounts: half over HTTP (4 connections),
    /// a quarter over 2 IngestStream calls at a time, a quarter over 2 concurrent unary IngestBatch senders.
    /// </summary>
    public static SustainedIngest Create(int calls, int accounts)
    {
        var workload = IngestWorkload.Generate(calls, accounts, Quiet);
        var laneCalls = calls - ProbeCalls;
        var http = laneCalls / 2;
        var stream = laneCalls / 4;
        var lanes = new List<Lane>
        {
            new("http", 0, http, workload.SegmentBatchJson,
                (host, key, payloads, recorder, ct) => SegmentHttpLoad.RunAsync(host.RestUrl, key, payloads, 4, Quiet, ct, recorder)),
            new("grpc-stream", http, stream, workload.IngestBatchFrame,
                (host, key, payloads, recorder, ct) => GrpcIngestLoad.RunAsync(host.GrpcUrl, key, payloads, 2, Quiet, ct, recorder)),
            new("grpc-unary", http + stream, laneCalls - http - stream, workload.IngestBatchFrame,
                (host, key, payloads, recorder, ct) => GrpcIngestLoad.RunAsync(host.GrpcUrl, key, payloads, 2, Quiet, ct, recorder, unary: true)),
        };
        return new SustainedIngest(workload, lanes);
    }

    /// <summary>Progress output nobody reads (the tests report their own figures).</summary>
    public static ProgressLog Quiet { get; } = new(TextWriter.Null, interactive: false);

    /// <summary>Starts every lane against <paramref name="host"/>; they run until all is sent or <see cref="StopAsync"/>.</summary>
    public void Start(ApiHostProcess host, string key)
    {
        _stop = new CancellationTokenSource();
        foreach (var lane in _lanes)
        {
            lane.Running = Task.Run(() => lane.Run(host, key, lane.Payloads, lane.Recorder, _stop.Token), CancellationToken.None);
        }
    }

    /// <summary>Events acknowledged so far, over all lanes.</summary>
    public int AcknowledgedEvents => _lanes.Sum(l => l.Recorder.AcknowledgedPayloads.Sum(p => l.Payloads.EventCounts[p]));

    /// <summary>Waits until the lanes together have <paramref name="events"/> acknowledged and each lane at least <paramref name="perLane"/> payloads.</summary>
    public async Task WaitForAcknowledgedAsync(int events, int perLane, CancellationToken cancellationToken)
    {
        while (AcknowledgedEvents < events || _lanes.Any(l => l.Recorder.AcknowledgedPayloads.Count < perLane))
        {
            if (_lanes.FirstOrDefault(l => l.Running!.IsCompleted) is { } ended)
            {
                // A lane that ended early has sent everything or failed: either way the test cannot go on as planned.
                await ended.Running!;
                throw new InvalidOperationException($"Lane {ended.Name} sent everything before {events:N0} events were acknowledged: make the workload larger.");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Waits until every lane has seen at least one failed attempt (after a kill, each one's requests break).</summary>
    public async Task WaitForFailuresInEveryLaneAsync(CancellationToken cancellationToken)
    {
        while (_lanes.Any(l => l.Recorder.Failures.Count == 0 && !l.Running!.IsCompleted))
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Stops the lanes (they retry against a stopped host until then) and waits for them; a lane's own failure is thrown.</summary>
    public async Task StopAsync()
    {
        await _stop!.CancelAsync();
        foreach (var lane in _lanes)
        {
            try
            {
                await lane.Running!;
            }
            catch (OperationCanceledException)
            {
                // Stopped, as asked.
            }
        }
    }

    public void Dispose() => _stop?.Dispose();

    /// <summary>Workload indexes of every call whose payload was acknowledged.</summary>
    public IReadOnlyList<int> AcknowledgedCalls() => [.. _lanes.SelectMany(l => l.Recorder.AcknowledgedPayloads.SelectMany(l.CallsOf))];

    /// <summary>Every failed attempt of every lane.</summary>
    public IReadOnlyList<LoadFailure> Failures => [.. _lanes.SelectMany(l => l.Recorder.Failures)];

    /// <summary>Sends every payload that was not acknowledged again, on each lane's own path, to <paramref name="host"/>; returns how many.</summary>
    public async Task<int> ResendUnacknowledgedAsync(ApiHostProcess host, string key, CancellationToken cancellationToken)
    {
        var runs = new List<Task<LoadOutcome>>();
        var resent = 0;
        foreach (var lane in _lanes)
        {
            var acknowledged = lane.Recorder.AcknowledgedPayloads;
            var missing = Enumerable.Range(0, lane.Payloads.Payloads.Count).Where(p => !acknowledged.Contains(p)).ToList();
            if (missing.Count == 0)
            {
                continue;
            }

            resent += missing.Count;
            var again = new PayloadSet([.. missing.Select(p => lane.Payloads.Payloads[p])], [.. missing.Select(p => lane.Payloads.EventCounts[p])]) { Resent = true };
            runs.Add(lane.Run(host, key, again, new LoadRecorder(), cancellationToken));
        }

        foreach (var outcome in await Task.WhenAll(runs))
        {
            (outcome.Accepted + outcome.Duplicates).ShouldBe(outcome.Sent, "every resent event is answered as stored or as a duplicate");
        }

        return resent;
    }

    /// <summary>Creates the tenant and a write key (after the host has migrated the schema), on <paramref name="schema"/>.</summary>
    public static async Task<string> CreateWriteKeyAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var keys = new ApiKeyStore(dataSource, new EventStoreOptions { Schema = schema, MigrateOnStart = false }, TimeProvider.System);
        await keys.EnsureTenantAsync(Tenant, cancellationToken);
        return (await keys.CreateKeyAsync(Tenant, KeyKind.Write, "resilience tests", cancellationToken)).Secret;
    }

    /// <summary>Starts the API host's build output of this test run's configuration on <paramref name="schema"/>.</summary>
    public static Task<ApiHostProcess> StartHostAsync(string schema, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken) =>
        ApiHostProcess.StartAsync(
            ApiHostProcess.DefaultDll(RepoPaths.Root(), ApiHostProcess.OwnConfiguration), TestSettings.PostgresConnectionString, schema, Quiet, cancellationToken,
            settings, applicationName: "healthscoring-resilience-api");

    /// <summary>One sending path over a slice of the workload, with its payloads and what its senders saw.</summary>
    internal sealed class Lane
    {
        private readonly int _offset;
        private readonly int _count;

        public Lane(string name, int offset, int count, Func<int, int, byte[]> build, Func<ApiHostProcess, string, PayloadSet, LoadRecorder, CancellationToken, Task<LoadOutcome>> run)
        {
            Name = name;
            _offset = offset;
            _count = count;
            Run = run;
            var payloads = new List<byte[]>();
            var counts = new List<int>();
            for (var start = offset; start < offset + count; start += BatchSize)
            {
                var n = Math.Min(BatchSize, offset + count - start);
                payloads.Add(build(start, n));
                counts.Add(n);
            }

            Payloads = new PayloadSet(payloads, counts);
        }

        public string Name { get; }

        public PayloadSet Payloads { get; }

        public LoadRecorder Recorder { get; } = new();

        public Func<ApiHostProcess, string, PayloadSet, LoadRecorder, CancellationToken, Task<LoadOutcome>> Run { get; }

        public Task<LoadOutcome>? Running { get; set; }

        /// <summary>The workload indexes of the calls in payload <paramref name="payload"/>.</summary>
        public IEnumerable<int> CallsOf(int payload)
        {
            var start = _offset + (payload * BatchSize);
            return Enumerable.Range(start, Math.Min(BatchSize, _offset + _count - start));
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}: {Recorder.AcknowledgedPayloads.Count} of {Payloads.Payloads.Count} payloads acknowledged, {Recorder.Failures.Count} failed attempts");
    }
}

using System.Globalization;

namespace HealthScoring.Benchmarks;

/// <summary>Which order the event-store benchmark runs its two sides in.</summary>
public enum RunOrder
{
    /// <summary>The reference first, then ours: ours never profits from a fresher server.</summary>
    ReferenceFirst,

    /// <summary>Ours first, then the reference (to check that the order does not decide the ratio).</summary>
    OursFirst,
}

/// <summary>
/// The command line: <c>[--only NAME[,NAME]] [--events N] [--streams N] [--batch-size N] [--order reference-first|ours-first]
/// [--accounts N] [--hubspot-rate N] [--concurrency N] [--grpc-calls N] [--http-batch N] [--grpc-batch N]
/// [--duration D] [--ingest-rate N] [--query-rate N] [--score-every D] [--out PATH] [--list]</c>.
/// </summary>
public sealed record BenchmarkOptions
{
    public const string DefaultOut = "bench-results/latest.json";

    /// <summary>Benchmarks to run (all when empty); results are then merged into the file by name.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>How many events to generate.</summary>
    public int Events { get; init; } = 1_000_000;

    /// <summary>How many streams to spread them over.</summary>
    public int Streams { get; init; } = 10_000;

    /// <summary>Events per <c>BulkAppendAsync</c> call.</summary>
    public int BatchSize { get; init; } = 50_000;

    /// <summary>Order of reference and ours.</summary>
    public RunOrder Order { get; init; } = RunOrder.ReferenceFirst;

    /// <summary>ingest: accounts (Segment groups) the events are spread over; alerts.hubspot_latency: accounts scored.</summary>
    public int Accounts { get; init; } = 5_000;

    /// <summary>ingest: concurrent HTTP connections posting to /v1/batch.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>ingest: concurrent IngestStream calls (HTTP/2 streams).</summary>
    public int GrpcCalls { get; init; } = 4;

    /// <summary>ingest: events per /v1/batch request (the body must stay under the API's 500 KB limit).</summary>
    public int HttpBatch { get; init; } = 500;

    /// <summary>ingest: events per IngestBatchRequest message on a stream.</summary>
    public int GrpcBatch { get; init; } = 1_000;

    /// <summary>alerts.hubspot_latency: the client's HubSpot:MaxRequestsPer10Seconds (null: its default).</summary>
    public int? HubSpotRate { get; init; }
    /// <summary>ingest: the API host's build output to run (null: the Release build under the repository), e.g. a saved earlier build to compare with in the same machine state.</summary>
    public string? ApiDll { get; init; }

    /// <summary>
    /// ingest: run the API host without the account-daily projection (Accounts:RunProjection=false, as on an
    /// ingest-only host) to price it; results are then named <c>ingest.no_projection.*</c>, never the headline.
    /// </summary>
    public bool NoProjection { get; init; }

    /// <summary>
    /// ingest: skip the untimed warm-up load that runs before the measured sides (a freshly started .NET host
    /// spends its first minute under load compiling its hot code again, optimized, on a thread of its own).
    /// </summary>
    public bool NoWarmup { get; init; }

    /// <summary>soak.mixed: how long the mixed load runs (at least <see cref="MinimumDuration"/>).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>soak.mixed: events per second sent, four fifths over /v1/batch, one fifth over IngestStream.</summary>
    public int IngestRate { get; init; } = 3_000;

    /// <summary>soak.mixed: REST queries per second.</summary>
    public int QueryRate { get; init; } = 50;

    /// <summary>soak.mixed: the interval between scoring runs.</summary>
    public TimeSpan ScoreEvery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The shortest soak that still has a first and a last half worth comparing.</summary>
    public static TimeSpan MinimumDuration { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The results file as given (null: <see cref="DefaultOut"/> under the repository root).</summary>
    public string? Out { get; init; }

    /// <summary>Only list the benchmarks.</summary>
    public bool List { get; init; }

    /// <summary>Only print usage.</summary>
    public bool Help { get; init; }

    public static string Usage(IEnumerable<IBenchmark> benchmarks) =>
        $"""
        Usage: dotnet run -c Release --project tests/HealthScoring.Benchmarks -- [options]
               scripts/bench.sh [options]

          --only NAME[,NAME]   run only these benchmarks; their results are merged into the results file by
                               name (without --only the file is overwritten with this run's results)
          --events N           events to generate (default 1000000)
          --streams N          streams to spread them over (default 10000)
          --batch-size N       events per BulkAppendAsync call (default 50000; also ingest's raw append)
          --order ORDER        eventstore.bulk_append: reference-first (default) or ours-first (ingest always
                               runs the reference first)
          --accounts N         ingest: accounts the Segment events belong to; alerts.hubspot_latency: accounts
                               scored (default 5000)
          --concurrency N      ingest: concurrent HTTP connections posting /v1/batch (default 8)
          --grpc-calls N       ingest: concurrent gRPC IngestStream calls (default 4)
          --http-batch N       ingest: events per /v1/batch request (default 500; the body must stay under 500 KB)
          --grpc-batch N       ingest: events per IngestBatchRequest message (default 1000)
          --hubspot-rate N     alerts.hubspot_latency: the HubSpot client's requests per 10 s (default: the
                               client's default, 90; the fake allows Professional's 190)
          --api-dll PATH       ingest: run this HealthScoring.Api.dll instead of the repository's Release build
                               (e.g. a copy of an earlier build, to interleave before/after runs)
          --no-projection      ingest: the API host without its account-daily projection (an ingest-only host),
                               reported as ingest.no_projection.* beside, never instead of, the headline
          --no-warmup          ingest: measure the API host cold, without the untimed warm-up load (a tenth of
                               --events, 10,000 to 100,000, over HTTP and gRPC) that the sides otherwise follow
          --duration D         soak.mixed: how long the mixed load runs, as seconds or with s/m (default 10m,
                               at least 60s); soak.mixed runs only when named by --only (scripts/soak.sh, make soak)
          --ingest-rate N      soak.mixed: events per second (default 3000; 4/5 /v1/batch, 1/5 IngestStream)
          --query-rate N       soak.mixed: REST queries per second (default 50)
          --score-every D      soak.mixed: time between scoring runs (default 1m)
          --out PATH           results file (default {DefaultOut} under the repository root;
                               a relative PATH is taken from the current directory)
          --list               list the benchmarks and exit
          -h, --help           this text

        Connection: ConnectionStrings__EventStore, else 127.0.0.1:$HS_PG_PORT (default 55432), database healthscoring.

        Benchmarks:
        {string.Join(Environment.NewLine, benchmarks.Select(b => $"  {b.Name,-28} {b.Description}"))}
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new BenchmarkOptions();
        var only = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var (key, inline) = arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains('=', StringComparison.Ordinal)
                ? (arg[..arg.IndexOf('=', StringComparison.Ordinal)], arg[(arg.IndexOf('=', StringComparison.Ordinal) + 1)..])
                : (arg, null);
            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{key} needs a value.");
                }

                return args[++i];
            }

            switch (key)
            {
                case "--only":
                    only.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--events":
                    options = options with { Events = Positive(key, Value()) };
                    break;
                case "--streams":
                    options = options with { Streams = Positive(key, Value()) };
                    break;
                case "--batch-size":
                    options = options with { BatchSize = Positive(key, Value()) };
                    break;
                case "--order":
                    options = options with
                    {
                        Order = Value() switch
                        {
                            "reference-first" => RunOrder.ReferenceFirst,
                            "ours-first" => RunOrder.OursFirst,
                            var other => throw new ArgumentException($"--order must be reference-first or ours-first, not '{other}'."),
                        },
                    };
                    break;
                case "--accounts":
                    options = options with { Accounts = Positive(key, Value()) };
                    break;
                case "--concurrency":
                    options = options with { Concurrency = Positive(key, Value()) };
                    break;
                case "--grpc-calls":
                    options = options with { GrpcCalls = Positive(key, Value()) };
                    break;
                case "--http-batch":
                    options = options with { HttpBatch = Positive(key, Value()) };
                    break;
                case "--grpc-batch":
                    options = options with { GrpcBatch = Positive(key, Value()) };
                    break;
                case "--hubspot-rate":
                    options = options with { HubSpotRate = Positive(key, Value()) };
                    break;
                case "--api-dll":
                    options = options with { ApiDll = Path.GetFullPath(Value()) };
                    break;
                case "--no-projection":
                    options = options with { NoProjection = true };
                    break;
                case "--no-warmup":
                    options = options with { NoWarmup = true };
                    break;
                case "--duration":
                    options = options with { Duration = Span(key, Value()) };
                    break;
                case "--ingest-rate":
                    options = options with { IngestRate = Positive(key, Value()) };
                    break;
                case "--query-rate":
                    options = options with { QueryRate = Positive(key, Value()) };
                    break;
                case "--score-every":
                    options = options with { ScoreEvery = Span(key, Value()) };
                    break;
                case "--out":
                    options = options with { Out = Value() };
                    break;
                case "--list":
                    options = options with { List = true };
                    break;
                case "-h" or "--help":
                    options = options with { Help = true };
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{arg}'.");
            }
        }

        // --streams only shapes eventstore.bulk_append: do not refuse a small --events for the other benchmarks.
        if (options.Streams > options.Events && (only.Count == 0 || only.Contains(EventStoreBulkAppendBenchmark.BenchmarkName)))
        {
            throw new ArgumentException($"--streams ({options.Streams}) must not exceed --events ({options.Events}): every stream gets at least one event.");
        }

        if (options.Duration < MinimumDuration)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--duration must be at least {MinimumDuration.TotalSeconds:F0}s: the soak compares its last half with the point half-way."));
        }

        return options with { Only = only };
    }

    /// <summary>A positive time as whole seconds (<c>90</c>, <c>90s</c>) or minutes (<c>10m</c>).</summary>
    private static TimeSpan Span(string key, string text)
    {
        var (digits, unit) = text.EndsWith('m') ? (text[..^1], 60) : text.EndsWith('s') ? (text[..^1], 1) : (text, 1);
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? TimeSpan.FromSeconds((long)n * unit)
            : throw new ArgumentException($"{key} must be a positive number of seconds (90, 90s) or minutes (10m), not '{text}'.");
    }

    private static int Positive(string key, string text) =>
        int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{key} must be a positive whole number, not '{text}'.");
}

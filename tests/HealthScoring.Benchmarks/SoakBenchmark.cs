using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using HealthScoring.Api.Tenancy;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// The soak: the real API host (child process, Release) on a fresh schema and RabbitMQ vhost under sustained mixed
/// load for <c>--duration</c> (10 minutes by default): Segment /v1/batch and gRPC IngestStream at a fixed rate well
/// under capacity (with deliberately invalid items and repeats), REST portfolio and analytics queries at a fixed
/// rate, and a <c>healthscore score</c> run every <c>--score-every</c>. Reports throughput, p50/p99 latencies,
/// failures by kind and the API's resident set (start, half-way, peak, end); PASS needs RSS growth under 10 %
/// over the last half and no failure other than the deliberate rejects, else the run exits non-zero.
/// </summary>
/// <remarks>
/// Set-up, not timed: <c>healthscore generate</c> (a few hundred accounts × 4 months), its events sent through
/// /v1/batch (<c>healthscore import events --api</c>), its billing imported, both models trained and a first
/// scoring run, so that the queries have scores to read. Scoring runs walk forward one day each (the last is today),
/// as a daily schedule would, so that each appends new scores and its alerts reach the publisher.
/// </remarks>
public sealed partial class SoakBenchmark : IBenchmark
{
    public const string BenchmarkName = "soak.mixed";

    private const string Tenant = "soak";
    private const int SeedAccounts = 300;
    private const int SeedMonths = 4;
    private const int Seed = 7;
    private const int HttpBatchSize = 100;
    private const int GrpcMessageSize = 300;
    private const double GrpcCallsPerSecond = 0.5;
    private const double RssGrowthLimitPercent = 10;

    // Short horizon and interval: 4 months of history give enough labelled snapshots (the default 90 days would not).
    private const int TrainHorizonDays = 30;
    private const int TrainIntervalDays = 7;

    private static readonly TimeSpan RssEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(30);

    public string Name => BenchmarkName;

    public string Description => "10 min (--duration) of ingest (HTTP + gRPC), REST queries and scoring runs against the API host; p50/p99, errors, API RSS growth over the last half (only with --only)";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options;
        var log = context.Log;
        var schema = BenchDatabase.NewSchemaName("soak");
        var scoringRuns = Math.Max(1, (int)(options.Duration / options.ScoreEvery));
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {options.Duration.TotalMinutes:F1} min of {options.IngestRate:N0} events/s (4/5 /v1/batch of {HttpBatchSize}, 1/5 IngestStream), {options.QueryRate} queries/s and a scoring run every {options.ScoreEvery.TotalSeconds:F0}s ({scoringRuns} runs)"));
        log.Info($"  database {BenchConnection.Describe(context.ConnectionString)}, schema {schema} (dropped at the end)");

        var root = RepoPaths.Root();
        var cli = new HealthScoreCli(root, context.ConnectionString, schema);
        var data = Directory.CreateTempSubdirectory("healthscoring-soak-");
        await using var dataSource = NpgsqlDataSource.Create(BenchDatabase.Builder(context.ConnectionString).ConnectionString);
        await using var vhost = await RabbitMqVhost.CreateAsync(cancellationToken);
        ApiHostProcess? api = null;
        try
        {
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var firstDay = today.AddDays(-scoringRuns);
            var sw = Stopwatch.StartNew();
            await cli.RunCheckedAsync(["generate", "--accounts", Text(SeedAccounts), "--months", Text(SeedMonths), "--seed", Text(Seed), "--end", Day(today.AddDays(-1)), "--out", data.FullName], cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture, $"  generated {SeedAccounts} accounts × {SeedMonths} months into {data.FullName} ({sw.Elapsed.TotalSeconds:F1}s)"));

            api = await ApiHostProcess.StartAsync(ApiHostProcess.DefaultDll(root), context.ConnectionString, schema, log, cancellationToken,
                new Dictionary<string, string> { ["RabbitMq__VirtualHost"] = vhost.Name });
            var keys = new ApiKeyStore(dataSource, new EventStoreOptions { Schema = schema, MigrateOnStart = false }, TimeProvider.System);
            await keys.EnsureTenantAsync(Tenant, cancellationToken);
            var (_, writeKey) = await keys.CreateKeyAsync(Tenant, KeyKind.Write, "soak write key", cancellationToken);
            var (_, apiKey) = await keys.CreateKeyAsync(Tenant, KeyKind.Api, "soak api key", cancellationToken);

            await SeedAsync(cli, api, writeKey, data.FullName, firstDay, log, cancellationToken);
            var stats = new SoakStats();
            using var http = new SoakHttp(api.RestUrl, writeKey, apiKey, stats);
            var scored = await ScoredAccountsAsync(http, stats, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture, $"  {scored.Count} accounts scored as of {Day(firstDay)}; API RSS after set-up {RssSampler.ReadStatusMegabytes(api.ProcessId, "VmRSS"):F0} MB"));

            var events = new SoakEvents(ReadAccounts(Path.Combine(data.FullName, "accounts.csv")), ReadEventNames(Path.Combine(data.FullName, "taxonomy.json")), "usr_{0}_{1:D3}");
            var soak = await SoakAsync(context, api, cli, http, events, stats, scored, firstDay, scoringRuns, writeKey, () => ProjectionLagAsync(dataSource, schema, cancellationToken), cancellationToken);
            await VerifyStoredAsync(dataSource, schema, soak, stats, cancellationToken);
            return Report(context, soak, stats);
        }
        catch (Exception ex) when (api is not null && ex is not OperationCanceledException)
        {
            log.Info($"  API host's last output:{Environment.NewLine}{api.OutputTail()}");
            throw;
        }
        finally
        {
            if (api is not null)
            {
                await api.DisposeAsync();
            }

            data.Delete(recursive: true);
            await BenchDatabase.DropSchemaAsync(dataSource, schema, log);
        }
    }

    /// <summary>What the timed phase measured besides <see cref="SoakStats"/>.</summary>
    private sealed record SoakRun(
        TimeSpan Elapsed, DateTimeOffset StartedAt, IReadOnlyList<(TimeSpan At, double Mb)> Rss,
        IReadOnlyList<double> ScoringSeconds, long ScoresAppended, double ApiCpuSeconds);

    /// <summary>The history, through the real doors, then both models and a first scoring run (not timed).</summary>
    private static async Task SeedAsync(HealthScoreCli cli, ApiHostProcess api, string writeKey, string data, DateOnly firstDay, ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        await cli.RunCheckedAsync(["taxonomy", "declare", Path.Combine(data, "taxonomy.json"), "--tenant", Tenant], cancellationToken);
        var import = await cli.RunCheckedAsync(["import", "events", Path.Combine(data, "events.jsonl"), "--api", api.RestUrl.ToString(), "--concurrency", "4"], cancellationToken,
            new Dictionary<string, string> { ["HEALTHSCORE_WRITE_KEY"] = writeKey });
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  history sent through /v1/batch by healthscore import events --api ({import.Elapsed.TotalSeconds:F1}s): {Summary(import)}"));
        var billing = await cli.RunCheckedAsync(["import", "billing", Path.Combine(data, "billing.jsonl"), "--tenant", Tenant], cancellationToken);
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  billing imported ({billing.Elapsed.TotalSeconds:F1}s): {Summary(billing)}"));
        var train = await cli.RunCheckedAsync(["train", "--tenant", Tenant, "--as-of", Day(firstDay), "--horizon", Text(TrainHorizonDays), "--interval", Text(TrainIntervalDays)], cancellationToken);
        foreach (var line in train.Output.Where(l => l.StartsWith("Registered", StringComparison.Ordinal) || l.Contains("backtest ROC AUC", StringComparison.Ordinal)))
        {
            log.Info($"  train: {line}");
        }

        var score = await cli.RunCheckedAsync(["score", "--tenant", Tenant, "--as-of", Day(firstDay), "--top", "0"], cancellationToken);
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  first scoring run ({score.Elapsed.TotalSeconds:F1}s): {score.Output.FirstOrDefault(l => l.StartsWith("Scored", StringComparison.Ordinal))}"));
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  set-up done in {sw.Elapsed.TotalSeconds:F0}s"));
    }

    /// <summary>The accounts the portfolio lists (every page), for the per-account queries.</summary>
    private static async Task<List<string>> ScoredAccountsAsync(SoakHttp http, SoakStats stats, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        string? token = null;
        do
        {
            var body = await http.GetAsync("setup", "/v1/accounts", $"v1/accounts?pageSize=500{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}", cancellationToken)
                ?? throw new InvalidOperationException($"GET /v1/accounts failed after the first scoring run: {string.Join("; ", stats.Errors.Keys)}.");
            using var page = JsonDocument.Parse(body);
            ids.AddRange(page.RootElement.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("accountId").GetString()!));
            token = page.RootElement.TryGetProperty("nextPageToken", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (token is not null);

        return ids.Count > 0 ? ids : throw new InvalidOperationException("The first scoring run left no account to query.");
    }

    private static async Task<SoakRun> SoakAsync(
        BenchmarkContext context, ApiHostProcess api, HealthScoreCli cli, SoakHttp http, SoakEvents events, SoakStats stats,
        IReadOnlyList<string> accounts, DateOnly firstDay, int scoringRuns, string writeKey, Func<Task<long>> projectionLag, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var log = context.Log;
        var httpRequestsPerSecond = options.IngestRate * 0.8 / HttpBatchSize;
        var grpcEventsPerCall = (int)Math.Max(1, options.IngestRate * 0.2 / GrpcCallsPerSecond);
        var rss = new List<(TimeSpan, double)>();
        var scoringSeconds = new List<double>();
        long scoresAppended = 0;
        var silent = new ProgressLog(TextWriter.Null, interactive: false);
        var startedAt = DateTimeOffset.UtcNow;
        var cpuBefore = CpuTime.OfProcess(api.ProcessId) ?? 0;
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(options.Duration);
        log.Info($"  soak started at {startedAt:HH:mm:ss} UTC; a line every {ReportEvery.TotalSeconds:F0}s");

        Task IngestHttp() => SoakPacer.RunAsync("ingest.http", httpRequestsPerSecond,
            n => http.SendBatchAsync(events.NextHttpBatch(n, HttpBatchSize), events, cancellationToken), stats, stop.Token);

        Task IngestGrpc() => SoakPacer.RunAsync("ingest.grpc", GrpcCallsPerSecond, async n =>
        {
            var frames = new List<byte[]>();
            var counts = new List<int>();
            for (var left = grpcEventsPerCall; left > 0; left -= GrpcMessageSize)
            {
                counts.Add(Math.Min(left, GrpcMessageSize));
                frames.Add(events.NextGrpcFrame((n * 1_000) + frames.Count, counts[^1]));
            }

            try
            {
                var outcome = await GrpcIngestLoad.RunAsync(api.GrpcUrl, writeKey, new PayloadSet(frames, counts), 1, silent, cancellationToken);
                stats.Latency("ingest.grpc", outcome.Elapsed.TotalMilliseconds);
                stats.Ingested(outcome.Accepted, outcome.Duplicates, 0);
                for (var r = 0; r < outcome.Retries; r++)
                {
                    stats.Error($"IngestStream: retried ({outcome.FirstFailure})");
                }
            }
            catch (InvalidOperationException ex)
            {
                stats.Error($"IngestStream: {ex.Message}");
            }
        }, stats, stop.Token);

        Task Query() => SoakPacer.RunAsync("query", options.QueryRate, n => QueryAsync(http, accounts, n, cancellationToken), stats, stop.Token);

        async Task Score()
        {
            for (var k = 1; k <= scoringRuns; k++)
            {
                // Half an interval in, then one interval apart (or at once, when the previous run overran).
                var due = options.ScoreEvery * (k - 0.5);
                if (due > clock.Elapsed)
                {
                    try
                    {
                        await Task.Delay(due - clock.Elapsed, stop.Token);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                }

                if (stop.IsCancellationRequested)
                {
                    return;
                }

                var run = await cli.RunAsync(["score", "--tenant", Tenant, "--as-of", Day(firstDay.AddDays(k)), "--top", "0"], cancellationToken);
                if (run.ExitCode != 0)
                {
                    stats.Error(string.Create(CultureInfo.InvariantCulture, $"healthscore score: exit code {run.ExitCode}"));
                    log.Info($"  healthscore score failed:{Environment.NewLine}{run.Tail}");
                    continue;
                }

                scoringSeconds.Add(run.Elapsed.TotalSeconds);
                stats.Latency("scoring", run.Elapsed.TotalMilliseconds);
                var appended = run.Output.Select(l => NewScoreEvents().Match(l)).FirstOrDefault(m => m.Success);
                Interlocked.Add(ref scoresAppended, appended is null ? 0 : long.Parse(appended.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
                var waited = run.Output.Any(l => l.Contains("waiting for it to reach the end of the log", StringComparison.Ordinal));
                log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"  scoring run {k}/{scoringRuns} as of {Day(firstDay.AddDays(k))}: {run.Elapsed.TotalSeconds:F1}s{(waited ? " (waited for the host's projection to reach the end of the log)" : "")}; {run.Output.FirstOrDefault(l => l.StartsWith("Scored", StringComparison.Ordinal))}"));
            }
        }

        async Task Sample()
        {
            using var timer = new PeriodicTimer(RssEvery);
            var nextReport = ReportEvery;
            do
            {
                api.EnsureRunning();
                if (RssSampler.ReadStatusMegabytes(api.ProcessId, "VmRSS") is { } mb)
                {
                    lock (rss)
                    {
                        rss.Add((clock.Elapsed, mb));
                    }

                    if (clock.Elapsed >= nextReport)
                    {
                        nextReport += ReportEvery;
                        log.Info(Progress(clock.Elapsed, mb, stats, scoringSeconds.Count, await projectionLag()));
                    }
                }
            }
            while (await Tick(timer, stop.Token));
        }

        var sampler = Task.Run(Sample, CancellationToken.None);
        await Task.WhenAll(Task.Run(IngestHttp, CancellationToken.None), Task.Run(IngestGrpc, CancellationToken.None), Task.Run(Query, CancellationToken.None), Task.Run(Score, CancellationToken.None));
        var elapsed = clock.Elapsed;
        await sampler;
        if (RssSampler.ReadStatusMegabytes(api.ProcessId, "VmRSS") is { } last)
        {
            rss.Add((elapsed, last));
        }

        api.EnsureRunning();
        var cpu = (CpuTime.OfProcess(api.ProcessId) ?? cpuBefore) - cpuBefore;
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  soak done after {elapsed.TotalSeconds:F0}s (calls in flight at the end included)"));
        return new SoakRun(elapsed, startedAt, rss, scoringSeconds, Interlocked.Read(ref scoresAppended), cpu);
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// One query of the mix (of every 20: 8 list pages with filters and sorts, 5 account details, 4 score histories,
    /// 3 dashboard analytics).
    /// </summary>
    private static Task<byte[]?> QueryAsync(SoakHttp http, IReadOnlyList<string> accounts, long n, CancellationToken cancellationToken)
    {
        var account = Uri.EscapeDataString(accounts[(int)((n * 31) % accounts.Count)]);
        return (n % 20) switch
        {
            0 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts", cancellationToken),
            1 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?band=at-risk&sort=mrrAtRisk", cancellationToken),
            2 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?band=watch&sort=score&pageSize=100", cancellationToken),
            3 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?sort=mrr&pageSize=25", cancellationToken),
            4 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?plan=business", cancellationToken),
            5 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?q=a&sort=name", cancellationToken),
            6 => NextPageAsync(http, cancellationToken),
            7 => http.GetAsync("query.list", "/v1/accounts", "v1/accounts?band=healthy", cancellationToken),
            < 13 => http.GetAsync("query.account", "/v1/accounts/{id}", $"v1/accounts/{account}", cancellationToken),
            < 17 => http.GetAsync("query.history", "/v1/accounts/{id}/history", $"v1/accounts/{account}/history", cancellationToken),
            < 19 => http.GetAsync("query.analytics", "/v1/analytics/adoption", "v1/analytics/adoption", cancellationToken),
            _ => http.GetAsync("query.analytics", "/v1/analytics/stickiness", "v1/analytics/stickiness", cancellationToken),
        };
    }

    /// <summary>A first page of 20, then the page after it by its token (the second request is the one measured as a list).</summary>
    private static async Task<byte[]?> NextPageAsync(SoakHttp http, CancellationToken cancellationToken)
    {
        var first = await http.GetAsync("query.list", "/v1/accounts", "v1/accounts?pageSize=20&sort=risk", cancellationToken);
        if (first is null)
        {
            return null;
        }

        using var page = JsonDocument.Parse(first);
        return page.RootElement.TryGetProperty("nextPageToken", out var token) && token.ValueKind == JsonValueKind.String
            ? await http.GetAsync("query.list", "/v1/accounts", $"v1/accounts?pageSize=20&sort=risk&pageToken={Uri.EscapeDataString(token.GetString()!)}", cancellationToken)
            : first;
    }

    /// <summary>Every live event the API acknowledged is in the log, once.</summary>
    private static async Task VerifyStoredAsync(NpgsqlDataSource dataSource, string schema, SoakRun soak, SoakStats stats, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select count(*) from {schema}.events where tenant_id = $1 and type = 'segment.track' and occurred_at >= $2");
        command.Parameters.AddWithValue(Tenant);
        command.Parameters.AddWithValue(soak.StartedAt.AddSeconds(-1));
        var stored = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (stored != stats.Accepted)
        {
            stats.Error(string.Create(CultureInfo.InvariantCulture, $"the log holds {stored:N0} live events, the API acknowledged {stats.Accepted:N0}"));
        }
    }

    private List<BenchmarkResult> Report(BenchmarkContext context, SoakRun soak, SoakStats stats)
    {
        var log = context.Log;
        var seconds = soak.Elapsed.TotalSeconds;
        var half = soak.Elapsed / 2;
        var start = soak.Rss[0].Mb;
        var atHalf = soak.Rss.First(s => s.At >= half).Mb;
        var end = soak.Rss[^1].Mb;
        var peak = soak.Rss.Max(s => s.Mb);
        var growth = (end - atHalf) / atHalf * 100;
        var latencies = stats.Latencies();
        var results = new List<BenchmarkResult>
        {
            BenchmarkResult.Plain($"{Name}.duration", seconds, "s"),
            BenchmarkResult.Plain($"{Name}.ingest.events_per_s", stats.Accepted / seconds, "events/s"),
        };

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  ingest: {stats.Accepted:N0} events stored ({stats.Accepted / seconds:N0}/s), {stats.Duplicates:N0} deliberate repeats answered as duplicates, {stats.DeliberateRejects:N0} deliberately invalid items rejected"));
        foreach (var (operation, values) in latencies.Where(p => p.Key != "setup").OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var p50 = Percentiles.NearestRank(values, 0.5);
            var p99 = Percentiles.NearestRank(values, 0.99);
            var scoring = operation == "scoring";
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {operation,-16} {values.Length,7:N0} ({values.Length / seconds,6:N1}/s)  p50 {Unit(p50, scoring)}  p99 {Unit(p99, scoring)}  max {Unit(values.Max(), scoring)}"));
            if (!scoring)
            {
                results.Add(BenchmarkResult.Plain($"{Name}.{operation}.per_s", values.Length / seconds, "requests/s"));
            }

            results.Add(BenchmarkResult.Plain($"{Name}.{operation}.p50", scoring ? p50 / 1000 : p50, scoring ? "s" : "ms"));
            results.Add(BenchmarkResult.Plain($"{Name}.{operation}.p99", scoring ? p99 / 1000 : p99, scoring ? "s" : "ms"));
        }

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  scoring: {soak.ScoringSeconds.Count} runs of healthscore score (process start to exit), {soak.ScoresAppended:N0} scores appended"));
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  API RSS: start {start:F0} MB, half-way ({half.TotalSeconds:F0}s) {atHalf:F0} MB, peak {peak:F0} MB, end {end:F0} MB: {growth:+0.0;-0.0}% over the last half (limit < {RssGrowthLimitPercent:F0}%); API CPU {soak.ApiCpuSeconds / seconds:F2} cores"));
        var errors = stats.Errors.Where(e => e.Value > 0).OrderByDescending(e => e.Value).ToList();
        log.Info(errors.Count == 0
            ? "  errors: none (besides the deliberate rejects)"
            : $"  errors: {string.Join("; ", errors.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} × {e.Value:N0}")))}");

        results.AddRange(
        [
            BenchmarkResult.Plain($"{Name}.scoring.runs", soak.ScoringSeconds.Count, "runs"),
            BenchmarkResult.Plain($"{Name}.scoring.scores_appended", soak.ScoresAppended, "scores"),
            BenchmarkResult.Plain($"{Name}.deliberate_rejects", stats.DeliberateRejects, "items"),
            BenchmarkResult.Plain($"{Name}.errors", stats.ErrorCount, "errors"),
            BenchmarkResult.Plain($"{Name}.api_rss.start", start, "MB"),
            BenchmarkResult.Plain($"{Name}.api_rss.half", atHalf, "MB"),
            BenchmarkResult.Plain($"{Name}.api_rss.peak", peak, "MB"),
            BenchmarkResult.Plain($"{Name}.api_rss.end", end, "MB"),
            BenchmarkResult.Compared($"{Name}.api_rss.growth_last_half", growth, "%", "acceptance limit", RssGrowthLimitPercent),
            BenchmarkResult.Plain($"{Name}.api_cpu", soak.ApiCpuSeconds / seconds, "cores"),
        ]);

        var missed = new List<string>();
        if (growth >= RssGrowthLimitPercent)
        {
            missed.Add(string.Create(CultureInfo.InvariantCulture, $"{Name}: the API's RSS grew {growth:F1}% over the last half (limit < {RssGrowthLimitPercent:F0}%)"));
        }

        if (stats.ErrorCount > 0)
        {
            missed.Add(string.Create(CultureInfo.InvariantCulture, $"{Name}: {stats.ErrorCount:N0} error(s) besides the deliberate rejects"));
        }

        if (soak.ScoringSeconds.Count == 0)
        {
            missed.Add($"{Name}: no scoring run completed");
        }

        foreach (var criterion in missed)
        {
            context.MissedTarget(criterion);
        }

        log.Info(missed.Count == 0
            ? $"  {Name}: PASS (RSS growth < {RssGrowthLimitPercent:F0}% over the last half, no error besides the deliberate rejects)"
            : $"  {Name}: FAIL: {string.Join("; ", missed)}");
        return results;
    }

    /// <summary>Events in the log after the host's daily projection's checkpoint (scoring waits for it to pass what came before).</summary>
    private static async Task<long> ProjectionLagAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken) =>
        await BenchDatabase.ScalarAsync(dataSource,
            $"select count(*) from {schema}.events e where (e.tx_id, e.seq) > coalesce((select (s.tx_id, s.seq) from {schema}.subscriptions s where s.name = 'account-daily'), ('0'::xid8, 0::bigint))",
            cancellationToken);

    private static string Progress(TimeSpan at, double rssMb, SoakStats stats, int scoringRuns, long projectionLag)
    {
        var latencies = stats.Latencies();
        string P99(string operation) => latencies.TryGetValue(operation, out var v) && v.Length > 0
            ? Percentiles.NearestRank(v, 0.99).ToString("F0", CultureInfo.InvariantCulture) + " ms"
            : "-";
        return string.Create(CultureInfo.InvariantCulture,
            $"  {at.TotalSeconds,5:F0}s: {stats.Accepted:N0} events stored; p99 so far: http {P99("ingest.http")}, grpc {P99("ingest.grpc")}, list {P99("query.list")}, account {P99("query.account")}; {scoringRuns} scoring runs; projection {projectionLag:N0} events behind; API RSS {rssMb:F0} MB; {stats.ErrorCount} errors");
    }

    private static string Unit(double ms, bool seconds) =>
        seconds ? (ms / 1000).ToString("F1", CultureInfo.InvariantCulture).PadLeft(7) + " s " : ms.ToString("F1", CultureInfo.InvariantCulture).PadLeft(7) + " ms";

    /// <summary>Account ids and seats from the generator's ground truth (accounts.csv: account_id first, seats_end fifth).</summary>
    private static List<(string AccountId, int Seats)> ReadAccounts(string path) =>
        [.. File.ReadLines(path).Skip(1).Select(line =>
        {
            // Names and owners hold no commas in the generator's output; only the leading fields are read.
            var fields = line.Split(',');
            return (fields[0], int.Parse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture));
        })];

    /// <summary>The declared events that need no property (so that every live call is valid by the taxonomy).</summary>
    private static List<string> ReadEventNames(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var names = json.RootElement.EnumerateArray()
            .Where(e => !e.GetProperty("properties").EnumerateObject().Any(p => p.Value.GetProperty("required").GetBoolean()))
            .Select(e => e.GetProperty("event").GetString()!)
            .ToList();
        return names.Count > 0 ? names : throw new InvalidOperationException($"{path} declares no event without required properties.");
    }

    /// <summary>A command's summary table (its header and last row) on one line.</summary>
    private static string Summary(HealthScoreCli.Run run)
    {
        var rows = run.Output.Where(l => l.StartsWith('│')).Select(l => string.Join(", ", l.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))).ToList();
        return rows.Count >= 2 ? $"{rows[0]}: {rows[^1]}" : "(no summary)";
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"; ([\d,]+) new score events")]
    private static partial Regex NewScoreEvents();
}

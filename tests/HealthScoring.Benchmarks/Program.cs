using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using HealthScoring.Benchmarks;
using HealthScoring.Testing;

// The suite, in run order. A new benchmark is one IBenchmark file plus one line here; its results land in the
// same results file.
IBenchmark[] suite =
[
    new EventStoreBulkAppendBenchmark(),
    new IngestBenchmark(),
    new GradientBoostedTreesBenchmark(),
    new AlertsHubSpotLatencyBenchmark(),
];

// Too long for every `make bench`: these run only when --only names them (make soak).
IBenchmark[] onRequest = [new SoakBenchmark()];
IBenchmark[] known = [.. suite, .. onRequest];

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}{Environment.NewLine}{Environment.NewLine}{BenchmarkOptions.Usage(known)}");
    return 2;
}

if (options.Help || options.List)
{
    Console.WriteLine(options.Help ? BenchmarkOptions.Usage(known) : string.Join(Environment.NewLine, known.Select(b => $"{b.Name,-28} {b.Description}")));
    return 0;
}

var unknown = options.Only.Where(n => !known.Any(b => b.Name == n)).ToList();
if (unknown.Count > 0)
{
    await Console.Error.WriteLineAsync($"error: no benchmark named {string.Join(", ", unknown)}; known: {string.Join(", ", known.Select(b => b.Name))}");
    return 2;
}

var selected = options.Only.Count == 0 ? suite : known.Where(b => options.Only.Contains(b.Name)).ToArray();
var outPath = Path.GetFullPath(options.Out ?? Path.Combine(RepoPaths.Root(), BenchmarkOptions.DefaultOut));

// Ctrl-C and SIGTERM (a cancelled CI job) cancel cooperatively, so that each benchmark's cleanup (dropping its
// schema, deleting its files) still runs; a second signal is handled the same way, so send SIGKILL to force it.
using var cancellation = new CancellationTokenSource();
void Cancel(PosixSignalContext signal)
{
    signal.Cancel = true;
    cancellation.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

var log = ProgressLog.ForConsole();
var context = new BenchmarkContext(options, BenchConnection.Resolve(), log);
var results = new List<BenchmarkResult>();
var total = Stopwatch.StartNew();
foreach (var benchmark in selected)
{
    var ownPeak = PeakMemory.TryReset();
    try
    {
        results.AddRange(await benchmark.RunAsync(context, cancellation.Token));
    }
    catch (Exception) when (cancellation.IsCancellationRequested)
    {
        // Whatever broke after the signal (psql gets Ctrl-C too and exits with an error) is the cancellation.
        await Console.Error.WriteLineAsync($"{benchmark.Name}: cancelled; no results written.");
        return 130;
    }
    catch (Exception ex)
    {
        // A failed benchmark fails the run loudly: no partial results file. Expected failures (verification,
        // database, psql) need only their message; anything else is a bug, shown with its stack.
        var expected = ex is InvalidOperationException or Npgsql.NpgsqlException or IOException or System.ComponentModel.Win32Exception or TimeoutException or HttpRequestException;
        await Console.Error.WriteLineAsync($"{benchmark.Name}: FAILED: {(expected ? ex.Message : ex.ToString())}{Environment.NewLine}No results written.");
        return 1;
    }

    results.Add(BenchmarkResult.Plain($"{benchmark.Name}.peak_working_set", PeakMemory.PeakMegabytes(), "MB"));
    if (!ownPeak)
    {
        log.Info($"  note: the peak working set could not be reset, so {benchmark.Name}.peak_working_set is the process's peak so far");
    }
}

Console.WriteLine();
ResultsTable.Write(results);
await ResultsFile.WriteAsync(outPath, results, merge: options.Only.Count > 0, cancellation.Token);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{(options.Only.Count > 0 ? "Merged into" : "Wrote")} {outPath} ({results.Count} result(s), {total.Elapsed.TotalSeconds:F1}s)"));
if (context.MissedTargets.Count > 0)
{
    // Measured and written, but an enforced criterion was missed (the soak's): the run fails.
    await Console.Error.WriteLineAsync($"FAIL: {string.Join("; ", context.MissedTargets)}");
    return 1;
}

return 0;

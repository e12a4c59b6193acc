using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HealthScoring.Models;
using HealthScoring.Models.Trees;
using HealthScoring.Testing;

namespace HealthScoring.Benchmarks;

/// <summary>
/// Our <see cref="GradientBoostedTreesTrainer"/> against scikit-learn's HistGradientBoostingClassifier and XGBoost
/// (<c>tree_method="hist"</c>), all on the same generated 200,000 × 30 data set (CSV, 80/20 train/test) with matched
/// settings: fit time, test AUC, and scoring throughput (one thread and all threads) of the 300-tree depth-6 model.
/// The reference side is <c>python/gbdt_reference.py</c>, run with Debian's <c>/usr/bin/python3</c>.
/// </summary>
public sealed class GradientBoostedTreesBenchmark : IBenchmark
{
    public const string BenchmarkName = "models.gbdt";

    private const int Rows = 200_000;
    private const int Features = 30;
    private const int TrainRows = Rows * 4 / 5;
    private const int Seed = 20_261_122;
    private const string Python = "/usr/bin/python3";
    private const int MinimumPredictRows = 1_000_000;
    private static readonly TimeSpan MinimumPredictTime = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PythonTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The matched settings: scoring is measured on this very model (300 trees, depth 6).</summary>
    private static readonly GradientBoostedTreesTrainer.Options Matched = new()
    {
        NumberOfTrees = 300,
        LearningRate = 0.1,
        MaxDepth = 6,
        MaxLeaves = 31,
        MaxBins = 255,
        MinSamplesPerLeaf = 20,
        L2 = 1.0,
        EarlyStoppingRounds = null,
        MaxDegreeOfParallelism = -1,
    };

    public string Name => BenchmarkName;

    public string Description => "gradient-boosted trees: fit time and AUC vs scikit-learn HistGradientBoosting and XGBoost hist; scoring rows/s vs XGBoost";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var log = context.Log;
        var threads = Environment.ProcessorCount;
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name} (load average {LoadAverage()}): {Rows:N0} × {Features} rows ({TrainRows:N0} train / {Rows - TrainRows:N0} test), {Matched.NumberOfTrees} trees, depth {Matched.MaxDepth}, {Matched.MaxLeaves} leaves, learning rate {Matched.LearningRate}, {Matched.MaxBins} bins, {threads} cores"));

        var script = Path.Combine(RepoPaths.Root(), "tests", "HealthScoring.Benchmarks", "python", "gbdt_reference.py");
        if (!File.Exists(script))
        {
            throw new IOException($"The reference script is missing: {script}");
        }

        var sw = Stopwatch.StartNew();
        var (features, labels) = Generate();
        var train = features.SelectRows(Enumerable.Range(0, TrainRows).ToArray());
        var test = features.SelectRows(Enumerable.Range(TrainRows, Rows - TrainRows).ToArray());
        var trainLabels = labels[..TrainRows];
        var testLabels = labels[TrainRows..];
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  data: {labels.Count(l => l) * 100.0 / Rows:F1}% positive, {features.Values.Count(float.IsNaN):N0} missing values, generated in {sw.Elapsed.TotalSeconds:F1}s"));

        var folder = Path.Combine(Path.GetTempPath(), $"hs-bench-gbdt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var trainCsv = Path.Combine(folder, "train.csv");
            var testCsv = Path.Combine(folder, "test.csv");
            sw.Restart();
            WriteCsv(trainCsv, train, trainLabels);
            WriteCsv(testCsv, test, testLabels);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  CSV in {folder} ({(new FileInfo(trainCsv).Length + new FileInfo(testCsv).Length) / (1024.0 * 1024.0):F0} MB, written in {sw.Elapsed.TotalSeconds:F1}s, not timed; deleted at the end)"));

            log.Info("  reference: scikit-learn HistGradientBoostingClassifier and XGBoost hist (python3, matched settings) ...");
            var reference = await RunReferenceAsync(script, trainCsv, testCsv, threads, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  scikit-learn {reference.GetProperty("sklearn_version").GetString()}: fit {Number(reference, "sklearn_fit_seconds"):F2}s on {threads} threads, {Number(reference, "sklearn_fit_seconds_1_thread"):F2}s on 1 ({reference.GetProperty("sklearn_trees").GetInt32()} trees), test AUC {Number(reference, "sklearn_auc"):F4}"));
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  XGBoost {reference.GetProperty("xgboost_version").GetString()}: fit {Number(reference, "xgboost_fit_seconds"):F2}s on {threads} threads, {Number(reference, "xgboost_fit_seconds_1_thread"):F2}s on 1, test AUC {Number(reference, "xgboost_auc"):F4}, predict {Number(reference, "xgboost_rows_per_second_1_thread"):N0} rows/s on 1 thread, {Number(reference, "xgboost_rows_per_second_all_threads"):N0} rows/s on {threads}"));

            log.Info("  ours: GradientBoostedTreesTrainer, matched settings ...");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            sw.Restart();
            var model = new GradientBoostedTreesTrainer(Matched).Fit(train, trainLabels, cancellationToken: cancellationToken);
            var fitSeconds = sw.Elapsed.TotalSeconds;
            GC.Collect();
            sw.Restart();
            var single = new GradientBoostedTreesTrainer(Matched with { MaxDegreeOfParallelism = 1 }).Fit(train, trainLabels, cancellationToken: cancellationToken);
            var fitSecondsOneThread = sw.Elapsed.TotalSeconds;
            if (!ModelFormat.ToBytes(single).AsSpan().SequenceEqual(ModelFormat.ToBytes(model)))
            {
                throw new InvalidOperationException("The models trained on 1 thread and on all threads differ.");
            }

            var probabilities = new double[test.Rows];
            model.PredictProbabilities(test, probabilities);
            var auc = Auc(probabilities, testLabels);
            log.Info(string.Create(CultureInfo.InvariantCulture, $"  ours: fit {fitSeconds:F2}s on {threads} threads, {fitSecondsOneThread:F2}s on 1 (the same model, byte for byte; {model.TreeCount} trees), test AUC {auc:F4}"));
            if (model.TreeCount != Matched.NumberOfTrees || auc < 0.6)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Our model has {model.TreeCount} trees and test AUC {auc:F4}: training did not work."));
            }

            var oneThread = Throughput(model, test, 1, cancellationToken);
            var allThreads = Throughput(model, test, -1, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  ours: scoring {oneThread:N0} rows/s on 1 thread, {allThreads:N0} rows/s on {threads} (SIMD: {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "512" : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "256" : "none")}-bit)"));

            var sklearnFit = Number(reference, "sklearn_fit_seconds");
            var sklearnAuc = Number(reference, "sklearn_auc");
            var xgboostAuc = Number(reference, "xgboost_auc");
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  targets (load average now {LoadAverage()}): fit time ≤ scikit-learn's: {(fitSeconds <= sklearnFit ? "met" : "NOT met")} ({fitSeconds / sklearnFit:F2}×; on 1 thread {fitSecondsOneThread / Number(reference, "sklearn_fit_seconds_1_thread"):F2}×); AUC within 0.005 of it: {(Math.Abs(auc - sklearnAuc) <= 0.005 ? "met" : "NOT met")} ({auc - sklearnAuc:+0.0000;-0.0000}); ≥ 1,000,000 rows/s on one core: {(oneThread >= 1_000_000 ? "met" : "NOT met")}"));

            return
            [
                Seconds($"{Name}.fit_seconds", fitSeconds, $"sklearn HistGradientBoosting, {threads} threads", sklearnFit),
                Seconds($"{Name}.fit_seconds_vs_xgboost", fitSeconds, $"xgboost hist, {threads} threads", Number(reference, "xgboost_fit_seconds")),
                Seconds($"{Name}.fit_seconds_1_thread", fitSecondsOneThread, "sklearn HistGradientBoosting, 1 thread", Number(reference, "sklearn_fit_seconds_1_thread")),
                Seconds($"{Name}.fit_seconds_1_thread_vs_xgboost", fitSecondsOneThread, "xgboost hist, 1 thread", Number(reference, "xgboost_fit_seconds_1_thread")),
                Precise($"{Name}.test_auc", auc, "AUC", "sklearn HistGradientBoosting", sklearnAuc),
                Precise($"{Name}.test_auc_vs_xgboost", auc, "AUC", "xgboost hist", xgboostAuc),
                new BenchmarkResult($"{Name}.auc_minus_sklearn", Math.Round(auc - sklearnAuc, 5), "AUC", null, null, null),
                BenchmarkResult.Compared($"{Name}.score_1_thread", oneThread, "rows/s", "xgboost predict, 1 thread", Number(reference, "xgboost_rows_per_second_1_thread")),
                BenchmarkResult.Compared($"{Name}.score_all_threads", allThreads, "rows/s", $"xgboost predict, {threads} threads", Number(reference, "xgboost_rows_per_second_all_threads")),
            ];
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Seconds to 2 decimals; the ratio is ours / theirs (below 1: ours is faster).</summary>
    private static BenchmarkResult Seconds(string name, double value, string reference, double referenceValue) =>
        new(name, Math.Round(value, 2), "s", reference, Math.Round(referenceValue, 2), Math.Round(value / referenceValue, 3));

    private static BenchmarkResult Precise(string name, double value, string unit, string reference, double referenceValue) =>
        new(name, Math.Round(value, 5), unit, reference, Math.Round(referenceValue, 5), Math.Round(value / referenceValue, 4));

    /// <summary>The 1-minute load average: other work on the machine skews every figure here, theirs and ours.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static double Number(JsonElement json, string name) => json.GetProperty(name).GetDouble();

    /// <summary>Probabilities for the test rows over and over, until enough rows and time have passed; rows per second.</summary>
    private static double Throughput(GradientBoostedTreesModel model, FeatureMatrix rows, int threads, CancellationToken cancellationToken)
    {
        var destination = new double[rows.Rows];
        model.PredictProbabilities(rows, destination, threads);
        var done = 0L;
        var sw = Stopwatch.StartNew();
        while (done < MinimumPredictRows || sw.Elapsed < MinimumPredictTime)
        {
            cancellationToken.ThrowIfCancellationRequested();
            model.PredictProbabilities(rows, destination, threads);
            done += rows.Rows;
        }

        return done / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// A churn-like problem: normal, uniform, skewed (log-normal) and count features, flags, one correlated pair
    /// and one small integer code; the label is a non-linear function with interactions plus logistic noise, cut
    /// so that about a quarter of the rows are positive. A few values are missing at random.
    /// </summary>
    private static (FeatureMatrix Features, bool[] Labels) Generate()
    {
        var random = new Random(Seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var names = Enumerable.Range(0, Features).Select(i => string.Create(CultureInfo.InvariantCulture, $"f{i}")).ToArray();
        var features = FeatureMatrix.Create(Rows, names);
        var latent = new double[Rows];
        for (var r = 0; r < Rows; r++)
        {
            var x = features.RowSpan(r);
            for (var f = 0; f < 10; f++)
            {
                x[f] = (float)Normal();
            }

            for (var f = 10; f < 15; f++)
            {
                x[f] = (float)random.NextDouble();
            }

            for (var f = 15; f < 20; f++)
            {
                x[f] = (float)Math.Exp(Normal());
            }

            for (var f = 20; f < 25; f++)
            {
                x[f] = (float)Math.Floor(Math.Exp(1 + (0.8 * Normal())));
            }

            for (var f = 25; f < 28; f++)
            {
                x[f] = random.NextDouble() < 0.3 ? 1 : 0;
            }

            x[28] = (float)(x[0] + (0.3 * Normal()));
            x[29] = random.Next(10);

            var z = (1.2 * Math.Sin(1.5 * x[0])) + (0.9 * x[1] * x[2]) + (0.7 * Math.Abs(x[3])) - (0.5 * x[4] * x[4])
                + (x[10] > 0.6 ? 1.1 * x[5] : -0.3 * x[5]) + (0.6 * Math.Log(1 + x[15])) - (0.5 * x[6] * x[7])
                + (0.4 * x[25]) + (0.8 * x[25] * x[11]) - (0.15 * Math.Min(x[20], 10)) + (x[29] % 3 == 0 ? 0.5 : 0)
                + (0.3 * x[8]) + (0.4 * Math.Tanh(x[16] - 1.5) * x[12]);
            var u = random.NextDouble();
            latent[r] = z + Math.Log(u / (1 - u)); // logistic noise
        }

        var cut = latent.Order().ElementAt((int)(Rows * 0.75));
        var labels = latent.Select(v => v > cut).ToArray();
        foreach (var f in new[] { 3, 11, 15, 20, 28 })
        {
            for (var r = 0; r < Rows; r++)
            {
                if (random.NextDouble() < 0.03)
                {
                    features[r, f] = float.NaN;
                }
            }
        }

        return (features, labels);
    }

    /// <summary>Header f0..f29,label; floats in round-trip form so python reads the very same float32 values; missing = empty.</summary>
    private static void WriteCsv(string path, FeatureMatrix features, bool[] labels)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 20);
        writer.Write(string.Join(',', features.ColumnNames));
        writer.Write(",label\n");
        Span<char> buffer = stackalloc char[32];
        for (var r = 0; r < features.Rows; r++)
        {
            foreach (var value in features.Row(r))
            {
                if (!float.IsNaN(value) && value.TryFormat(buffer, out var written, "R", CultureInfo.InvariantCulture))
                {
                    writer.Write(buffer[..written]);
                }

                writer.Write(',');
            }

            writer.Write(labels[r] ? "1\n" : "0\n");
        }
    }

    private static async Task<JsonElement> RunReferenceAsync(string script, string trainCsv, string testCsv, int threads, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     script, "--train", trainCsv, "--test", testCsv,
                     "--trees", Matched.NumberOfTrees.ToString(CultureInfo.InvariantCulture),
                     "--depth", Matched.MaxDepth.ToString(CultureInfo.InvariantCulture),
                     "--leaves", Matched.MaxLeaves.ToString(CultureInfo.InvariantCulture),
                     "--learning-rate", Matched.LearningRate.ToString(CultureInfo.InvariantCulture),
                     "--max-bins", Matched.MaxBins.ToString(CultureInfo.InvariantCulture),
                     "--min-samples-leaf", Matched.MinSamplesPerLeaf.ToString(CultureInfo.InvariantCulture),
                     "--l2", Matched.L2.ToString(CultureInfo.InvariantCulture),
                     "--threads", threads.ToString(CultureInfo.InvariantCulture),
                     "--predict-rows", MinimumPredictRows.ToString(CultureInfo.InvariantCulture),
                     "--predict-seconds", MinimumPredictTime.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"{Python} cannot be run ({ex.Message}): install Debian's python3-sklearn, python3-xgboost and python3-pandas.", ex);
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PythonTimeout);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new TimeoutException($"The python reference did not finish within {PythonTimeout.TotalMinutes} minutes.");
            }

            var output = await stdout;
            var errors = await stderr;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"The python reference failed (exit code {process.ExitCode}): {errors.Trim()}");
            }

            var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
                ?? throw new InvalidOperationException($"The python reference printed nothing. {errors.Trim()}");
            return JsonDocument.Parse(last).RootElement.Clone();
        }
    }

    /// <summary>Area under the ROC curve, ties counted half (BinaryMetrics is not ours to use here yet).</summary>
    private static double Auc(double[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        Array.Sort(order, (a, b) => scores[a].CompareTo(scores[b]));
        double rankSum = 0;
        long positives = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j < order.Length && scores[order[j]] == scores[order[i]])
            {
                j++;
            }

            var rank = (i + 1 + j) / 2.0;
            for (var k = i; k < j; k++)
            {
                if (labels[order[k]])
                {
                    rankSum += rank;
                    positives++;
                }
            }

            i = j;
        }

        var negatives = scores.Length - positives;
        return (rankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }
}

using HealthScoring.Api.Accounts;
using HealthScoring.Models;
using HealthScoring.Models.Calibration;
using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Features;
using HealthScoring.Models.Linear;
using HealthScoring.Models.Trees;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Scoring;

/// <summary>What to train.</summary>
public sealed record TrainingRequest(string TenantId, DateOnly AsOf, int HorizonDays = 90, int SnapshotIntervalDays = 14, bool ForcePromote = false, int BacktestDates = 3);

/// <summary>The outcome for one target.</summary>
/// <param name="Target">Churn or expansion.</param>
/// <param name="Registered">The registered version, or null when nothing was registered.</param>
/// <param name="Promoted">Whether it is now the promoted version.</param>
/// <param name="Candidates">Each algorithm's backtest.</param>
/// <param name="Message">Why nothing was registered, or why it was (not) promoted.</param>
/// <param name="Rows">Labelled snapshots.</param>
/// <param name="Positives">Snapshots followed by the target.</param>
/// <param name="LabelCleanBacktest">Whether every training outcome of the backtest was known before its test date.</param>
public sealed record TrainingOutcome(TargetKind Target, RegisteredModel? Registered, bool Promoted, IReadOnlyList<CandidateResult> Candidates, string Message, int Rows, int Positives, bool LabelCleanBacktest);

/// <summary>One algorithm's rolling backtest.</summary>
public sealed record CandidateResult(string Algorithm, BacktestReport Backtest);

/// <summary>
/// Trains churn and expansion models from the tenant's history: snapshots every N days with labels from billing,
/// point-in-time features, a rolling time-split backtest of boosted trees and logistic regression, then the better
/// one refit on every labelled snapshot, calibrated, registered, and promoted when its backtest is at least as good
/// as the promoted model's.
/// </summary>
public sealed class TrainingService(AccountHistoryReader reader, ModelRegistry registry, IOptions<FeatureOptions> featureOptions)
{
    /// <summary>Fewest examples of each outcome worth training on (calibration alone splits them five ways).</summary>
    public const int MinimumPerClass = 10;

    /// <summary>Days of history a snapshot needs before it (the longest change window).</summary>
    public const int MinimumHistoryDays = 28;

    public static GradientBoostedTreesTrainer.Options TreeOptions { get; } = new()
    {
        NumberOfTrees = 200,
        LearningRate = 0.05,
        MaxDepth = 4,
        MinSamplesPerLeaf = 20,
        L2 = 1.0,
        RowSubsample = 0.8,
        FeatureSubsample = 0.8,
        Seed = 42,
    };

    public static LogisticRegressionTrainer.Options LinearOptions { get; } = new() { C = 0.5 };

    public static IBinaryTrainer CreateTrainer(string algorithm) => algorithm switch
    {
        "gbdt" => new GradientBoostedTreesTrainer(TreeOptions),
        "logistic" => new LogisticRegressionTrainer(LinearOptions),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown algorithm."),
    };

    public static IReadOnlyList<string> Algorithms { get; } = ["gbdt", "logistic"];

    public async Task<IReadOnlyList<TrainingOutcome>> TrainAsync(TrainingRequest request, IReadOnlyList<TargetKind> targets, IProgress<(string Stage, double Fraction)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(targets);
        progress?.Report(("reading aggregates", 0));
        var histories = await reader.ReadAsync(request.TenantId, request.AsOf, null, cancellationToken);
        var byId = histories.ToDictionary(h => h.AccountId, StringComparer.Ordinal);
        // Snapshots start once usage is recorded (billing may reach further back, but features need usage).
        var earliestData = histories.SelectMany(h => h.Days.Where(d => d.Events > 0).Take(1)).Select(d => d.Day).DefaultIfEmpty(request.AsOf).Min();
        var dates = Snapshots.Dates(earliestData.AddDays(MinimumHistoryDays), request.AsOf, request.HorizonDays, request.SnapshotIntervalDays);
        var schema = FeatureSchema.For(histories);
        var extractor = new FeatureExtractor(schema, featureOptions.Value.Roles);
        var outcomes = new List<TrainingOutcome>();
        foreach (var target in targets)
        {
            outcomes.Add(await TrainTargetAsync(request, target, byId, dates, schema, extractor, progress, cancellationToken));
        }

        return outcomes;
    }

    private async Task<TrainingOutcome> TrainTargetAsync(TrainingRequest request, TargetKind target, Dictionary<string, AccountHistory> histories, IReadOnlyList<DateOnly> dates, FeatureSchema schema, FeatureExtractor extractor, IProgress<(string Stage, double Fraction)>? progress, CancellationToken cancellationToken)
    {
        var name = ModelRegistry.Name(target);
        var snapshots = Snapshots.Build(histories.Values, dates, request.HorizonDays, target);
        var positives = snapshots.Count(s => s.Label);
        if (snapshots.Count == 0)
        {
            return new TrainingOutcome(target, null, false, [], $"No labelled snapshots: the history before {request.AsOf:yyyy-MM-dd} needs paying customers at least {MinimumHistoryDays + request.HorizonDays} days before it (snapshots every {request.SnapshotIntervalDays} days, horizon {request.HorizonDays} days). Nothing registered.", 0, 0, false);
        }

        if (positives == 0 || positives == snapshots.Count)
        {
            var what = target == TargetKind.Churn ? "churn" : "expansion";
            return new TrainingOutcome(target, null, false, [], positives == 0
                ? $"No {what} in history: none of the {snapshots.Count} snapshots is followed by {(target == TargetKind.Churn ? "a cancellation" : "an MRR increase")} within {request.HorizonDays} days. Nothing registered."
                : $"Every snapshot is followed by {what}; there is nothing to tell apart. Nothing registered.", snapshots.Count, positives, false);
        }

        if (positives < MinimumPerClass || snapshots.Count - positives < MinimumPerClass)
        {
            return new TrainingOutcome(target, null, false, [], $"Too few examples to train a {name} model: {positives} of {snapshots.Count} snapshots are followed by {name} (at least {MinimumPerClass} of each outcome are needed). Nothing registered; more history or a longer --horizon may help.", snapshots.Count, positives, false);
        }

        progress?.Report(($"{name}: features", 0.1));
        var x = Snapshots.Features(extractor, histories, snapshots);
        var y = snapshots.Select(s => s.Label).ToArray();
        var snapshotDates = snapshots.Select(s => s.Date).ToArray();

        // Label-clean backtest when history allows (training outcomes all known before the test date); otherwise
        // train on every snapshot before the test date, and say so.
        var distinct = snapshotDates.Distinct().Order().ToArray();
        var cleanDates = distinct.Where(t => HasBothClasses(snapshotDates, y, d => d.AddDays(request.HorizonDays) <= t)).ToArray();
        var clean = cleanDates.Length > 0;
        var gap = clean ? request.HorizonDays : 1;
        var testDates = TimeSplitBacktest.RollingTestDates(clean ? cleanDates : distinct.Where(t => HasBothClasses(snapshotDates, y, d => d < t)), request.BacktestDates);
        var candidates = new List<CandidateResult>();
        var step = 0;
        foreach (var algorithm in Algorithms)
        {
            progress?.Report(($"{name}: backtest {algorithm}", 0.2 + (0.5 * step++ / Algorithms.Count)));
            candidates.Add(new CandidateResult(algorithm, TimeSplitBacktest.Run(() => CreateTrainer(algorithm), x, y, snapshotDates, gap, testDates, null, cancellationToken)));
        }

        var best = candidates.Where(c => c.Backtest.Pooled is { HasBothClasses: true }).OrderByDescending(c => c.Backtest.Pooled!.RocAuc).FirstOrDefault();
        if (best is null)
        {
            return new TrainingOutcome(target, null, false, candidates, "No test date had both outcomes, so no model could be backtested. Nothing registered; more history is needed.", snapshots.Count, positives, clean);
        }

        progress?.Report(($"{name}: fitting {best.Algorithm} on all {snapshots.Count} snapshots", 0.75));
        var model = new CalibratedTrainer(CreateTrainer(best.Algorithm), new CalibratedTrainer.Options { Method = CalibrationMethod.Platt }).Fit(x, y, default, null, cancellationToken);
        var pooled = best.Backtest.Pooled!;
        var metrics = new ModelMetrics(pooled.RocAuc, pooled.PrAuc, pooled.Brier, pooled.LogLoss, pooled.TopDecileLift, pooled.Count,
            [.. best.Backtest.Periods.Where(p => p.Metrics is not null).Select(p => new BacktestFold(p.TestDate, p.TrainRows, p.TestRows, p.Rows.Count(r => y[r]), p.Metrics!.RocAuc))],
            snapshots.Count, (double)positives / snapshots.Count, pooled.CalibrationTable, clean, PooledLift(best.Backtest, y));
        object options = best.Algorithm == "gbdt" ? TreeOptions : LinearOptions;
        var registered = await registry.RegisterAsync(request.TenantId, target, best.Algorithm, model, schema, options, metrics, snapshotDates.Min(), snapshotDates.Max(), request.AsOf, request.HorizonDays, cancellationToken);
        var current = await registry.GetPromotedAsync(request.TenantId, target, cancellationToken);
        // "At least as good": differences below a millionth are the same result (floating-point summation order).
        var promote = request.ForcePromote || current is null || pooled.RocAuc >= current.Value.Info.Metrics.BacktestRocAuc - 1e-6;
        if (promote)
        {
            await registry.PromoteAsync(request.TenantId, target, registered.Version, cancellationToken);
        }

        var message = promote
            ? current is null ? "Promoted (first model)." : request.ForcePromote ? "Promoted (--promote)." : $"Promoted: backtest AUC {pooled.RocAuc:F5} ≥ v{current.Value.Info.Version}'s {current.Value.Info.Metrics.BacktestRocAuc:F5}."
            : $"Registered, not promoted: backtest AUC {pooled.RocAuc:F5} < promoted v{current!.Value.Info.Version}'s {current.Value.Info.Metrics.BacktestRocAuc:F5} (use --promote to force).";
        progress?.Report(($"{name}: done", 1));
        return new TrainingOutcome(target, registered with { PromotedAt = promote ? DateTimeOffset.UtcNow : null }, promote, candidates, message, snapshots.Count, positives, clean);
    }

    /// <summary>The lift table of every backtest period's predictions together (the rows the pooled metrics cover).</summary>
    internal static IReadOnlyList<LiftBin> PooledLift(BacktestReport backtest, bool[] labels)
    {
        var periods = backtest.Periods.Where(p => p.Metrics is not null).ToList();
        bool[] pooledLabels = [.. periods.SelectMany(p => p.Rows.Select(r => labels[r]))];
        double[] pooledScores = [.. periods.SelectMany(p => p.Probabilities)];
        return BinaryMetrics.ComputeLiftTable(pooledLabels, pooledScores);
    }

    private static bool HasBothClasses(DateOnly[] dates, bool[] labels, Func<DateOnly, bool> inTraining)
    {
        bool pos = false, neg = false;
        for (var i = 0; i < dates.Length; i++)
        {
            if (inTraining(dates[i]))
            {
                pos |= labels[i];
                neg |= !labels[i];
            }
        }

        return pos && neg;
    }
}

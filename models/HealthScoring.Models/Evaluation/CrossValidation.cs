namespace HealthScoring.Models.Evaluation;

/// <summary>Stratified k-fold cross-validation of several trainers on the same folds.</summary>
public static class CrossValidation
{
    /// <summary>
    /// Trains every trainer on each fold's training rows and predicts the fold's rows, so every row gets one
    /// out-of-fold probability per trainer. All trainers see the same folds (<see cref="StratifiedKFold"/> with
    /// <paramref name="folds"/> and <paramref name="seed"/>). Each trainer factory is called once per fold.
    /// </summary>
    /// <returns>
    /// Per trainer, in the given order: the metrics of the pooled out-of-fold predictions (<see cref="CrossValidatedModel.Pooled"/>)
    /// and the ROC AUC of each fold with their mean and standard deviation.
    /// </returns>
    public static IReadOnlyList<CrossValidatedModel> Evaluate(
        IReadOnlyList<(string Name, Func<IBinaryTrainer> Create)> trainers,
        FeatureMatrix x,
        bool[] y,
        int folds,
        int seed,
        IProgress<CrossValidationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (y.Length != x.Rows)
        {
            throw new ArgumentException($"There are {y.Length} labels for {x.Rows} rows.", nameof(y));
        }

        if (trainers.Count == 0)
        {
            throw new ArgumentException("Give at least one trainer.", nameof(trainers));
        }

        var splits = new StratifiedKFold(folds, seed).Split(y);
        var testSets = splits.Select(s => x.SelectRows(s.TestRows)).ToArray();
        var trainSets = splits.Select(s => x.SelectRows(s.TrainRows)).ToArray();
        var results = new List<CrossValidatedModel>(trainers.Count);
        for (var t = 0; t < trainers.Count; t++)
        {
            var (name, create) = trainers[t];
            var outOfFold = new double[x.Rows];
            var foldAucs = new double[folds];
            for (var f = 0; f < folds; f++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var split = splits[f];
                var trainLabels = split.TrainRows.Select(i => y[i]).ToArray();
                var testLabels = split.TestRows.Select(i => y[i]).ToArray();
                var modelIndex = t;
                var fold = f;
                var fitProgress = progress is null
                    ? null
                    : new InlineProgress(fraction => progress.Report(new CrossValidationProgress(name, fold, folds, ((modelIndex * folds) + fold + fraction) / (trainers.Count * folds))));
                var model = create().Fit(trainSets[f], trainLabels, default, fitProgress, cancellationToken);
                var predictions = new double[split.TestRows.Length];
                model.PredictProbabilities(testSets[f], predictions);
                for (var k = 0; k < predictions.Length; k++)
                {
                    outOfFold[split.TestRows[k]] = predictions[k];
                }

                foldAucs[f] = BinaryMetrics.ComputeRocAuc(testLabels, predictions);
                progress?.Report(new CrossValidationProgress(name, fold, folds, ((modelIndex * folds) + fold + 1.0) / (trainers.Count * folds)));
            }

            var mean = foldAucs.Average();
            var std = Math.Sqrt(foldAucs.Sum(a => (a - mean) * (a - mean)) / folds);
            results.Add(new CrossValidatedModel(name, BinaryMetrics.Compute(y, outOfFold), foldAucs, mean, std, outOfFold));
        }

        return results;
    }
}

/// <summary>Cross-validation result of one trainer.</summary>
/// <param name="Name">The trainer's name as given.</param>
/// <param name="Pooled">
/// Metrics of the pooled out-of-fold predictions: every row scored once, by the model that did not train on it. This
/// is the headline figure (its ROC AUC is the "pooled AUC"); it also mixes the folds' score scales, which
/// <paramref name="MeanFoldAuc"/> does not.
/// </param>
/// <param name="FoldAucs">ROC AUC of each fold's predictions, in fold order.</param>
/// <param name="MeanFoldAuc">Mean of <paramref name="FoldAucs"/>.</param>
/// <param name="StdFoldAuc">Population standard deviation (ddof 0, as numpy's default) of <paramref name="FoldAucs"/>.</param>
/// <param name="OutOfFoldProbabilities">The out-of-fold probability of every row, in row order.</param>
public sealed record CrossValidatedModel(string Name, BinaryMetrics Pooled, double[] FoldAucs, double MeanFoldAuc, double StdFoldAuc, double[] OutOfFoldProbabilities);

/// <summary>Progress of a cross-validation run.</summary>
/// <param name="Model">Name of the trainer being evaluated.</param>
/// <param name="Fold">Index of the fold being trained.</param>
/// <param name="Folds">Number of folds.</param>
/// <param name="Fraction">Share of the whole run done (0..1).</param>
public sealed record CrossValidationProgress(string Model, int Fold, int Folds, double Fraction);

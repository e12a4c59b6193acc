using HealthScoring.Models.Evaluation;

namespace HealthScoring.Models.Calibration;

/// <summary>
/// Trains an inner model and calibrates its raw score by cross-fitting (sklearn's
/// <c>CalibratedClassifierCV(ensemble=False)</c>): the rows are split into <see cref="Options.Folds"/> stratified
/// folds; for each fold a model trained on the other folds scores it, so every row gets a raw score from a model that
/// never saw it; the calibrator is fitted on those out-of-fold scores; the returned model is the inner trainer's fit
/// on all rows, wrapped with that calibrator.
/// </summary>
/// <remarks>
/// Cross-fitting costs <c>Folds + 1</c> inner fits, but unlike a held-out calibration split it spends no rows on
/// calibration alone: the final model trains on everything and the calibrator sees every row. The final model is
/// fitted on slightly more data than the fold models whose scores were calibrated, which is the usual (small) price.
/// </remarks>
public sealed class CalibratedTrainer : IBinaryTrainer
{
    /// <summary>Creates the trainer around <paramref name="inner"/> with <paramref name="options"/> (defaults when null).</summary>
    public CalibratedTrainer(IBinaryTrainer inner, Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
        Settings = options ?? new Options();
        ArgumentOutOfRangeException.ThrowIfLessThan(Settings.Folds, 2, nameof(options));
        if (!Enum.IsDefined(Settings.Method))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Settings.Method, "Unknown calibration method.");
        }
    }

    /// <summary>The trainer of the model being calibrated.</summary>
    public IBinaryTrainer Inner { get; }

    /// <summary>The options this trainer was made with.</summary>
    public Options Settings { get; }

    /// <inheritdoc />
    public string Kind => CalibratedModel.KindName;

    /// <inheritdoc />
    public IBinaryModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default) =>
        FitModel(features, labels, weights, progress, cancellationToken);

    /// <summary>As <see cref="Fit"/>, typed.</summary>
    public CalibratedModel FitModel(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var rowWeights = TrainingInput.Check(features, labels, weights, out _, out _);
        var allLabels = labels.ToArray();
        var steps = Settings.Folds + 1.0;
        var raw = new double[features.Rows];
        foreach (var split in new StratifiedKFold(Settings.Folds, Settings.Seed).Split(labels))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fold = split.Fold;
            var model = Inner.Fit(
                features.SelectRows(split.TrainRows),
                split.TrainRows.Select(i => allLabels[i]).ToArray(),
                weights.IsEmpty ? default : split.TrainRows.Select(i => rowWeights[i]).ToArray(),
                progress is null ? null : new InlineProgress(f => progress.Report((fold + f) / steps)),
                cancellationToken);
            foreach (var i in split.TestRows)
            {
                raw[i] = model.PredictRaw(features.Row(i));
            }
        }

        ICalibrator calibrator = Settings.Method == CalibrationMethod.Platt
            ? PlattCalibrator.Fit(raw, allLabels, rowWeights)
            : IsotonicCalibrator.Fit(raw, allLabels, rowWeights);
        var final = Inner.Fit(
            features,
            allLabels,
            weights,
            progress is null ? null : new InlineProgress(f => progress.Report((Settings.Folds + f) / steps)),
            cancellationToken);
        progress?.Report(1.0);
        return new CalibratedModel(final, calibrator);
    }

    /// <summary>Options of <see cref="CalibratedTrainer"/>.</summary>
    public sealed record Options
    {
        /// <summary>The calibrator; Platt (sklearn's default, "sigmoid") unless there are thousands of rows to spare.</summary>
        public CalibrationMethod Method { get; init; } = CalibrationMethod.Platt;

        /// <summary>Number of cross-fitting folds (at least 2; each class needs at least this many rows).</summary>
        public int Folds { get; init; } = 5;

        /// <summary>Seed of the stratified fold assignment.</summary>
        public int Seed { get; init; }
    }
}

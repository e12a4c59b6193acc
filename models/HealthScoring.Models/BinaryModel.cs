namespace HealthScoring.Models;

/// <summary>
/// A trained binary classifier that only scores. Models are immutable and safe to share between threads.
/// The raw score is the log-odds (margin) of the positive class; the probability is its logistic.
/// </summary>
public interface IBinaryModel
{
    /// <summary>The model kind written in its saved form, e.g. <c>gbdt</c> or <c>logistic</c>.</summary>
    string Kind { get; }

    /// <summary>The feature names the model was trained on, in the column order it expects.</summary>
    IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The raw score (log-odds) of one row. Missing values are <see cref="float.NaN"/>.</summary>
    double PredictRaw(ReadOnlySpan<float> features);

    /// <summary>
    /// Probabilities for every row of <paramref name="features"/> into <paramref name="destination"/>, using up to
    /// <paramref name="maxDegreeOfParallelism"/> threads (-1: all cores).
    /// </summary>
    void PredictProbabilities(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism = -1);

    /// <summary>
    /// Exact additive explanation of <see cref="PredictRaw"/> for one row, in log-odds:
    /// <c>BaseValue + Σ Contributions == PredictRaw(features)</c>.
    /// </summary>
    FeatureContributions Explain(ReadOnlySpan<float> features);

    /// <summary>Writes the model, after a <see cref="ModelFormat"/> header, to <paramref name="stream"/> (left open).</summary>
    void Save(Stream stream);
}

/// <summary>An additive explanation of one raw score.</summary>
/// <param name="BaseValue">The expected raw score over the training data (the score with no feature known).</param>
/// <param name="Contributions">Each feature's contribution, in the model's feature order.</param>
public sealed record FeatureContributions(double BaseValue, double[] Contributions)
{
    /// <summary>The raw score these contributions add up to.</summary>
    public double RawScore => BaseValue + Contributions.Sum();
}

/// <summary>A trainer: labelled rows in, an immutable model out. Options are fixed when the trainer is made.</summary>
public interface IBinaryTrainer
{
    /// <summary>Model kind this trainer produces.</summary>
    string Kind { get; }

    /// <summary>
    /// Trains on <paramref name="features"/> with <paramref name="labels"/> (true = positive), optionally with
    /// per-row <paramref name="weights"/>. <paramref name="progress"/> gets the fraction done (0..1) now and then.
    /// </summary>
    IBinaryModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>Logistic helpers shared by models and calibrators.</summary>
public static class Logistic
{
    /// <summary>1 / (1 + e^-x), stable for large |x|.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));

    /// <summary>log(p / (1 - p)), with p clamped away from 0 and 1.</summary>
    public static double Logit(double p)
    {
        var q = Math.Clamp(p, 1e-15, 1 - 1e-15);
        return Math.Log(q / (1 - q));
    }
}

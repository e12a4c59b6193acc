using HealthScoring.Models.Linear;

namespace HealthScoring.Models.Tests;

/// <summary>A trainer that records what it was given and delegates to logistic regression.</summary>
internal sealed class SpyTrainer : IBinaryTrainer
{
    private readonly LogisticRegressionTrainer inner = new();

    public List<(FeatureMatrix Features, bool[] Labels)> Fits { get; } = [];

    public string Kind => inner.Kind;

    public IBinaryModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        lock (Fits)
        {
            Fits.Add((features, labels.ToArray()));
        }

        return inner.Fit(features, labels, weights, progress, cancellationToken);
    }
}

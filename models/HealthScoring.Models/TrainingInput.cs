namespace HealthScoring.Models;

/// <summary>Argument checks every trainer in this library makes on its inputs.</summary>
internal static class TrainingInput
{
    /// <summary>
    /// Checks labels and weights against <paramref name="features"/> and returns the weights to use (all ones when none
    /// were given), with the weighted count of each class.
    /// </summary>
    public static double[] Check(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, out double positiveWeight, out double negativeWeight)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (labels.Length != features.Rows)
        {
            throw new ArgumentException($"There are {labels.Length} labels for {features.Rows} rows.", nameof(labels));
        }

        if (!weights.IsEmpty && weights.Length != features.Rows)
        {
            throw new ArgumentException($"There are {weights.Length} weights for {features.Rows} rows.", nameof(weights));
        }

        var w = new double[features.Rows];
        positiveWeight = 0;
        negativeWeight = 0;
        for (var i = 0; i < w.Length; i++)
        {
            var wi = weights.IsEmpty ? 1.0 : weights[i];
            if (!double.IsFinite(wi) || wi < 0)
            {
                throw new ArgumentException($"Weight {wi} of row {i} is not a finite non-negative number.", nameof(weights));
            }

            w[i] = wi;
            if (labels[i])
            {
                positiveWeight += wi;
            }
            else
            {
                negativeWeight += wi;
            }
        }

        if (positiveWeight <= 0 || negativeWeight <= 0)
        {
            throw new ArgumentException(
                $"Training needs both classes with positive weight; got {positiveWeight} positive and {negativeWeight} negative (weighted) of {features.Rows} rows.",
                nameof(labels));
        }

        return w;
    }
}

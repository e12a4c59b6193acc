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
        return Check(features.Rows, "rows", "Training needs both classes with positive weight", labels, weights, out positiveWeight, out negativeWeight);
    }

    /// <summary>
    /// The same checks for <paramref name="count"/> items (rows, scores): label and weight counts, finite non-negative
    /// weights, both classes present (<paramref name="bothClassesMessage"/> starts the error otherwise).
    /// </summary>
    public static double[] Check(int count, string unit, string bothClassesMessage, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, out double positiveWeight, out double negativeWeight)
    {
        if (labels.Length != count)
        {
            throw new ArgumentException($"There are {labels.Length} labels for {count} {unit}.", nameof(labels));
        }

        if (!weights.IsEmpty && weights.Length != count)
        {
            throw new ArgumentException($"There are {weights.Length} weights for {count} {unit}.", nameof(weights));
        }

        var w = new double[count];
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
            throw new ArgumentException($"{bothClassesMessage}; got {positiveWeight} positive and {negativeWeight} negative (weighted) of {count} {unit}.", nameof(labels));
        }

        return w;
    }
}

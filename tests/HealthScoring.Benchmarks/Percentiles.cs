namespace HealthScoring.Benchmarks;

/// <summary>Percentiles of measured latencies, for every benchmark that reports p50/p99.</summary>
public static class Percentiles
{
    /// <summary>Nearest rank: the smallest value with at least <paramref name="q"/> of the values at or below it (NaN when there are none).</summary>
    public static double NearestRank(IReadOnlyList<double> values, double q)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

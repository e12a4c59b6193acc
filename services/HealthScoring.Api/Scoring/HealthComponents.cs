namespace HealthScoring.Api.Scoring;

/// <summary>
/// The composite's components, each 0–100 (higher is healthier). Recency, support and billing are absolute
/// (days without activity, tickets, payment failures); frequency, depth and breadth are percentile ranks within
/// the accounts scored together (same tenant, same date), because "how much use is a lot" differs per product.
/// </summary>
public static class HealthComponents
{
    public static IReadOnlyList<string> Names { get; } = ["recency", "frequency", "depth", "breadth", "support", "billing"];

    /// <summary>Components for every row of <paramref name="features"/>.</summary>
    public static Dictionary<string, double>[] Compute(IReadOnlyList<string> columns, Models.FeatureMatrix features)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(features);
        int Col(string name) => columns.ToList().IndexOf(name);
        var days = Col("days_since_last_activity");
        var activeDays = Col("days_active_28d");
        var depth = Col("uses_per_feature_28d");
        var breadth = Col("features_used_28d");
        var tickets = Col("support_tickets_28d");
        var failures = Col("payment_failures_60d");
        var mrrChange = Col("mrr_change_90d");
        var frequencyRank = PercentileRanks(features, activeDays);
        var depthRank = PercentileRanks(features, depth);
        var breadthRank = PercentileRanks(features, breadth);
        var result = new Dictionary<string, double>[features.Rows];
        for (var r = 0; r < features.Rows; r++)
        {
            var idle = features[r, days];
            var billing = features[r, failures] switch { 0 => 100.0, 1 => 50.0, _ => 0.0 };
            if (features[r, mrrChange] < 0)
            {
                billing = Math.Max(0, billing - 20);
            }

            result[r] = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["recency"] = float.IsNaN(idle) ? 0 : Math.Round(100 * Math.Exp(-idle / 14.0), 1),
                ["frequency"] = frequencyRank[r],
                ["depth"] = depthRank[r],
                ["breadth"] = breadthRank[r],
                ["support"] = Math.Max(0, 100 - (20 * features[r, tickets])),
                ["billing"] = billing,
            };
        }

        return result;
    }

    /// <summary>The composite: the weighted mean of the components.</summary>
    public static double Composite(IReadOnlyDictionary<string, double> components, HealthScoreProfile profile)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(profile);
        var total = profile.Weights.Values.Sum();
        return profile.Weights.Sum(w => w.Value * components.GetValueOrDefault(w.Key)) / total;
    }

    /// <summary>The health score: the model's part (100 × (1 − churn risk)) blended with the composite, 0–100.</summary>
    public static int Score(double churnProbability, double composite, HealthScoreProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var model = 100 * (1 - churnProbability);
        return (int)Math.Clamp(Math.Round((profile.ModelWeight * model) + ((1 - profile.ModelWeight) * composite)), 0, 100);
    }

    private static double[] PercentileRanks(Models.FeatureMatrix features, int column)
    {
        var values = Enumerable.Range(0, features.Rows).Select(r => float.IsNaN(features[r, column]) ? 0 : features[r, column]).ToArray();
        var sorted = values.Order().ToArray();
        return [.. values.Select(v =>
        {
            if (sorted.Length <= 1)
            {
                return 50.0;
            }

            // Mid-rank of ties, so an all-equal population sits at 50.
            var below = LowerBound(sorted, v);
            var upTo = UpperBound(sorted, v);
            return Math.Round(100.0 * (below + ((upTo - below - 1) / 2.0)) / (sorted.Length - 1), 1);
        })];
    }

    private static int LowerBound(float[] sorted, float v)
    {
        var i = Array.BinarySearch(sorted, v);
        if (i < 0)
        {
            return ~i;
        }

        while (i > 0 && sorted[i - 1] == v)
        {
            i--;
        }

        return i;
    }

    private static int UpperBound(float[] sorted, float v)
    {
        var i = LowerBound(sorted, v);
        while (i < sorted.Length && sorted[i] == v)
        {
            i++;
        }

        return i;
    }
}

namespace HealthScoring.Api.Scoring;

/// <summary>
/// How the 0–100 health score is made (section <c>HealthScore</c>): a weighted composite of components, blended
/// with the calibrated churn risk, cut into bands. <see cref="Tenants"/> overrides per tenant and
/// <see cref="Segments"/> per plan; an override replaces the whole <see cref="HealthScoreProfile"/>.
/// </summary>
public sealed class HealthScoreOptions
{
    public const string SectionName = "HealthScore";

    public HealthScoreProfile Default { get; set; } = new();

    /// <summary>Per tenant id.</summary>
    public Dictionary<string, HealthScoreProfile> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per plan (the account's plan at scoring time), applied within any tenant that has no own profile for it.</summary>
    public Dictionary<string, HealthScoreProfile> Segments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many drivers each score keeps.</summary>
    public int DriverCount { get; set; } = 5;

    public HealthScoreProfile ProfileFor(string tenantId, string? plan) =>
        plan is not null && Segments.TryGetValue(plan, out var segment) ? segment
        : Tenants.TryGetValue(tenantId, out var tenant) ? tenant
        : Default;
}

/// <summary>One way of scoring.</summary>
public sealed class HealthScoreProfile
{
    /// <summary>Share of the score that comes from the churn model (100 × (1 − risk)); the rest is the composite.</summary>
    public double ModelWeight { get; set; } = 0.6;

    /// <summary>Weights of the composite's components (any non-negative numbers; they are normalised).</summary>
    public Dictionary<string, double> Weights { get; set; } = new(StringComparer.Ordinal)
    {
        ["recency"] = 1.0,
        ["frequency"] = 1.0,
        ["depth"] = 0.75,
        ["breadth"] = 0.75,
        ["support"] = 0.5,
        ["billing"] = 1.0,
    };

    /// <summary>Scores at or above this are healthy.</summary>
    public int HealthyFrom { get; set; } = 70;

    /// <summary>Scores below this are at risk; between the two, watch.</summary>
    public int AtRiskBelow { get; set; } = 40;

    public const string Healthy = "healthy";
    public const string Watch = "watch";
    public const string AtRisk = "at-risk";

    /// <summary>The bands, best first: the only values <see cref="Band"/> returns.</summary>
    public static IReadOnlyList<string> Bands { get; } = [Healthy, Watch, AtRisk];

    public string Band(int score) => score >= HealthyFrom ? Healthy : score < AtRiskBelow ? AtRisk : Watch;

    public void Validate()
    {
        if (ModelWeight is < 0 or > 1 || double.IsNaN(ModelWeight))
        {
            throw new InvalidOperationException($"HealthScore ModelWeight must be between 0 and 1 (got {ModelWeight}).");
        }

        if (AtRiskBelow > HealthyFrom || AtRiskBelow < 0 || HealthyFrom > 100)
        {
            throw new InvalidOperationException($"HealthScore bands need 0 ≤ AtRiskBelow ({AtRiskBelow}) ≤ HealthyFrom ({HealthyFrom}) ≤ 100.");
        }

        if (Weights.Values.Any(w => w < 0 || double.IsNaN(w)) || Weights.Values.Sum() <= 0)
        {
            throw new InvalidOperationException("HealthScore component weights must be non-negative with a positive sum.");
        }

        var unknown = Weights.Keys.Except(HealthComponents.Names, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"Unknown HealthScore component(s): {string.Join(", ", unknown)}; known: {string.Join(", ", HealthComponents.Names)}.");
        }
    }
}

namespace HealthScoring.Api.Alerts;

/// <summary>Alert rules (section <c>Alerts</c>; <see cref="Tenants"/> overrides per tenant, whole rule set at a time).</summary>
public sealed class AlertOptions
{
    public const string SectionName = "Alerts";

    public AlertRules Default { get; set; } = new();

    public Dictionary<string, AlertRules> Tenants { get; set; } = new(StringComparer.Ordinal);

    public AlertRules For(string tenantId) => Tenants.TryGetValue(tenantId, out var rules) ? rules : Default;
}

/// <summary>One tenant's rules. Alert fatigue is the field's top complaint, so the defaults are conservative.</summary>
public sealed class AlertRules
{
    /// <summary>No second at-risk alert for an account within this many days, unless its score fell by <see cref="WorseBy"/> since the last one (a recovery resets it).</summary>
    public int CooldownDays { get; set; } = 14;

    /// <summary>Points of health score below the last alert that count as worse (re-alert within the cooldown).</summary>
    public int WorseBy { get; set; } = 15;

    /// <summary>Most alerts per account owner per day; the rest are recorded as suppressed.</summary>
    public int DailyCapPerOwner { get; set; } = 20;

    /// <summary>Expansion probability that raises a signal when crossed from below.</summary>
    public double ExpansionThreshold { get; set; } = 0.6;

    /// <summary>Rise of churn probability (absolute, 0–1) within <see cref="JumpWindowDays"/> that raises <c>ChurnRiskJumped</c>.</summary>
    public double ChurnJump { get; set; } = 0.25;

    public int JumpWindowDays { get; set; } = 7;
}

namespace HealthScoring.Integrations.HubSpot;

/// <summary>The health band, stored in the band enumeration property as <c>healthy</c>, <c>watch</c> or <c>at-risk</c>.</summary>
public enum HealthBand
{
    Healthy,
    Watch,
    AtRisk,
}

/// <summary>The latest health figures of one account, written to its HubSpot company.</summary>
/// <param name="AccountId">Our account id, matched against <see cref="HubSpotOptions.CompanyIdProperty"/>.</param>
/// <param name="HealthScore">0–100, higher is healthier.</param>
/// <param name="Band">The band of the score.</param>
/// <param name="ScoredAt">When the score was computed.</param>
public sealed record CompanyUpdate(string AccountId, double HealthScore, HealthBand Band, DateTimeOffset ScoredAt)
{
    /// <summary>Churn probability in percent (0–100); left unchanged in HubSpot when null.</summary>
    public double? ChurnRiskPercent { get; init; }

    /// <summary>Expansion probability in percent (0–100); left unchanged in HubSpot when null.</summary>
    public double? ExpansionLikelihoodPercent { get; init; }

    /// <summary>The reasons behind the score, most important first (one line each in HubSpot).</summary>
    public IReadOnlyList<string> TopDrivers { get; init; } = [];
}

/// <summary>A company that was updated.</summary>
public sealed record UpdatedCompany(string AccountId, string CompanyId);

/// <summary>An update refused before it was sent, and why.</summary>
public sealed record RejectedCompanyUpdate(string AccountId, string Reason);

/// <summary>
/// What <see cref="HubSpotClient.UpdateCompaniesAsync"/> did: the companies updated, the accounts with no company in
/// HubSpot, and the updates refused for bad values. Errors from HubSpot itself are thrown, not listed.
/// </summary>
public sealed record CompanyUpdateResult(
    IReadOnlyList<UpdatedCompany> Updated,
    IReadOnlyList<string> NotFoundAccountIds,
    IReadOnlyList<RejectedCompanyUpdate> Rejected);

/// <summary>HubSpot's task priorities.</summary>
public enum HubSpotTaskPriority
{
    Low,
    Medium,
    High,
}

/// <summary>A follow-up task for the owner of an account's company, raised by one alert.</summary>
/// <param name="AlertId">Our alert id; the same id never yields a second task.</param>
/// <param name="AccountId">Our account id (mapped to the company like updates are).</param>
/// <param name="Subject">The task's title.</param>
/// <param name="Drivers">The reasons, listed in the task body.</param>
public sealed record TaskRequest(string AlertId, string AccountId, string Subject, IReadOnlyList<string> Drivers)
{
    /// <summary>An optional opening paragraph of the body.</summary>
    public string? Summary { get; init; }

    public HubSpotTaskPriority Priority { get; init; } = HubSpotTaskPriority.High;

    /// <summary>The due date (<c>hs_timestamp</c>); default now + <see cref="HubSpotOptions.TaskDueAfter"/>.</summary>
    public DateTimeOffset? DueAt { get; init; }
}

/// <summary>What happened to a <see cref="TaskRequest"/>.</summary>
public enum TaskOutcome
{
    /// <summary>A task was created.</summary>
    Created,

    /// <summary>A task for this alert already existed (redelivery); nothing was created.</summary>
    AlreadyExists,

    /// <summary>No HubSpot company carries the account id; nothing was created.</summary>
    CompanyNotFound,
}

/// <summary>The outcome of <see cref="HubSpotClient.CreateTaskAsync"/>.</summary>
/// <param name="Outcome">Created, already there, or no company.</param>
/// <param name="DedupeKey">The key derived from the alert id and written into the task body.</param>
/// <param name="TaskId">The HubSpot task id (null when no company).</param>
/// <param name="CompanyId">The company the task is associated with.</param>
/// <param name="OwnerId">The owner the task was assigned to (null when the company has no owner).</param>
public sealed record TaskResult(TaskOutcome Outcome, string DedupeKey, string? TaskId, string? CompanyId, string? OwnerId);

/// <summary>A property that exists in HubSpot with a different shape than ours.</summary>
public sealed record PropertyMismatch(string Name, string Expected, string Actual);

/// <summary>What <see cref="HubSpotClient.EnsurePropertiesAsync"/> found and did.</summary>
public sealed record PropertySetupResult(
    bool CreatedGroup,
    IReadOnlyList<string> Created,
    IReadOnlyList<string> AlreadyPresent,
    IReadOnlyList<PropertyMismatch> Mismatched)
{
    public bool CreatedNothing => !CreatedGroup && Created.Count == 0;
}

/// <summary>Names of the company properties HealthScoring writes (besides the configurable account id property).</summary>
public static class HubSpotPropertyNames
{
    public const string HealthScore = "healthscoring_health_score";
    public const string HealthBand = "healthscoring_health_band";
    public const string ChurnRiskPercent = "healthscoring_churn_risk_pct";
    public const string ExpansionLikelihoodPercent = "healthscoring_expansion_likelihood_pct";
    public const string TopDrivers = "healthscoring_top_drivers";
    public const string ScoreUpdatedAt = "healthscoring_score_updated_at";
}

using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;

namespace HealthScoring.Api.Alerts;

/// <summary>The account's band moved into at-risk (or it relapsed after recovering).</summary>
public sealed record AccountBecameAtRisk(DateOnly AsOf, string AlertId, int HealthScore, double ChurnProbability, string? Owner, IReadOnlyList<ScoreDriver> Drivers);

/// <summary>The account left the at-risk band.</summary>
public sealed record AccountRecovered(DateOnly AsOf, string AlertId, int HealthScore, string Band, string? Owner);

/// <summary>The expansion probability crossed the tenant's threshold from below.</summary>
public sealed record ExpansionSignalDetected(DateOnly AsOf, string AlertId, double ExpansionProbability, int HealthScore, string? Owner, IReadOnlyList<ScoreDriver> Drivers);

/// <summary>The churn risk rose by at least the tenant's jump within a week.</summary>
public sealed record ChurnRiskJumped(DateOnly AsOf, string AlertId, double ChurnProbability, double PreviousChurnProbability, DateOnly PreviousAsOf, string? Owner, IReadOnlyList<ScoreDriver> Drivers);

/// <summary>An alert a rule wanted to raise but the owner's daily cap or a snooze held back (kept for the record, not sent).</summary>
public sealed record AlertSuppressed(DateOnly AsOf, string Kind, string Reason, string? Owner);

internal static class AlertEventTypes
{
    /// <summary>The alert kinds that go out (publishing filters on these).</summary>
    public static IReadOnlyList<string> Published { get; } = ["alerts.became_at_risk", "alerts.recovered", "alerts.expansion_signal", "alerts.churn_risk_jumped", "health.account_scored"];

    public static void Register(EventTypeRegistry registry) => registry
        .Register<AccountBecameAtRisk>("alerts.became_at_risk")
        .Register<AccountRecovered>("alerts.recovered")
        .Register<ExpansionSignalDetected>("alerts.expansion_signal")
        .Register<ChurnRiskJumped>("alerts.churn_risk_jumped")
        .Register<AlertSuppressed>("alerts.suppressed");
}

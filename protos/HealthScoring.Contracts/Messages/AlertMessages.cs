namespace HealthScoring.Contracts.Messages;

// The messages HealthScoring publishes on RabbitMQ (through MassTransit). The event log is the outbox: each
// message's MessageId is the id of the stored event it comes from, so a consumer that sees an id twice has seen
// a redelivery. Fields are plain values so that any consumer can read them.

/// <summary>One reason behind a score, in words, with its direction (positive contribution raises risk).</summary>
public sealed record ScoreDriverMessage(string Feature, string Text, double Contribution);

/// <summary>An account was scored (every run).</summary>
public sealed record AccountHealthScored(
    string TenantId,
    string AccountId,
    DateOnly AsOf,
    int HealthScore,
    string Band,
    double ChurnProbability,
    double? ExpansionProbability,
    int? PreviousScore,
    IReadOnlyList<ScoreDriverMessage> Drivers,
    DateTimeOffset ScoredAt);

/// <summary>An account entered the at-risk band (or relapsed, or got clearly worse).</summary>
public sealed record AccountBecameAtRisk(
    string TenantId,
    string AccountId,
    string AlertId,
    DateOnly AsOf,
    int HealthScore,
    double ChurnProbability,
    string? Owner,
    IReadOnlyList<ScoreDriverMessage> Drivers);

/// <summary>An account left the at-risk band.</summary>
public sealed record AccountRecovered(string TenantId, string AccountId, string AlertId, DateOnly AsOf, int HealthScore, string Band, string? Owner);

/// <summary>An account's expansion probability crossed the threshold.</summary>
public sealed record ExpansionSignalDetected(
    string TenantId,
    string AccountId,
    string AlertId,
    DateOnly AsOf,
    double ExpansionProbability,
    int HealthScore,
    string? Owner,
    IReadOnlyList<ScoreDriverMessage> Drivers);

/// <summary>An account's churn risk rose sharply within a week.</summary>
public sealed record ChurnRiskJumped(
    string TenantId,
    string AccountId,
    string AlertId,
    DateOnly AsOf,
    double ChurnProbability,
    double PreviousChurnProbability,
    string? Owner,
    IReadOnlyList<ScoreDriverMessage> Drivers);

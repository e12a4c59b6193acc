using HealthScoring.EventStore;

namespace HealthScoring.Api.Scoring;

/// <summary>A driver as stored with a score.</summary>
public sealed record ScoreDriver(string Feature, double? Value, double Contribution, string Text);

/// <summary>
/// A scoring run's verdict on one account, appended to the account's stream every run: the history of these is
/// the score history, and comparing two answers "why did it change".
/// </summary>
public sealed record AccountHealthScored(
    DateOnly AsOf,
    int HealthScore,
    string Band,
    double ChurnProbability,
    double? ExpansionProbability,
    int ChurnModelVersion,
    int? ExpansionModelVersion,
    int? PreviousScore,
    IReadOnlyList<ScoreDriver> Drivers,
    IReadOnlyList<ScoreDriver> ExpansionDrivers,
    IReadOnlyDictionary<string, double> Components);

internal static class ScoringEventTypes
{
    public static void Register(EventTypeRegistry registry) => registry.Register<AccountHealthScored>("health.account_scored");
}

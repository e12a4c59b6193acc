using HealthScoring.Api.Accounts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Models.Features;
using HealthScoring.Models.Linear;
using Npgsql;

namespace HealthScoring.Testing.Scenarios;

/// <summary>
/// Real scoring in seconds, without training: a promoted churn model that reads only inactivity
/// (risk = σ(days since last activity − 3), so an account idle for a week is at risk and one active yesterday is
/// not), and product usage appended to the log as the ingestion pipeline stores it, which the host's own daily
/// projection aggregates. <see cref="HealthScorer"/> then runs unchanged: features, model, score, alerts. Tests
/// that use it set <c>HealthScore:Tenants:{tenant}:ModelWeight = 1</c>, so the score is the model's part alone and
/// does not drift with the composite's percentile ranks. Shared by the API tests and the
/// <c>alerts.hubspot_latency</c> benchmark, which also promotes <see cref="PromoteBusyExpansionModelAsync"/>.
/// </summary>
public static class InactivityScenario
{
    public const string ProjectionName = AccountDailyProjection.SubscriptionName;

    /// <summary>Registers and promotes the inactivity model for the tenant (the first version of its target is promoted explicitly).</summary>
    public static Task PromoteInactivityModelAsync(ModelRegistry registry, string tenantId, DateOnly asOf, CancellationToken cancellationToken) =>
        PromoteOneFeatureModelAsync(registry, tenantId, TargetKind.Churn, "days_since_last_activity", "inactivity", asOf, cancellationToken);

    /// <summary>
    /// Registers and promotes an expansion model that reads only how busy an account is: likelihood =
    /// σ(days active in the last 28 − 3), so an account active on each of the last 5 days (0.88) crosses the default
    /// signal threshold (0.6) and one active on a single day (0.12) does not.
    /// </summary>
    public static Task PromoteBusyExpansionModelAsync(ModelRegistry registry, string tenantId, DateOnly asOf, CancellationToken cancellationToken) =>
        PromoteOneFeatureModelAsync(registry, tenantId, TargetKind.Expansion, "days_active_28d", "busy", asOf, cancellationToken);

    /// <summary>A logistic model of σ(<paramref name="column"/> − 3), registered and promoted for <paramref name="target"/>.</summary>
    private static async Task PromoteOneFeatureModelAsync(ModelRegistry registry, string tenantId, TargetKind target, string column, string name, DateOnly asOf, CancellationToken cancellationToken)
    {
        var schema = new FeatureSchema(FeatureSchema.CurrentVersion, [], []);
        var columns = schema.Columns;
        var weights = columns.Select(c => c == column ? 1.0 : 0.0).ToArray();
        var model = new LogisticRegressionModel(columns, new double[columns.Count], Enumerable.Repeat(1.0, columns.Count).ToArray(), weights, intercept: -3);
        var metrics = new ModelMetrics(0.9, 0.5, 0.1, 0.3, 3, 100, [], 100, 0.1);
        var registered = await registry.RegisterAsync(tenantId, target, LogisticRegressionModel.KindName, model, schema, new { hand_made = name }, metrics, asOf.AddDays(-90), asOf, asOf, 30, cancellationToken);
        await registry.PromoteAsync(tenantId, target, registered.Version, cancellationToken);
    }

    /// <summary>Appends one product event per account on <paramref name="day"/> to each account's stream.</summary>
    public static async Task RecordActivityAsync(IEventStore store, string tenantId, IEnumerable<string> accounts, DateOnly day, CancellationToken cancellationToken)
    {
        var at = AccountHistory.Instant(day).AddHours(12);
        var events = accounts.Select(a => new StreamEvent(IngestionPipeline.AccountStream(a), new NewEvent(
            EventIds.Derive("scenario", $"{tenantId}/{a}/{day:yyyy-MM-dd}"),
            new TrackRecorded($"m-{a}-{day:yyyyMMdd}", $"user-{a}", null, "Report Viewed", null, null, at, at),
            new EventMetadata(Source: "scenario"),
            at))).ToList();
        await store.BulkAppendAsync(tenantId, events, cancellationToken);
    }

    /// <summary>Waits until the host's daily projection has handled everything in the log (scoring reads its tables).</summary>
    public static async Task WaitForProjectionAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                $"select coalesce((select seq from {schema}.subscriptions where name = $1), 0) >= coalesce((select max(seq) from {schema}.events), 0)");
            command.Parameters.AddWithValue(ProjectionName);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The {ProjectionName} projection did not catch up within 60 s.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}

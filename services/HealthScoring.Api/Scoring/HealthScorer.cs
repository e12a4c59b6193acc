using System.Diagnostics;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Observability;
using HealthScoring.EventStore;
using HealthScoring.Models;
using HealthScoring.Models.Features;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Scoring;

/// <summary>One account's score, as <c>healthscore score</c> prints it.</summary>
public sealed record AccountScore(
    string AccountId,
    int HealthScore,
    string Band,
    double ChurnProbability,
    double? ExpansionProbability,
    int? PreviousScore,
    IReadOnlyList<ScoreDriver> Drivers,
    IReadOnlyList<ScoreDriver> ExpansionDrivers,
    IReadOnlyDictionary<string, double> Components);

/// <summary>A scoring run's result.</summary>
public sealed record ScoringRun(DateOnly AsOf, RegisteredModel ChurnModel, RegisteredModel? ExpansionModel, IReadOnlyList<AccountScore> Scores, int Appended, IReadOnlyList<AlertDecision> Alerts);

/// <summary>There is no promoted model to score with.</summary>
public sealed class NoPromotedModelException(string message) : Exception(message);

/// <summary>
/// Scores every account active at a date (a live subscription, or activity in the 28 days before) with the
/// promoted churn model (required) and expansion model (optional): calibrated probabilities, the top drivers from
/// the model's exact explanation, the composite's components, the 0–100 score and its band. Each account's result
/// is appended to its stream as <see cref="AccountHealthScored"/> (idempotent per date and model versions) and kept
/// as the latest in <c>account_health</c>.
/// </summary>
public sealed class HealthScorer(
    AccountHistoryReader reader,
    ModelRegistry registry,
    IEventStore store,
    NpgsqlDataSource dataSource,
    EventStoreOptions storeOptions,
    IOptions<FeatureOptions> featureOptions,
    IOptions<HealthScoreOptions> scoreOptions,
    AlertService alerts,
    HealthScoringMetrics metrics)
{
    private readonly string _s = storeOptions.Schema;

    public async Task<ScoringRun> ScoreAsync(string tenantId, DateOnly asOf, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var churn = await registry.GetPromotedAsync(tenantId, TargetKind.Churn, cancellationToken)
            ?? throw new NoPromotedModelException($"Tenant '{tenantId}' has no promoted churn model. Train one first: healthscore train --tenant {tenantId} --as-of YYYY-MM-DD");
        var expansion = await registry.GetPromotedAsync(tenantId, TargetKind.Expansion, cancellationToken);
        var histories = await reader.ReadAsync(tenantId, asOf, null, cancellationToken);
        var at = AccountHistory.Instant(asOf);
        var positions = histories.Select(h => (History: h, Billing: h.BillingAt(at)))
            .Where(p => p.Billing.IsCustomer || p.History.DaysBetween(asOf.AddDays(-28), asOf).Length > 0).ToList();
        var active = positions.Select(p => p.History).ToList();
        var previous = await PreviousScoresAsync(tenantId, cancellationToken);

        var modelStarted = Stopwatch.GetTimestamp();
        var churnExtractor = new FeatureExtractor(churn.Info.Schema, featureOptions.Value.Roles);
        var churnX = Matrix(churnExtractor, active, asOf);
        var churnP = new double[active.Count];
        churn.Model.PredictProbabilities(churnX, churnP);
        double[]? expansionP = null;
        FeatureMatrix? expansionX = null;
        if (expansion is { } e)
        {
            expansionX = Matrix(new FeatureExtractor(e.Info.Schema, featureOptions.Value.Roles), active, asOf);
            expansionP = new double[active.Count];
            e.Model.PredictProbabilities(expansionX, expansionP);
        }

        var components = HealthComponents.Compute(churnX.ColumnNames, churnX);
        var options = scoreOptions.Value;
        var scores = new AccountScore[active.Count];
        Parallel.For(0, active.Count, i =>
        {
            var plan = positions[i].Billing.Plan;
            var profile = options.ProfileFor(tenantId, plan);
            var composite = HealthComponents.Composite(components[i], profile);
            var score = HealthComponents.Score(churnP[i], composite, profile);
            var drivers = DriversOf(churn.Model, churnX, i, options.DriverCount);
            var expansionDrivers = expansion is { } ex ? DriversOf(ex.Model, expansionX!, i, options.DriverCount) : [];
            scores[i] = new AccountScore(active[i].AccountId, score, profile.Band(score), churnP[i], expansionP?[i], previous.TryGetValue(active[i].AccountId, out var before) ? before : null, drivers, expansionDrivers, components[i]);
        });

        metrics.RecordScoring(modelStarted, scores.Length);
        progress?.Report(0.5);
        var appended = await AppendAsync(tenantId, asOf, churn.Info, expansion?.Info, scores, cancellationToken);
        await SaveLatestAsync(tenantId, asOf, scores, cancellationToken);
        var raised = await alerts.EvaluateAsync(tenantId, asOf, scores, cancellationToken);
        progress?.Report(1);
        return new ScoringRun(asOf, churn.Info, expansion?.Info, scores, appended, raised);
    }

    private static FeatureMatrix Matrix(FeatureExtractor extractor, List<AccountHistory> accounts, DateOnly asOf)
    {
        var matrix = FeatureMatrix.Create(accounts.Count, extractor.Columns);
        Parallel.For(0, accounts.Count, i => extractor.Compute(accounts[i], asOf, matrix.RowSpan(i)));
        return matrix;
    }

    private static ScoreDriver[] DriversOf(IBinaryModel model, FeatureMatrix x, int row, int count)
    {
        var explanation = model.Explain(x.Row(row));
        return [.. Models.Features.Drivers.Top(x.ColumnNames, x.Row(row), explanation, count)
            .Select(d => new ScoreDriver(d.Feature, double.IsNaN(d.Value) ? null : d.Value, Math.Round(d.Contribution, 4), d.Text))];
    }

    private async Task<int> AppendAsync(string tenantId, DateOnly asOf, RegisteredModel churn, RegisteredModel? expansion, AccountScore[] scores, CancellationToken cancellationToken)
    {
        var events = scores.Select(s => new StreamEvent(IngestionPipeline.AccountStream(s.AccountId), new NewEvent(
            EventIds.Derive("health-score", $"{tenantId}/{s.AccountId}/{asOf:yyyy-MM-dd}/{churn.Version}/{expansion?.Version}"),
            new AccountHealthScored(asOf, s.HealthScore, s.Band, s.ChurnProbability, s.ExpansionProbability, churn.Version, expansion?.Version, s.PreviousScore, s.Drivers, s.ExpansionDrivers, s.Components),
            new EventMetadata(Source: "scoring"),
            AccountHistory.Instant(asOf)))).ToList();
        var result = await store.BulkAppendAsync(tenantId, events, cancellationToken);
        return result.AppendedCount;
    }

    private async Task<Dictionary<string, int>> PreviousScoresAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select account_id, health_score from {_s}.account_health where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        var previous = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var dbReader = await command.ExecuteReaderAsync(cancellationToken);
        while (await dbReader.ReadAsync(cancellationToken))
        {
            previous[dbReader.GetString(0)] = dbReader.GetInt32(1);
        }

        return previous;
    }

    /// <summary>$1 tenant, then one array each ($2 … $6): accounts, scores, bands, churn and expansion probabilities.</summary>
    private static void AddVerdictParameters(NpgsqlCommand command, string tenantId, IReadOnlyList<AccountScore> scores)
    {
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(scores.Select(s => s.AccountId).ToArray());
        command.Parameters.AddWithValue(scores.Select(s => s.HealthScore).ToArray());
        command.Parameters.AddWithValue(scores.Select(s => s.Band).ToArray());
        command.Parameters.AddWithValue(scores.Select(s => s.ChurnProbability).ToArray());
        command.Parameters.Add(new NpgsqlParameter { Value = scores.Select(s => s.ExpansionProbability).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Double });
    }

    /// <summary>
    /// The latest verdict per account, the day's point of its history, and the notification to watchers: one
    /// transaction, so a watcher that hears of a change can read it at once, and a failed run announces nothing.
    /// </summary>
    internal async Task SaveLatestAsync(string tenantId, DateOnly asOf, IReadOnlyList<AccountScore> scores, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(
            $"""
            insert into {_s}.account_health as h (tenant_id, account_id, as_of, health_score, band, churn_probability, expansion_probability, previous_score, drivers, components, expansion_drivers)
            select $1, u.a, $10::date, u.s, u.b, u.c, u.e, u.p, u.d, u.k, u.x
            from unnest($2::text[], $3::int[], $4::text[], $5::float8[], $6::float8[], $7::int[], $8::jsonb[], $9::jsonb[], $11::jsonb[]) as u(a, s, b, c, e, p, d, k, x)
            on conflict (tenant_id, account_id) do update set
                as_of = excluded.as_of, health_score = excluded.health_score, band = excluded.band,
                churn_probability = excluded.churn_probability, expansion_probability = excluded.expansion_probability,
                previous_score = case when h.as_of = excluded.as_of then h.previous_score else h.health_score end,
                drivers = excluded.drivers, components = excluded.components, expansion_drivers = excluded.expansion_drivers, scored_at = now()
            where h.as_of <= excluded.as_of
            """, connection, tx))
        {
            AddVerdictParameters(command, tenantId, scores);
            command.Parameters.Add(new NpgsqlParameter { Value = scores.Select(s => s.PreviousScore).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Integer });
            command.Parameters.Add(new NpgsqlParameter { Value = scores.Select(s => System.Text.Json.JsonSerializer.Serialize(s.Drivers)).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb });
            command.Parameters.Add(new NpgsqlParameter { Value = scores.Select(s => System.Text.Json.JsonSerializer.Serialize(s.Components)).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb });
            command.Parameters.AddWithValue(asOf);
            command.Parameters.Add(new NpgsqlParameter { Value = scores.Select(s => System.Text.Json.JsonSerializer.Serialize(s.ExpansionDrivers)).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // A rerun that reaches the same verdict changes nothing and announces nothing; a new date or a changed verdict does.
        var changed = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            $"""
            insert into {_s}.account_health_history as h (tenant_id, account_id, as_of, health_score, band, churn_probability, expansion_probability)
            select $1, u.a, $7::date, u.s, u.b, u.c, u.e
            from unnest($2::text[], $3::int[], $4::text[], $5::float8[], $6::float8[]) as u(a, s, b, c, e)
            on conflict (tenant_id, account_id, as_of) do update set
                health_score = excluded.health_score, band = excluded.band, churn_probability = excluded.churn_probability,
                expansion_probability = excluded.expansion_probability, scored_at = now()
            where (h.health_score, h.band, h.churn_probability, h.expansion_probability)
                is distinct from (excluded.health_score, excluded.band, excluded.churn_probability, excluded.expansion_probability)
            returning account_id
            """, connection, tx))
        {
            AddVerdictParameters(command, tenantId, scores);
            command.Parameters.AddWithValue(asOf);
            await using var rows = await command.ExecuteReaderAsync(cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                changed.Add(rows.GetString(0));
            }
        }

        var changes = scores.Where(s => changed.Contains(s.AccountId))
            .Select(s => new HealthChange(HealthNotifications.ScoreKind, tenantId, s.AccountId, asOf, s.HealthScore, s.Band, s.ChurnProbability, s.ExpansionProbability, s.PreviousScore))
            .ToList();
        await HealthNotifications.NotifyAsync(connection, tx, _s, changes, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }
}

using System.Text.Json;
using HealthScoring.EventStore;
using HealthScoring.Models;
using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Features;
using Npgsql;

namespace HealthScoring.Api.Scoring;

/// <summary>A registered model version and what it was trained on.</summary>
public sealed record RegisteredModel(
    string TenantId,
    TargetKind Target,
    int Version,
    string Algorithm,
    int FormatVersion,
    FeatureSchema Schema,
    JsonElement Options,
    ModelMetrics Metrics,
    DateOnly TrainingFrom,
    DateOnly TrainingUntil,
    DateOnly AsOf,
    int HorizonDays,
    DateTimeOffset CreatedAt,
    DateTimeOffset? PromotedAt)
{
    public bool IsPromoted => PromotedAt is not null;
}

/// <summary>A model's quality: the rolling time-split backtest (pooled) and the training set; the calibration table and the lift table (deciles) are of the pooled backtest (null in models registered before they were stored).</summary>
public sealed record ModelMetrics(
    double BacktestRocAuc,
    double BacktestPrAuc,
    double BacktestBrier,
    double BacktestLogLoss,
    double BacktestTopDecileLift,
    int BacktestRows,
    IReadOnlyList<BacktestFold> Folds,
    int TrainingRows,
    double TrainingPositiveRate,
    IReadOnlyList<CalibrationBin>? Calibration = null,
    bool LabelCleanBacktest = true,
    IReadOnlyList<LiftBin>? Lift = null);

/// <summary>One test date of the backtest.</summary>
public sealed record BacktestFold(DateOnly TestDate, int TrainRows, int TestRows, int Positives, double RocAuc);

/// <summary>
/// The model registry in PostgreSQL: versions per tenant and target with their feature schema, options, metrics
/// and training window; one promoted version per target is the one scoring uses. Promotion and rollback are the
/// same act: promote the version wanted.
/// </summary>
public sealed class ModelRegistry(NpgsqlDataSource dataSource, EventStoreOptions storeOptions)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly string _s = storeOptions.Schema;

    private const string Columns = "tenant_id, target, version, algorithm, format_version, feature_schema::text, options::text, metrics::text, training_from, training_until, as_of, horizon_days, created_at, promoted_at";

    /// <summary>Registers a new version (numbered after the last one of its target); returns it.</summary>
    public async Task<RegisteredModel> RegisterAsync(string tenantId, TargetKind target, string algorithm, IBinaryModel model, FeatureSchema schema, object options, ModelMetrics metrics, DateOnly trainingFrom, DateOnly trainingUntil, DateOnly asOf, int horizonDays, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(schema);
        var bytes = ModelFormat.ToBytes(model);
        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.models (tenant_id, target, version, algorithm, format_version, feature_schema, options, metrics, training_from, training_until, as_of, horizon_days, model)
            select $1, $2, coalesce((select max(version) from {_s}.models where tenant_id = $1 and target = $2), 0) + 1, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12
            returning {Columns}
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(Name(target));
        command.Parameters.AddWithValue(algorithm);
        command.Parameters.AddWithValue(ModelFormat.HeaderOf(bytes).FormatVersion);
        command.Parameters.AddWithValue(schema.ToJson());
        command.Parameters.AddWithValue(JsonSerializer.Serialize(options, options.GetType(), Json));
        command.Parameters.AddWithValue(JsonSerializer.Serialize(metrics, Json));
        command.Parameters.AddWithValue(trainingFrom);
        command.Parameters.AddWithValue(trainingUntil);
        command.Parameters.AddWithValue(asOf);
        command.Parameters.AddWithValue(horizonDays);
        command.Parameters.AddWithValue(bytes);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return await ReadAsync(reader, cancellationToken);
    }

    /// <summary>Every version of the tenant's models, newest first.</summary>
    public async Task<IReadOnlyList<RegisteredModel>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from {_s}.models where tenant_id = $1 order by target, version desc");
        command.Parameters.AddWithValue(tenantId);
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>One version, or null.</summary>
    public async Task<RegisteredModel?> GetAsync(string tenantId, TargetKind target, int version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from {_s}.models where tenant_id = $1 and target = $2 and version = $3");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(Name(target));
        command.Parameters.AddWithValue(version);
        return (await ReadAllAsync(command, cancellationToken)).SingleOrDefault();
    }

    /// <summary>The promoted version of a target with its loaded model, or null when none is promoted.</summary>
    public async Task<(RegisteredModel Info, IBinaryModel Model)?> GetPromotedAsync(string tenantId, TargetKind target, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns}, model from {_s}.models where tenant_id = $1 and target = $2 and promoted_at is not null");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(Name(target));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var info = await ReadAsync(reader, cancellationToken);
        var bytes = await reader.GetFieldValueAsync<byte[]>(14, cancellationToken);
        return (info, ModelFormat.FromBytes(bytes));
    }

    /// <summary>Makes <paramref name="version"/> the one scoring uses (a rollback is promoting an older version); false when it does not exist.</summary>
    public async Task<bool> PromoteAsync(string tenantId, TargetKind target, int version, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var clear = new NpgsqlCommand($"update {_s}.models set promoted_at = null where tenant_id = $1 and target = $2 and promoted_at is not null", connection, tx))
        {
            clear.Parameters.AddWithValue(tenantId);
            clear.Parameters.AddWithValue(Name(target));
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var promote = new NpgsqlCommand($"update {_s}.models set promoted_at = now() where tenant_id = $1 and target = $2 and version = $3", connection, tx);
        promote.Parameters.AddWithValue(tenantId);
        promote.Parameters.AddWithValue(Name(target));
        promote.Parameters.AddWithValue(version);
        if (await promote.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            await tx.RollbackAsync(cancellationToken);
            return false;
        }

        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public static string Name(TargetKind target) => target == TargetKind.Churn ? "churn" : "expansion";

    private static async Task<List<RegisteredModel>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var list = new List<RegisteredModel>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(await ReadAsync(reader, cancellationToken));
        }

        return list;
    }

    private static async Task<RegisteredModel> ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) => new(
        reader.GetString(0),
        reader.GetString(1) == "churn" ? TargetKind.Churn : TargetKind.Expansion,
        reader.GetInt32(2),
        reader.GetString(3),
        reader.GetInt32(4),
        FeatureSchema.FromJson(reader.GetString(5)),
        JsonDocument.Parse(reader.GetString(6)).RootElement.Clone(),
        JsonSerializer.Deserialize<ModelMetrics>(reader.GetString(7), Json)!,
        await reader.GetFieldValueAsync<DateOnly>(8, cancellationToken),
        await reader.GetFieldValueAsync<DateOnly>(9, cancellationToken),
        await reader.GetFieldValueAsync<DateOnly>(10, cancellationToken),
        reader.GetInt32(11),
        await reader.GetFieldValueAsync<DateTimeOffset>(12, cancellationToken),
        await reader.IsDBNullAsync(13, cancellationToken) ? null : await reader.GetFieldValueAsync<DateTimeOffset>(13, cancellationToken));
}

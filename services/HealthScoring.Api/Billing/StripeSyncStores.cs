using System.Text.Json;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;
using HealthScoring.Integrations.Stripe.Sync;
using Npgsql;

namespace HealthScoring.Api.Billing;

/// <summary>The Stripe sync's cursor per tenant, in PostgreSQL, so a sync resumes where it stopped.</summary>
public sealed class PostgresStripeSyncCursorStore(NpgsqlDataSource dataSource, EventStoreOptions storeOptions) : IStripeSyncCursorStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _s = storeOptions.Schema;

    public async Task<StripeSyncCursor?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select cursor::text from {_s}.stripe_sync_cursors where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? JsonSerializer.Deserialize<StripeSyncCursor>(json, Json) : null;
    }

    public async Task SaveAsync(string tenantId, StripeSyncCursor cursor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"insert into {_s}.stripe_sync_cursors (tenant_id, cursor) values ($1, $2::jsonb) on conflict (tenant_id) do update set cursor = excluded.cursor, updated_at = now()");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(JsonSerializer.Serialize(cursor, Json));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ResetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"delete from {_s}.stripe_sync_cursors where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>The sync's facts go through the same ingestion as webhooks and imports (deduplicated by event id).</summary>
public sealed class BillingIngestionSink(BillingIngestion ingestion) : IBillingFactSink
{
    public async Task StoreAsync(string tenantId, IReadOnlyList<ParsedStripeEvent> events, string source, CancellationToken cancellationToken) =>
        await ingestion.IngestAsync(tenantId, events, source, cancellationToken);
}

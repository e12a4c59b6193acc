using HealthScoring.EventStore;

namespace HealthScoring.Api.Billing;

/// <summary>A tenant's Stripe settings: the webhook endpoint secret and the customer metadata key naming the account.</summary>
public sealed record StripeSettings(string? WebhookSecret, string CustomerMetadataKey);

public sealed class StripeSettingsStore(Npgsql.NpgsqlDataSource dataSource, EventStoreOptions options)
{
    private readonly string _s = options.Schema;

    public async Task<StripeSettings> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select webhook_secret, customer_metadata_key from {_s}.stripe_settings where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StripeSettings(await reader.IsDBNullAsync(0, cancellationToken) ? null : reader.GetString(0), reader.GetString(1))
            : new StripeSettings(null, "account_id");
    }

    /// <summary>Sets what is given (null leaves a value as it is).</summary>
    public async Task SetAsync(string tenantId, string? webhookSecret, string? customerMetadataKey, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.stripe_settings as s (tenant_id, webhook_secret, customer_metadata_key) values ($1, $2, coalesce($3, 'account_id'))
            on conflict (tenant_id) do update set webhook_secret = coalesce($2, s.webhook_secret),
                customer_metadata_key = coalesce($3, s.customer_metadata_key), updated_at = now()
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = (object?)webhookSecret ?? DBNull.Value });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = (object?)customerMetadataKey ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

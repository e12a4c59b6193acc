using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Privacy;

/// <summary>Deletes raw usage events older than <see cref="IngestionOptions.RetentionDays"/>, tenant by tenant.</summary>
public sealed class RetentionService(IEventStore store, NpgsqlDataSource dataSource, EventStoreOptions storeOptions, IOptions<IngestionOptions> options, TimeProvider clock)
{
    /// <summary>Purges every tenant (or one); returns events deleted per tenant, or null when retention is off.</summary>
    public async Task<IReadOnlyDictionary<string, long>?> ApplyAsync(string? tenantId, CancellationToken cancellationToken)
    {
        if (options.Value.RetentionDays is not { } days)
        {
            return null;
        }

        var cutoff = clock.GetUtcNow().AddDays(-days);
        var tenants = new List<string>();
        if (tenantId is not null)
        {
            tenants.Add(tenantId);
        }
        else
        {
            await using var command = dataSource.CreateCommand($"select tenant_id from {storeOptions.Schema}.tenants order by 1");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tenants.Add(reader.GetString(0));
            }
        }

        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var tenant in tenants)
        {
            deleted[tenant] = await store.PurgeAsync(tenant, IngestionEventTypes.RawUsage.ToArray(), cutoff, cancellationToken);
        }

        return deleted;
    }
}

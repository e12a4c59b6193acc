using Npgsql;

namespace HealthScoring.Testing;

/// <summary>Which event ids a tenant's log holds, read straight from PostgreSQL (for "nothing acknowledged was lost" checks).</summary>
public static class StoredEventIds
{
    /// <summary>Those of <paramref name="eventIds"/> that are in <paramref name="schema"/>'s events of <paramref name="tenantId"/>.</summary>
    public static async Task<HashSet<Guid>> AmongAsync(NpgsqlDataSource dataSource, string schema, string tenantId, IEnumerable<Guid> eventIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand($"select event_id from {schema}.events where tenant_id = $1 and event_id = any($2)");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(eventIds.ToArray());
        var stored = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(reader.GetGuid(0));
        }

        return stored;
    }
}

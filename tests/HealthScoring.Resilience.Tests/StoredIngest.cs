using HealthScoring.Api.Accounts;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Resilience.Tests;

/// <summary>What the store holds of a <see cref="SustainedIngest"/> run, read straight from PostgreSQL.</summary>
internal sealed class StoredIngest(NpgsqlDataSource dataSource, string schema)
{
    /// <summary>Of <paramref name="calls"/>, those whose derived event id (IngestionPipeline.EventIdOf(messageId)) is not in the store.</summary>
    public async Task<IReadOnlyList<int>> MissingAsync(IngestWorkload workload, IReadOnlyList<int> calls, CancellationToken cancellationToken)
    {
        var stored = await StoredEventIds.AmongAsync(dataSource, schema, SustainedIngest.Tenant, calls.Select(workload.EventId), cancellationToken);
        return [.. calls.Where(i => !stored.Contains(workload.EventId(i)))];
    }

    /// <summary>How many stored events carry each messageId (every copy counts, whatever its id or stream).</summary>
    public async Task<IReadOnlyDictionary<string, long>> CopiesByMessageIdAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select data->>'messageId', count(*) from {schema}.events where tenant_id = $1 group by 1");
        command.Parameters.AddWithValue(SustainedIngest.Tenant);
        var copies = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            copies[reader.GetString(0)] = reader.GetInt64(1);
        }

        return copies;
    }

    /// <summary>The daily aggregates' event counts per account and day.</summary>
    public async Task<IReadOnlyDictionary<(string Account, DateOnly Day), int>> DailyEventsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select account_id, day, events from {schema}.account_daily where tenant_id = $1");
        command.Parameters.AddWithValue(SustainedIngest.Tenant);
        var daily = new Dictionary<(string, DateOnly), int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            daily[(reader.GetString(0), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken))] = reader.GetInt32(2);
        }

        return daily;
    }

    /// <summary>The daily events per account and day that <paramref name="calls"/> of <paramref name="workload"/> make (the day is the UTC date).</summary>
    public static IReadOnlyDictionary<(string Account, DateOnly Day), int> ExpectedDaily(IngestWorkload workload, IEnumerable<int> calls) =>
        calls.GroupBy(i => (workload.AccountId(i), DateOnly.FromDateTime(workload.Timestamp(i).UtcDateTime))).ToDictionary(g => g.Key, g => g.Count());

    public Task<LogPosition?> CheckpointAsync(string subscription, CancellationToken cancellationToken) =>
        SubscriptionRunner.ReadCheckpointAsync(dataSource, new EventStoreOptions { Schema = schema }, subscription, cancellationToken);

    /// <summary>Track events of account streams at or before <paramref name="position"/> in the log's order.</summary>
    public async Task<long> AccountTracksUpToAsync(LogPosition position, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"select count(*) from {schema}.events where tenant_id = $1 and type = $2 and stream_id like 'account:%' and (tx_id, seq) <= ($3::text::xid8, $4)");
        command.Parameters.AddWithValue(SustainedIngest.Tenant);
        command.Parameters.AddWithValue(IngestWorkload.TrackTypeName);
        command.Parameters.AddWithValue(position.TransactionId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue(position.Sequence);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Waits until the account projection's checkpoint is at the end of the log (as the ingest benchmark does). A
    /// hang guard, not a speed check: it gives up after two minutes.
    /// </summary>
    public async Task WaitForProjectionAsync(ApiHostProcess host, CancellationToken cancellationToken)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(TimeSpan.FromMinutes(2));
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                $"""
                select count(*) from (values ($1)) as n(name)
                left join {schema}.subscriptions s using (name)
                where s.name is null or exists (select 1 from {schema}.events e where (e.tx_id, e.seq) > (s.tx_id, s.seq))
                """);
            command.Parameters.AddWithValue(AccountDailyProjection.SubscriptionName);
            if ((long)(await command.ExecuteScalarAsync(guard.Token))! == 0)
            {
                return;
            }

            host.EnsureRunning();
            await Task.Delay(100, guard.Token);
        }
    }
}

using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Ingestion;

/// <summary>The data-quality report of one tenant over recent days.</summary>
public sealed record DataQualityView(
    int Days,
    DataQualityTotals Totals,
    IReadOnlyList<DataQualityDay> PerDay,
    IReadOnlyList<NamedCount> RejectsByReason,
    IReadOnlyList<NamedCount> UndeclaredEvents,
    int DeclaredEvents,
    long UnassignedEventsNow);

public sealed record DataQualityTotals(long Received, long Accepted, long Duplicates, long Rejected, long Late, long Unassigned, long Undeclared);

public sealed record DataQualityDay(DateOnly Day, string Source, long Received, long Accepted, long Duplicates, long Rejected, long Late, long Unassigned, long Undeclared);

public sealed record NamedCount(string Name, long Count);

/// <summary>Volumes, rejects by reason, duplicates, late and unassigned events, and undeclared event names.</summary>
public sealed class DataQualityReport(NpgsqlDataSource dataSource, EventStoreOptions options, TimeProvider clock, QualityCounters counters)
{
    private readonly string _s = options.Schema;

    public async Task<DataQualityView> GetAsync(string tenantId, int days, CancellationToken cancellationToken)
    {
        await counters.FlushAsync(cancellationToken);
        var since = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(-(days - 1));
        var perDay = new List<DataQualityDay>();
        await using (var command = dataSource.CreateCommand(
            $"select day, source, received, accepted, duplicates, rejected, late, unassigned, undeclared from {_s}.ingest_daily where tenant_id = $1 and day >= $2 order by day, source"))
        {
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(since);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                perDay.Add(new DataQualityDay(await reader.GetFieldValueAsync<DateOnly>(0, cancellationToken), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
                    reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8)));
            }
        }

        var rejects = await CountsAsync($"select reason, sum(count)::bigint from {_s}.ingest_rejects where tenant_id = $1 and day >= $2 group by reason order by 2 desc, 1 limit 20", tenantId, since, cancellationToken);
        var undeclared = await CountsAsync($"select event_name, count from {_s}.ingest_undeclared where tenant_id = $1 and last_seen >= $2 order by 2 desc, 1 limit 50", tenantId,
            new DateTimeOffset(since.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), cancellationToken);
        await using var scalars = dataSource.CreateCommand(
            $"""
            select (select count(*) from {_s}.event_taxonomy where tenant_id = $1)::int,
                   (select count(*) from {_s}.events where tenant_id = $1 and stream_id like 'unassigned:%')
            """);
        scalars.Parameters.AddWithValue(tenantId);
        await using var s = await scalars.ExecuteReaderAsync(cancellationToken);
        await s.ReadAsync(cancellationToken);
        var totals = new DataQualityTotals(perDay.Sum(d => d.Received), perDay.Sum(d => d.Accepted), perDay.Sum(d => d.Duplicates), perDay.Sum(d => d.Rejected),
            perDay.Sum(d => d.Late), perDay.Sum(d => d.Unassigned), perDay.Sum(d => d.Undeclared));
        return new DataQualityView(days, totals, perDay, rejects, undeclared, s.GetInt32(0), s.GetInt64(1));
    }

    private async Task<List<NamedCount>> CountsAsync<TSince>(string sql, string tenantId, TSince since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.Add(new NpgsqlParameter<TSince> { TypedValue = since });

        var counts = new List<NamedCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts.Add(new NamedCount(reader.GetString(0), reader.GetInt64(1)));
        }

        return counts;
    }
}

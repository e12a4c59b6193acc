using Npgsql;

namespace HealthScoring.EventStore.Subscriptions;

/// <summary>
/// Where the log's readable end stands. <see cref="IEventStore.ReadAllAsync"/> shows an event only once every
/// transaction older than the one that appended it has ended (so positions never appear out of order); while any other
/// transaction in the database stays open, events committed after it began stay unread. "Caught up" therefore means
/// "nothing left to read AND every transaction that could have appended before I started has ended".
/// </summary>
public static class LogHorizon
{
    /// <summary>The id the next transaction will get: everything appended before this call is in transactions below it.</summary>
    public static async Task<ulong> NowAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand("select pg_snapshot_xmax(pg_current_snapshot())");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return await reader.GetFieldValueAsync<ulong>(0, cancellationToken);
    }

    /// <summary>True once every transaction below <paramref name="horizon"/> has ended, so all it appended is readable.</summary>
    public static async Task<bool> HasPassedAsync(NpgsqlDataSource dataSource, ulong horizon, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand("select pg_snapshot_xmin(pg_current_snapshot())");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return await reader.GetFieldValueAsync<ulong>(0, cancellationToken) >= horizon;
    }

    /// <summary>Waits until everything appended before this call is readable (every older transaction has ended).</summary>
    public static async Task WaitUntilReadableAsync(NpgsqlDataSource dataSource, TimeSpan pollInterval, CancellationToken cancellationToken = default)
    {
        var horizon = await NowAsync(dataSource, cancellationToken);
        while (!await HasPassedAsync(dataSource, horizon, cancellationToken))
        {
            await Task.Delay(pollInterval, cancellationToken);
        }
    }
}

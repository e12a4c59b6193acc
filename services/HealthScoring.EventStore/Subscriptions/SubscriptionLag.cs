using Npgsql;
using NpgsqlTypes;

namespace HealthScoring.EventStore.Subscriptions;

/// <summary>How far a subscription is behind the head of the log, in events.</summary>
public static class SubscriptionLag
{
    /// <summary>
    /// Counts the committed events after <paramref name="position"/> in log order, stopping at <paramref name="limit"/>
    /// (so a subscription far behind costs a bounded index scan; the answer then means "at least this many").
    /// </summary>
    public static async Task<long> CountAfterAsync(NpgsqlDataSource dataSource, EventStoreOptions storeOptions, LogPosition position, long limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(storeOptions);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var command = dataSource.CreateCommand(
            $"select count(*) from (select 1 from {storeOptions.Schema}.events where (tx_id, seq) > ($1, $2) order by tx_id, seq limit $3) behind");
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = position.TransactionId });
        command.Parameters.AddWithValue(position.Sequence);
        command.Parameters.AddWithValue(limit);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// How many events <paramref name="runner"/> has still to pass: from its position when this instance leads it (that
    /// includes skipped events it has passed but not yet saved), else from its saved checkpoint (the log's start when it
    /// has none).
    /// </summary>
    public static async Task<long> OfAsync(SubscriptionRunner runner, NpgsqlDataSource dataSource, EventStoreOptions storeOptions, long limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var position = runner.IsLeader
            ? runner.Position
            : await SubscriptionRunner.ReadCheckpointAsync(dataSource, storeOptions, runner.Name, cancellationToken) ?? LogPosition.Start;
        return await CountAfterAsync(dataSource, storeOptions, position, limit, cancellationToken);
    }
}

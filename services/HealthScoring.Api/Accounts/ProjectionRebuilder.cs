using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using Npgsql;

namespace HealthScoring.Api.Accounts;

/// <summary>Brings the daily aggregates up to date with the log, or rebuilds them from its start.</summary>
public sealed class ProjectionRebuilder(NpgsqlDataSource dataSource, IEventStore store, EventStoreOptions storeOptions, AccountDailyProjection projection, ILogger<SubscriptionRunner> logger)
{
    private SubscriptionRunner Runner() => new(dataSource, store, storeOptions, projection, AccountDailyProjection.SubscriptionOptions, logger);

    /// <summary>Handles whatever the projection has not seen yet; returns how many events that was.</summary>
    public async Task<long> CatchUpAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var runner = Runner();
        return await runner.CatchUpAsync(null, progress, cancellationToken);
    }

    /// <summary>
    /// For when another process (the API host) leads the projection: waits until its checkpoint has passed every
    /// event stored before this call, so what is read next reflects them. Events appended meanwhile are not waited
    /// for: under steady ingest the log has no end to reach. Reports the checkpoint's sequence number.
    /// </summary>
    public async Task WaitForLeaderAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var horizon = await LogHorizon.NowAsync(dataSource, cancellationToken);
        while (true)
        {
            // The horizon first: once it has passed, everything stored before this call is readable, and in log
            // order (transaction first) it all comes before what later transactions append. So the leader is done
            // with it once the next event after its checkpoint, if any, is from a transaction at or past the horizon.
            var passed = await LogHorizon.HasPassedAsync(dataSource, horizon, cancellationToken);
            var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(dataSource, storeOptions, AccountDailyProjection.SubscriptionName, cancellationToken) ?? LogPosition.Start;
            if (passed && (await store.ReadAllAsync(checkpoint, 1, cancellationToken: cancellationToken)).Events is var next && (next.Count == 0 || next[0].Position.TransactionId >= horizon))
            {
                return;
            }

            progress?.Report(checkpoint.Sequence);
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>Empties the aggregates (all tenants: the log is one) and replays the whole log into them.</summary>
    public async Task<long> RebuildAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var runner = Runner();
        return await runner.CatchUpAsync(async (connection, tx, ct) =>
        {
            await using var truncate = new NpgsqlCommand($"truncate {string.Join(", ", AccountDailyProjection.Tables.Select(t => $"{storeOptions.Schema}.{t}"))}", connection, tx);
            await truncate.ExecuteNonQueryAsync(ct);
        }, progress, cancellationToken);
    }
}

using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using Npgsql;

namespace HealthScoring.Cli.Demo;

/// <summary>
/// Events per account per day, kept by a transactional subscription: the counts and the checkpoint commit
/// together, so a batch delivered twice is never counted twice.
/// </summary>
internal sealed class AccountDailyActivityProjection(string schema) : ITransactionalSubscriptionHandler
{
    public const string SubscriptionName = "demo-account-daily-activity";

    public string Table => $"{schema}.demo_account_daily_activity";

    public async Task EnsureTableAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            create table if not exists {Table} (
                tenant_id  text not null,
                account_id text not null,
                day        date not null,
                events     bigint not null,
                primary key (tenant_id, account_id, day)
            )
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task HandleAsync(IReadOnlyList<RecordedEvent> events, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<(string Tenant, string Account, DateOnly Day), long>();
        foreach (var e in events)
        {
            if (e.Data is ProductUsageRecorded)
            {
                var key = (e.TenantId, e.StreamId, DateOnly.FromDateTime(e.OccurredAt.UtcDateTime));
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        if (counts.Count == 0)
        {
            return;
        }

        await using var upsert = new NpgsqlCommand(
            $"""
            insert into {Table} as t (tenant_id, account_id, day, events)
            select * from unnest($1::text[], $2::text[], $3::date[], $4::bigint[])
            on conflict (tenant_id, account_id, day) do update set events = t.events + excluded.events
            """, connection, transaction);
        upsert.Parameters.AddWithValue(counts.Keys.Select(k => k.Tenant).ToArray());
        upsert.Parameters.AddWithValue(counts.Keys.Select(k => k.Account).ToArray());
        upsert.Parameters.AddWithValue(counts.Keys.Select(k => k.Day).ToArray());
        upsert.Parameters.AddWithValue(counts.Values.ToArray());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }
}

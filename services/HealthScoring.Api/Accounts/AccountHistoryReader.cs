using HealthScoring.EventStore;
using HealthScoring.Models.Features;
using Npgsql;

namespace HealthScoring.Api.Accounts;

/// <summary>
/// Reads accounts' daily aggregates and subscription states into <see cref="AccountHistory"/> objects, only for
/// days before <c>until</c> and states that began before it: the SQL itself cannot return anything later, and the
/// feature extractor checks again.
/// </summary>
public sealed class AccountHistoryReader(NpgsqlDataSource dataSource, EventStoreOptions storeOptions)
{
    private readonly string _s = storeOptions.Schema;

    /// <summary>Every account of the tenant with any activity or billing before <paramref name="until"/>; or only <paramref name="accountIds"/>.</summary>
    public async Task<IReadOnlyList<AccountHistory>> ReadAsync(string tenantId, DateOnly until, IReadOnlyCollection<string>? accountIds = null, CancellationToken cancellationToken = default)
    {
        var filter = accountIds is null ? "" : "and account_id = any($3)";
        var days = new Dictionary<(string Account, DateOnly Day), DayBuilder>();
        DayBuilder Day(string account, DateOnly day)
        {
            if (!days.TryGetValue((account, day), out var builder))
            {
                builder = new DayBuilder();
                days[(account, day)] = builder;
            }

            return builder;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var reader = await Query($"select account_id, day, sessions, api_calls, errors, support_tickets, invoices_paid, payment_failures from {_s}.account_daily where tenant_id = $1 and day < $2 {filter}").ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var d = Day(reader.GetString(0), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken));
                d.Sessions = reader.GetInt32(2);
                d.ApiCalls = reader.GetInt64(3);
                d.Errors = reader.GetInt32(4);
                d.Tickets = reader.GetInt32(5);
                d.InvoicesPaid = reader.GetInt32(6);
                d.PaymentFailures = reader.GetInt32(7);
            }
        }

        await using (var reader = await Query($"select account_id, day, event_name, count from {_s}.account_daily_events where tenant_id = $1 and day < $2 {filter}").ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                Day(reader.GetString(0), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken)).Events[reader.GetString(2)] = reader.GetInt32(3);
            }
        }

        await using (var reader = await Query($"select account_id, day, feature, uses from {_s}.account_daily_features where tenant_id = $1 and day < $2 {filter}").ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                Day(reader.GetString(0), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken)).Features[reader.GetString(2)] = reader.GetInt32(3);
            }
        }

        await using (var reader = await Query($"select account_id, day, user_key from {_s}.account_daily_users where tenant_id = $1 and day < $2 {filter}").ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                Day(reader.GetString(0), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken)).Users.Add(reader.GetString(2));
            }
        }

        var billing = new Dictionary<string, List<SubscriptionState>>(StringComparer.Ordinal);
        await using (var reader = await Query($"select account_id, at, subscription_id, status, mrr_minor, seats, plan from {_s}.account_subscriptions where tenant_id = $1 and at < $2::date::timestamp at time zone 'UTC' {filter} order by at, event_id").ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var account = reader.GetString(0);
                if (!billing.TryGetValue(account, out var states))
                {
                    states = [];
                    billing[account] = states;
                }

                states.Add(new SubscriptionState(await reader.GetFieldValueAsync<DateTimeOffset>(1, cancellationToken), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), await reader.IsDBNullAsync(6, cancellationToken) ? null : reader.GetString(6)));
            }
        }

        var accounts = days.Keys.Select(k => k.Account).Concat(billing.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var byAccount = days.GroupBy(d => d.Key.Account, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(d => d.Value.Build(d.Key.Day)).ToList(), StringComparer.Ordinal);
        return [.. accounts.Select(a => new AccountHistory(a, byAccount.GetValueOrDefault(a) ?? [], billing.GetValueOrDefault(a) ?? []))];

        NpgsqlCommand Query(string sql)
        {
            var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(until);
            if (accountIds is not null)
            {
                command.Parameters.AddWithValue(accountIds.ToArray());
            }

            return command;
        }
    }

    private sealed class DayBuilder
    {
        public Dictionary<string, int> Events { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, int> Features { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Users { get; } = new(StringComparer.Ordinal);
        public int Sessions { get; set; }
        public long ApiCalls { get; set; }
        public int Errors { get; set; }
        public int Tickets { get; set; }
        public int InvoicesPaid { get; set; }
        public int PaymentFailures { get; set; }

        public DailyActivity Build(DateOnly day) => new(day, Events, Users, Features, Sessions, ApiCalls, Errors, Tickets, InvoicesPaid, PaymentFailures);
    }
}

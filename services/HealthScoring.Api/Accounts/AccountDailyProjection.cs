using System.Text.Json.Nodes;
using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using HealthScoring.Integrations.Stripe;
using HealthScoring.Models.Features;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Accounts;

/// <summary>
/// Keeps the daily per-account aggregates the features are computed from: events per name, active users,
/// sessions, features used, API volume, errors, support tickets, invoices and payment failures per UTC day of
/// occurrence, and every subscription state change. A transactional subscription: the aggregates and the
/// checkpoint commit together, so no batch is ever counted twice. Only <c>account:</c> streams are read (an
/// unassigned user's events are counted once a group call copies them to the account). Rebuildable from the log
/// with <c>healthscore projections rebuild</c>.
/// </summary>
/// <remarks>
/// While this host's ingest is saturated (<see cref="IngestPressure"/>), the projection takes at most
/// <see cref="AccountsOptions.ProjectionShareUnderIngest"/> of the time: after each batch it pauses for the rest. Its
/// lag then grows during a burst and is made up after it, in full-size batches that cost less per event. It pauses
/// only after a full batch: while it keeps up with the log its batches are short and it never pauses. The lag is
/// bounded: once the last event it handled was recorded more than <see cref="AccountsOptions.MaxLagUnderIngest"/>
/// ago, it stops pausing until it is back within that.
/// </remarks>
public sealed class AccountDailyProjection(EventStoreOptions storeOptions, EventTaxonomy taxonomy, IOptions<FeatureOptions> options, IngestPressure pressure, IOptions<AccountsOptions> accountsOptions, TimeProvider clock) : ITransactionalSubscriptionHandler, IPacedSubscriptionHandler
{
    public const string SubscriptionName = "account-daily";

    private readonly string _s = storeOptions.Schema;
    private readonly EventRoles _roles = options.Value.Roles;
    private readonly double _shareUnderIngest = accountsOptions.Value.ProjectionShareUnderIngest;
    private readonly TimeSpan _maxLag = accountsOptions.Value.MaxLagUnderIngest;

    /// <summary>When the last event of the latest batch was recorded (the runner calls handle, then pace, one batch at a time).</summary>
    private DateTimeOffset _lastRecordedAt = DateTimeOffset.MaxValue;

    /// <summary>The longest pause after one batch, however long it took.</summary>
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public async ValueTask PaceAsync(int count, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var pause = PauseAfter(elapsed, count, _shareUnderIngest, pressure.IsSaturated, clock.GetUtcNow() - _lastRecordedAt, _maxLag);
        if (pause > TimeSpan.Zero)
        {
            await Task.Delay(pause, cancellationToken);
        }
    }

    /// <summary>
    /// The pause after a batch of <paramref name="count"/> events that took <paramref name="elapsed"/>, so that the
    /// projection takes at most <paramref name="share"/> of the time while ingest is saturated, unless it is already
    /// <paramref name="maxLag"/> or more behind (<paramref name="lag"/>: how long ago the batch's last event was
    /// recorded). Only a full batch means it is behind: one that keeps up with the log (a short batch) costs little,
    /// and pausing it would only delay whoever waits for the aggregates (a scoring run) under moderate load.
    /// </summary>
    internal static TimeSpan PauseAfter(TimeSpan elapsed, int count, double share, bool saturated, TimeSpan lag, TimeSpan maxLag)
    {
        if (!saturated || count < SubscriptionOptions.BatchSize || share >= 1 || lag >= maxLag)
        {
            return TimeSpan.Zero;
        }

        var pause = elapsed * ((1 / share) - 1);
        return pause < MaxPause ? pause : MaxPause;
    }

    /// <summary>
    /// How the projection follows the log, in the host and in a rebuild alike: large batches (its cost is mostly one
    /// upsert per account-day, name and user a batch touches, so fewer, larger batches cost less per event), a
    /// second for the log to fill after a short batch, and only the track fields it counts read from the database.
    /// </summary>
    public static SubscriptionOptions SubscriptionOptions { get; } = new()
    {
        Name = SubscriptionName,
        BatchSize = 20_000,
        SettleDelay = TimeSpan.FromSeconds(1),
        Omit = new DataOmission([typeof(TrackRecorded)], ["context", "personal", "messageId", "receivedAt", "sentAt"]),
    };

    /// <summary>The tables this projection owns, emptied by a rebuild.</summary>
    public static IReadOnlyList<string> Tables { get; } = ["account_daily", "account_daily_events", "account_daily_features", "account_daily_users", "account_subscriptions"];

    public async Task HandleAsync(IReadOnlyList<RecordedEvent> events, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var days = new Dictionary<(string Tenant, string Account, DateOnly Day), DayTotals>();
        var names = new Dictionary<(string Tenant, string Account, DateOnly Day, string Name), int>();
        var features = new Dictionary<(string Tenant, string Account, DateOnly Day, string Feature), int>();
        var users = new HashSet<(string Tenant, string Account, DateOnly Day, string User)>();
        var subscriptions = new List<(string Tenant, string Account, Guid EventId, DateTimeOffset At, StripeSubscriptionSnapshot Snapshot, bool Canceled)>();
        var taxonomies = new Dictionary<string, IReadOnlyDictionary<string, DeclaredEvent>>(StringComparer.Ordinal);
        if (events.Count > 0)
        {
            _lastRecordedAt = events[^1].RecordedAt;
        }

        foreach (var e in events)
        {
            if (!e.StreamId.StartsWith(IngestionPipeline.AccountStreamPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var account = e.StreamId[IngestionPipeline.AccountStreamPrefix.Length..];
            var day = DateOnly.FromDateTime(e.OccurredAt.UtcDateTime);
            var key = (e.TenantId, account, day);
            switch (e.Data)
            {
                case TrackRecorded track:
                {
                    var totals = Totals(days, key);
                    totals.Events++;
                    names[(e.TenantId, account, day, track.Event)] = names.GetValueOrDefault((e.TenantId, account, day, track.Event)) + 1;
                    users.Add((e.TenantId, account, day, string.IsNullOrEmpty(track.UserId) ? $"anon:{track.AnonymousId}" : track.UserId));
                    if (!taxonomies.TryGetValue(e.TenantId, out var declared))
                    {
                        declared = await taxonomy.GetAsync(e.TenantId, cancellationToken);
                        taxonomies[e.TenantId] = declared;
                    }

                    var feature = declared.TryGetValue(track.Event, out var d) ? d.Feature : null;
                    if (!string.IsNullOrEmpty(feature))
                    {
                        features[(e.TenantId, account, day, feature)] = features.GetValueOrDefault((e.TenantId, account, day, feature)) + 1;
                    }

                    Count(totals, track);
                    break;
                }

                case InvoicePaid:
                    Totals(days, key).InvoicesPaid++;
                    break;
                case InvoicePaymentFailed:
                    Totals(days, key).PaymentFailures++;
                    break;
                case SubscriptionCanceled canceled:
                    subscriptions.Add((e.TenantId, account, e.EventId, e.OccurredAt, canceled.Subscription, true));
                    break;
                case StripeSubscriptionFact subscription:
                    subscriptions.Add((e.TenantId, account, e.EventId, e.OccurredAt, subscription.Subscription, false));
                    break;
            }
        }

        await UpsertAsync(connection, transaction, days, names, features, users, cancellationToken);
        await InsertSubscriptionsAsync(connection, transaction, subscriptions, cancellationToken);
    }

    private void Count(DayTotals totals, TrackRecorded track)
    {
        if (_roles.Session.Contains(track.Event))
        {
            totals.Sessions++;
        }

        if (_roles.ApiCall.Contains(track.Event))
        {
            totals.ApiCalls += ApiCount(track.Properties);
        }

        if (_roles.Error.Contains(track.Event))
        {
            totals.Errors++;
        }

        if (_roles.SupportTicket.Contains(track.Event))
        {
            totals.SupportTickets++;
        }
    }

    private long ApiCount(JsonObject? properties)
    {
        if (properties?[_roles.ApiCallCountProperty] is JsonValue value && value.TryGetValue<double>(out var count) && double.IsFinite(count) && count >= 0)
        {
            return (long)Math.Min(count, int.MaxValue);
        }

        return 1;
    }

    private static DayTotals Totals(Dictionary<(string, string, DateOnly), DayTotals> days, (string, string, DateOnly) key)
    {
        if (!days.TryGetValue(key, out var totals))
        {
            totals = new DayTotals();
            days[key] = totals;
        }

        return totals;
    }

    private async Task UpsertAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        Dictionary<(string Tenant, string Account, DateOnly Day), DayTotals> days,
        Dictionary<(string Tenant, string Account, DateOnly Day, string Name), int> names,
        Dictionary<(string Tenant, string Account, DateOnly Day, string Feature), int> features,
        HashSet<(string Tenant, string Account, DateOnly Day, string User)> users,
        CancellationToken cancellationToken)
    {
        if (days.Count > 0)
        {
            await using var command = new NpgsqlCommand(
                $"""
                insert into {_s}.account_daily as t (tenant_id, account_id, day, events, sessions, api_calls, errors, support_tickets, invoices_paid, payment_failures)
                select * from unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::int[], $6::bigint[], $7::int[], $8::int[], $9::int[], $10::int[])
                on conflict (tenant_id, account_id, day) do update set
                    events = t.events + excluded.events, sessions = t.sessions + excluded.sessions,
                    api_calls = t.api_calls + excluded.api_calls, errors = t.errors + excluded.errors,
                    support_tickets = t.support_tickets + excluded.support_tickets,
                    invoices_paid = t.invoices_paid + excluded.invoices_paid,
                    payment_failures = t.payment_failures + excluded.payment_failures
                """, connection, transaction);
            var rows = days.OrderBy(d => d.Key).ToList();
            command.Parameters.AddWithValue(rows.Select(r => r.Key.Tenant).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Key.Account).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Key.Day).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.Events).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.Sessions).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.ApiCalls).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.Errors).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.SupportTickets).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.InvoicesPaid).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Value.PaymentFailures).ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await UpsertCountsAsync(connection, transaction, "account_daily_events", "event_name", "count", names.Select(n => (n.Key.Tenant, n.Key.Account, n.Key.Day, n.Key.Name, n.Value)), cancellationToken);
        await UpsertCountsAsync(connection, transaction, "account_daily_features", "feature", "uses", features.Select(n => (n.Key.Tenant, n.Key.Account, n.Key.Day, n.Key.Feature, n.Value)), cancellationToken);
        if (users.Count > 0)
        {
            await using var command = new NpgsqlCommand(
                $"""
                insert into {_s}.account_daily_users (tenant_id, account_id, day, user_key)
                select * from unnest($1::text[], $2::text[], $3::date[], $4::text[])
                on conflict do nothing
                """, connection, transaction);
            var rows = users.Order().ToList();
            command.Parameters.AddWithValue(rows.Select(r => r.Tenant).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Account).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.Day).ToArray());
            command.Parameters.AddWithValue(rows.Select(r => r.User).ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task UpsertCountsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string keyColumn, string countColumn, IEnumerable<(string Tenant, string Account, DateOnly Day, string Key, int Count)> counts, CancellationToken cancellationToken)
    {
        // Sorted so that concurrent writers (a rebuild beside the host) lock rows in the same order.
        var rows = counts.OrderBy(r => (r.Tenant, r.Account, r.Day, r.Key)).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            $"""
            insert into {_s}.{table} as t (tenant_id, account_id, day, {keyColumn}, {countColumn})
            select * from unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[])
            on conflict (tenant_id, account_id, day, {keyColumn}) do update set {countColumn} = t.{countColumn} + excluded.{countColumn}
            """, connection, transaction);
        command.Parameters.AddWithValue(rows.Select(r => r.Tenant).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Account).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Day).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Key).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Count).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task InsertSubscriptionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<(string Tenant, string Account, Guid EventId, DateTimeOffset At, StripeSubscriptionSnapshot Snapshot, bool Canceled)> subscriptions, CancellationToken cancellationToken)
    {
        if (subscriptions.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            $"""
            insert into {_s}.account_subscriptions (tenant_id, account_id, event_id, at, subscription_id, status, mrr_minor, seats, plan)
            select * from unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[])
            on conflict do nothing
            """, connection, transaction);
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Tenant).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Account).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.EventId).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.At).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Snapshot.SubscriptionId).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Canceled ? "canceled" : s.Snapshot.Status).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Canceled ? 0 : s.Snapshot.MonthlyRecurringRevenueMinor ?? 0).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => s.Canceled ? 0 : s.Snapshot.Quantity).ToArray());
        command.Parameters.AddWithValue(subscriptions.Select(s => Plan(s.Snapshot)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The plan: the product (else the price) of the subscription's largest item.</summary>
    private static string? Plan(StripeSubscriptionSnapshot subscription) =>
        subscription.Items.OrderByDescending(i => i.MonthlyAmountMinor ?? 0).Select(i => i.ProductId ?? i.PriceId).FirstOrDefault(p => p is not null);

    private sealed class DayTotals
    {
        public int Events;
        public int Sessions;
        public long ApiCalls;
        public int Errors;
        public int SupportTickets;
        public int InvoicesPaid;
        public int PaymentFailures;
    }
}

using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Alerts;

/// <summary>
/// Runs the alert rules over a scoring run and appends the alerts to each account's stream (from where the
/// publisher takes them). Alert event ids derive from tenant, account, kind and date, so a rerun after a crash
/// appends nothing twice; the rules' state is saved after the append.
/// </summary>
public sealed class AlertService(IEventStore store, NpgsqlDataSource dataSource, EventStoreOptions storeOptions, IOptions<AlertOptions> options)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _s = storeOptions.Schema;

    public async Task<IReadOnlyList<AlertDecision>> EvaluateAsync(string tenantId, DateOnly asOf, IReadOnlyList<AccountScore> scores, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var rules = options.Value.For(tenantId);
        var states = await LoadStatesAsync(tenantId, cancellationToken);
        var owners = await OwnersAsync(tenantId, cancellationToken);
        var ownerCounts = await OwnerCountsAsync(tenantId, asOf, cancellationToken);
        var events = new List<StreamEvent>();
        var nextStates = new List<(string Account, AlertState State)>();
        var all = new List<AlertDecision>();
        var announced = new List<HealthChange>();
        foreach (var score in scores.OrderBy(s => s.AccountId, StringComparer.Ordinal))
        {
            var owner = owners.GetValueOrDefault(score.AccountId);
            var (decisions, next) = AlertRulesEngine.Evaluate(tenantId, score.AccountId, owner, score, asOf, states.GetValueOrDefault(score.AccountId) ?? AlertState.New, rules, o =>
            {
                var key = o ?? "";
                if (ownerCounts.GetValueOrDefault(key) >= rules.DailyCapPerOwner)
                {
                    return false;
                }

                ownerCounts[key] = ownerCounts.GetValueOrDefault(key) + 1;
                return true;
            });
            nextStates.Add((score.AccountId, next));
            foreach (var decision in decisions)
            {
                all.Add(decision);
                if (decision.Kind != "suppressed")
                {
                    announced.Add(new HealthChange(HealthNotifications.AlertKind, tenantId, score.AccountId, asOf, score.HealthScore, score.Band, score.ChurnProbability,
                        score.ExpansionProbability, score.PreviousScore, decision.Kind, AlertIdOf(decision.Event)));
                }

                events.Add(new StreamEvent(IngestionPipeline.AccountStream(score.AccountId), new NewEvent(
                    EventIds.Derive("alert", $"{tenantId}/{score.AccountId}/{decision.Kind}/{asOf:yyyy-MM-dd}"),
                    decision.Event,
                    new EventMetadata(Source: "alerts"),
                    HealthScoring.Models.Features.AccountHistory.Instant(asOf))));
            }
        }

        if (events.Count > 0)
        {
            await store.BulkAppendAsync(tenantId, events, cancellationToken);
        }

        await SaveAsync(tenantId, asOf, nextStates, ownerCounts, announced, cancellationToken);
        return all;
    }

    /// <summary>
    /// Holds the account's alerts back until <paramref name="until"/> (inclusive), or lifts the hold when it is null.
    /// The snooze belongs to the account's rule state, which the scoring run's save never overwrites (it keeps
    /// whatever snooze the row holds), so a snooze set while a run is scoring still counts. False for an account the
    /// tenant has no stream for.
    /// </summary>
    public async Task<bool> SetSnoozeAsync(string tenantId, string accountId, DateOnly? until, string? reason, CancellationToken cancellationToken)
    {
        if (!Portfolio.PortfolioRequests.CanExist(accountId) || await store.GetStreamVersionAsync(tenantId, IngestionPipeline.AccountStream(accountId), cancellationToken) is null)
        {
            return false;
        }

        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.account_alert_state as s (tenant_id, account_id, state) values ($1, $2, jsonb_build_object('snoozedUntil', $3::text, 'snoozeReason', $4::text))
            on conflict (tenant_id, account_id) do update
                set state = s.state || jsonb_build_object('snoozedUntil', $3::text, 'snoozeReason', $4::text), updated_at = now()
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = until is { } d ? d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text, Value = until is null ? DBNull.Value : (object?)reason ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    /// <summary>The account's rule state as the next scoring run will read it (null when it has none yet).</summary>
    public async Task<AlertState?> GetStateAsync(string tenantId, string accountId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select state::text from {_s}.account_alert_state where tenant_id = $1 and account_id = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? FromJson(json) : null;
    }

    private async Task<Dictionary<string, AlertState>> LoadStatesAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select account_id, state::text from {_s}.account_alert_state where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        var states = new Dictionary<string, AlertState>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            states[reader.GetString(0)] = FromJson(reader.GetString(1));
        }

        return states;
    }

    private async Task<Dictionary<string, string>> OwnersAsync(string tenantId, CancellationToken cancellationToken)
    {
        // The owner trait is an email (or name), or an object such as {name, email}: the email identifies the owner.
        await using var command = dataSource.CreateCommand($"""
            select account_id,
                   case jsonb_typeof(traits->'owner')
                       when 'string' then traits->>'owner'
                       when 'object' then coalesce(traits->'owner'->>'email', traits->'owner'->>'name')
                   end
            from {_s}.accounts where tenant_id = $1 and traits ? 'owner'
            """);
        command.Parameters.AddWithValue(tenantId);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!await reader.IsDBNullAsync(1, cancellationToken))
            {
                owners[reader.GetString(0)] = reader.GetString(1);
            }
        }

        return owners;
    }

    private async Task<Dictionary<string, int>> OwnerCountsAsync(string tenantId, DateOnly day, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select owner, alerts from {_s}.alert_owner_daily where tenant_id = $1 and day = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(day);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    private static string? AlertIdOf(object alert) => alert switch
    {
        AccountBecameAtRisk a => a.AlertId,
        AccountRecovered a => a.AlertId,
        ExpansionSignalDetected a => a.AlertId,
        ChurnRiskJumped a => a.AlertId,
        _ => null,
    };

    private async Task SaveAsync(string tenantId, DateOnly day, List<(string Account, AlertState State)> states, Dictionary<string, int> ownerCounts, List<HealthChange> announced, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(
            $"""
            insert into {_s}.account_alert_state as s (tenant_id, account_id, state)
            select $1, * from unnest($2::text[], $3::jsonb[])
            on conflict (tenant_id, account_id) do update
                set state = excluded.state || jsonb_build_object('snoozedUntil', s.state->'snoozedUntil', 'snoozeReason', s.state->'snoozeReason'),
                    updated_at = now()
            """, connection, tx))
        {
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(states.Select(s => s.Account).ToArray());
            command.Parameters.Add(new NpgsqlParameter { Value = states.Select(s => ToJson(s.State)).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (ownerCounts.Count > 0)
        {
            await using var command = new NpgsqlCommand(
                $"""
                insert into {_s}.alert_owner_daily (tenant_id, owner, day, alerts)
                select $1, o, $4, n from unnest($2::text[], $3::int[]) as u(o, n)
                on conflict (tenant_id, owner, day) do update set alerts = excluded.alerts
                """, connection, tx);
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(ownerCounts.Keys.ToArray());
            command.Parameters.AddWithValue(ownerCounts.Values.ToArray());
            command.Parameters.AddWithValue(day);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // The alerts are in the streams already (appended above); watchers hear of them once the rules' state is saved with them.
        await HealthNotifications.NotifyAsync(connection, tx, _s, announced, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    private sealed record StoredState(bool AtRisk, DateOnly? LastAtRiskAlert, int? LastAtRiskScore, bool ExpansionSignaled, DateOnly? SnoozedUntil, List<StoredRisk> RecentRisk);

    private sealed record StoredRisk(DateOnly AsOf, double Churn);

    private static string ToJson(AlertState s) => JsonSerializer.Serialize(new StoredState(s.AtRisk, s.LastAtRiskAlert, s.LastAtRiskScore, s.ExpansionSignaled, s.SnoozedUntil, [.. s.RecentRisk.Select(r => new StoredRisk(r.AsOf, r.Churn))]), Json);

    private static AlertState FromJson(string json)
    {
        var s = JsonSerializer.Deserialize<StoredState>(json, Json)!;
        return new AlertState(s.AtRisk, s.LastAtRiskAlert, s.LastAtRiskScore, s.ExpansionSignaled, s.SnoozedUntil, [.. (s.RecentRisk ?? []).Select(r => (r.AsOf, r.Churn))]);
    }
}

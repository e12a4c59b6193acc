using System.Text.Json;
using Npgsql;

namespace HealthScoring.Api.Scoring;

/// <summary>
/// One change to an account's health, as announced to live watchers: a new or changed verdict
/// (<see cref="Kind"/> <c>score</c>) or an alert raised by the rules (<c>alert</c>, with <see cref="AlertKind"/>).
/// </summary>
public sealed record HealthChange(
    string Kind,
    string TenantId,
    string AccountId,
    DateOnly AsOf,
    int HealthScore,
    string Band,
    double ChurnProbability,
    double? ExpansionProbability,
    int? PreviousScore,
    string? AlertKind = null,
    string? AlertId = null);

/// <summary>
/// PostgreSQL NOTIFY as the doorbell between the process that scores (often the <c>healthscore</c> CLI) and the
/// hosts whose watchers wait for changes: sent inside the writing transaction, so a watcher hears of a change
/// exactly when it has committed and never of one that rolled back, within milliseconds, on any host that uses
/// the same database. One notification per change; each payload stays far below PostgreSQL's 8000-byte limit.
/// The channel carries the store's schema, so schemas sharing a database (tests) never hear each other.
/// </summary>
public static class HealthNotifications
{
    public const string ScoreKind = "score";
    public const string AlertKind = "alert";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Channel(string schema) => $"{schema}.health_changes";

    public static async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, IReadOnlyCollection<HealthChange> changes, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("select pg_notify($1, p) from unnest($2::text[]) with ordinality as u(p, i) order by i", connection, transaction);
        command.Parameters.AddWithValue(Channel(schema));
        command.Parameters.AddWithValue(changes.Select(c => JsonSerializer.Serialize(c, Json)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Reads a payload; null when it is not one of ours (anyone may NOTIFY on a channel).</summary>
    public static HealthChange? Parse(string payload)
    {
        try
        {
            var change = JsonSerializer.Deserialize<HealthChange>(payload, Json);
            return change is { TenantId: not null, AccountId: not null, Kind: ScoreKind or AlertKind } ? change : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

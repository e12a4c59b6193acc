using System.Text.Json;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Models.Features;
using Npgsql;

namespace HealthScoring.Api.Portfolio;

/// <summary>
/// The portfolio's reads, shared by REST and gRPC: scored accounts (latest verdict in <c>account_health</c>) with
/// their name, owner and segment from the account's traits, MRR and plan from the live subscriptions, and the
/// trend from <c>account_health_history</c>. Every query is scoped to one tenant; another tenant's account is
/// simply not found.
/// </summary>
public sealed class PortfolioQueries(NpgsqlDataSource dataSource, EventStoreOptions storeOptions)
{
    /// <summary>How many scores a sparkline shows.</summary>
    public const int SparklineLength = 30;

    /// <summary>The columns of CTE <c>p</c> in <see cref="BaseQuery"/> without details (what <see cref="ReadRow"/> reads).</summary>
    private const int BaseColumns = 13;

    private static readonly JsonSerializerOptions DriverJson = new(JsonSerializerDefaults.Web);
    private readonly string _s = storeOptions.Schema;

    public async Task<AccountPage> ListAsync(string tenantId, AccountListRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Names sort without regard to case (the database's collation may well be C); ties break on the id.
        var (key, descending) = request.Sort switch
        {
            AccountSort.Risk => ("f.churn_probability", true),
            AccountSort.MrrAtRisk => ("f.mrr_at_risk", true),
            AccountSort.Score => ("f.health_score::float8", false),
            AccountSort.Mrr => ("f.mrr", true),
            AccountSort.Name => ("lower(f.name)", false),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Sort, "Unknown sort."),
        };
        var direction = descending ? "desc" : "asc";
        var after = request.After is null ? "true"
            : $"({key} {(descending ? "<" : ">")} $9 or ({key} = $9 and f.account_id > $10))";

        // Totals cover the whole filtered set; the page (one row more than asked, to know whether another follows)
        // hangs off them, so an empty page still brings its totals.
        await using var command = dataSource.CreateCommand($"""
            {BaseQuery(details: false)},
            f as (
                select * from p
                where ($3::text is null or p.band = $3)
                  and ($4::text is null or lower(p.segment) = lower($4))
                  and ($5::text is null or lower(p.owner) = lower($5))
                  and ($6::text is null or lower(p.plan) = lower($6))
                  and ($7::text is null or p.name ilike $7 or p.account_id ilike $7)
            ),
            t as (
                select count(*)::int as accounts, (count(*) filter (where band = '{HealthScoreProfile.AtRisk}'))::int as at_risk,
                       coalesce(sum(mrr_at_risk), 0) as mrr_at_risk, coalesce(sum(mrr * expansion_probability), 0) as pipeline
                from f
            )
            select t.accounts, t.at_risk, t.mrr_at_risk, t.pipeline, pg.*
            from t left join lateral (
                select f.*, {key} as sort_key from f where {after}
                order by sort_key {direction}, f.account_id
                limit $8
            ) pg on true
            order by pg.sort_key {direction}, pg.account_id
            """);
        AddBaseParameters(command, tenantId);
        var filter = request.Filter;
        command.Parameters.Add(Text(filter.Band));
        command.Parameters.Add(Text(filter.Segment));
        command.Parameters.Add(Text(filter.Owner));
        command.Parameters.Add(Text(filter.Plan));
        command.Parameters.Add(Text(filter.Query is null ? null : $"%{EscapeLike(filter.Query)}%"));
        command.Parameters.AddWithValue(request.PageSize + 1);
        if (request.After is { } token)
        {
            command.Parameters.Add(request.Sort == AccountSort.Name ? new NpgsqlParameter { Value = token.Text } : new NpgsqlParameter { Value = token.Number });
            command.Parameters.AddWithValue(token.AccountId);
        }

        var rows = new List<Row>();
        object? lastKey = null;
        PortfolioTotals? totals = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                totals ??= new PortfolioTotals(reader.GetInt32(0), reader.GetInt32(1), Math.Round(reader.GetDouble(2), 2), Math.Round(reader.GetDouble(3), 2));
                if (!await reader.IsDBNullAsync(4, cancellationToken))
                {
                    rows.Add(ReadRow(reader, 4, details: false));
                    if (rows.Count <= request.PageSize)
                    {
                        lastKey = await reader.GetFieldValueAsync<object>(4 + BaseColumns, cancellationToken);
                    }
                }
            }
        }

        string? next = null;
        if (rows.Count > request.PageSize)
        {
            rows.RemoveAt(rows.Count - 1);
            next = new PageToken(request.Sort, PageToken.HashOf(filter), lastKey as double?, lastKey as string, rows[^1].AccountId).Encode();
        }

        var trends = await TrendsAsync(tenantId, rows, cancellationToken);
        return new AccountPage([.. rows.Select(r => r.Summary(trends[r.AccountId]))], next, totals ?? new PortfolioTotals(0, 0, 0, 0));
    }

    /// <summary>One account's page, or null when the tenant has no verdict for it.</summary>
    public async Task<AccountDetail?> GetAsync(string tenantId, string accountId, CancellationToken cancellationToken)
    {
        if (!PortfolioRequests.CanExist(accountId))
        {
            return null;
        }

        await using var command = dataSource.CreateCommand($"{BaseQuery(details: true)} select * from p where p.account_id = $3");
        AddBaseParameters(command, tenantId);
        command.Parameters.AddWithValue(accountId);
        Row row;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            row = ReadRow(reader, 0, details: true);
        }

        var trends = await TrendsAsync(tenantId, [row], cancellationToken);
        return new AccountDetail(row.Summary(trends[row.AccountId]), Drivers(row.Drivers!), Drivers(row.ExpansionDrivers!), row.Components!);
    }

    /// <summary>The account's scores in [from, to], oldest first; null when the tenant has never scored the account.</summary>
    public async Task<IReadOnlyList<HistoryPoint>?> HistoryAsync(string tenantId, string accountId, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        if (!PortfolioRequests.CanExist(accountId))
        {
            return null;
        }

        await using var command = dataSource.CreateCommand($"""
            select true, null::date, null::int, null::text, null::float8, null::float8
            from {_s}.account_health where tenant_id = $1 and account_id = $2
            union all
            select false, as_of, health_score, band, churn_probability, expansion_probability
            from {_s}.account_health_history
            where tenant_id = $1 and account_id = $2 and ($3::date is null or as_of >= $3) and ($4::date is null or as_of <= $4)
            order by 1 desc, 2
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        command.Parameters.Add(new NpgsqlParameter { Value = from.HasValue ? from.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = to.HasValue ? to.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || !reader.GetBoolean(0))
        {
            return null;
        }

        var points = new List<HistoryPoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new HistoryPoint(await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken), reader.GetInt32(2), reader.GetString(3), reader.GetDouble(4),
                await reader.IsDBNullAsync(5, cancellationToken) ? null : reader.GetDouble(5)));
        }

        return points;
    }

    /// <summary>
    /// The scored accounts of tenant $1 as CTE <c>p</c>. MRR and plan follow <see cref="AccountHistory.BillingAt"/>:
    /// the latest state of each subscription, summed over the live ones, the plan of the largest. The owner trait may
    /// be a name or an object with one; the segment is the <c>segment</c> trait, else the company size from
    /// <c>employees</c> (smb &lt; 100 ≤ mid-market &lt; 1000 ≤ enterprise).
    /// </summary>
    private string BaseQuery(bool details) => $"""
        with latest as (
            select distinct on (account_id, subscription_id) account_id, status, mrr_minor, plan
            from {_s}.account_subscriptions where tenant_id = $1
            order by account_id, subscription_id, at desc, event_id desc
        ),
        billing as (
            select account_id, sum(mrr_minor) as mrr_minor, (array_agg(plan order by mrr_minor desc))[1] as plan
            from latest where status = any($2) group by account_id
        ),
        p as (
            select h.account_id,
                   coalesce(nullif(a.traits->>'name', ''), h.account_id) as name,
                   h.health_score, h.band, h.churn_probability, h.expansion_probability,
                   coalesce(b.mrr_minor, 0)::float8 / 100 as mrr,
                   coalesce(b.mrr_minor, 0)::float8 / 100 * h.churn_probability as mrr_at_risk,
                   case jsonb_typeof(a.traits->'owner')
                       when 'string' then a.traits->>'owner'
                       when 'object' then coalesce(a.traits->'owner'->>'name', a.traits->'owner'->>'email')
                   end as owner,
                   coalesce(b.plan, a.traits->>'plan') as plan,
                   case
                       when jsonb_typeof(a.traits->'segment') = 'string' then a.traits->>'segment'
                       when jsonb_typeof(a.traits->'employees') = 'number' then
                           case when (a.traits->>'employees')::numeric < 100 then 'smb' when (a.traits->>'employees')::numeric < 1000 then 'mid-market' else 'enterprise' end
                   end as segment,
                   h.as_of, h.scored_at{(details ? ", h.drivers::text as drivers, h.expansion_drivers::text as expansion_drivers, h.components::text as components" : "")}
            from {_s}.account_health h
            left join {_s}.accounts a on a.tenant_id = h.tenant_id and a.account_id = h.account_id
            left join billing b on b.account_id = h.account_id
            where h.tenant_id = $1
        )
        """;

    private static void AddBaseParameters(NpgsqlCommand command, string tenantId)
    {
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(SubscriptionState.LiveStatuses.ToArray());
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    private static string EscapeLike(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);

    private static Row ReadRow(NpgsqlDataReader r, int o, bool details)
    {
        string? Nullable(int i) => r.IsDBNull(o + i) ? null : r.GetString(o + i);
        return new Row(
            r.GetString(o), r.GetString(o + 1), r.GetInt32(o + 2), r.GetString(o + 3), r.GetDouble(o + 4), r.IsDBNull(o + 5) ? null : r.GetDouble(o + 5),
            r.GetDouble(o + 6), r.GetDouble(o + 7), Nullable(8), Nullable(9), Nullable(10), r.GetFieldValue<DateOnly>(o + 11), r.GetFieldValue<DateTimeOffset>(o + 12),
            details ? JsonSerializer.Deserialize<List<ScoreDriver>>(r.GetString(o + 13), DriverJson) : null,
            details ? JsonSerializer.Deserialize<List<ScoreDriver>>(r.GetString(o + 14), DriverJson) : null,
            details ? JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(o + 15), DriverJson) : null);
    }

    private static List<Driver> Drivers(IEnumerable<ScoreDriver> drivers) =>
        [.. drivers.Select(d => new Driver(d.Feature, d.Value, d.Contribution, d.Contribution > 0 ? "raises-risk" : "lowers-risk", d.Text))];

    /// <summary>The last <see cref="SparklineLength"/> scores of each account and the change over the 7 days before its latest.</summary>
    private async Task<Dictionary<string, Trend>> TrendsAsync(string tenantId, IReadOnlyList<Row> rows, CancellationToken cancellationToken)
    {
        var history = rows.ToDictionary(r => r.AccountId, _ => new List<(DateOnly AsOf, int Score)>(), StringComparer.Ordinal);
        if (rows.Count > 0)
        {
            await using var command = dataSource.CreateCommand($"""
                select account_id, as_of, health_score from (
                    select account_id, as_of, health_score, row_number() over (partition by account_id order by as_of desc) as n
                    from {_s}.account_health_history where tenant_id = $1 and account_id = any($2)
                ) h where n <= $3 order by account_id, as_of
                """);
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(rows.Select(r => r.AccountId).ToArray());
            command.Parameters.AddWithValue(SparklineLength);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                history[reader.GetString(0)].Add((await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken), reader.GetInt32(2)));
            }
        }

        return rows.ToDictionary(r => r.AccountId, r => TrendOf(r.HealthScore, r.AsOf, history[r.AccountId]), StringComparer.Ordinal);
    }

    /// <summary>
    /// At most one score per day, so 30 points span at least 29 days and always hold the latest point a week or
    /// more before <paramref name="asOf"/> if there is one.
    /// </summary>
    internal static Trend TrendOf(int score, DateOnly asOf, IReadOnlyList<(DateOnly AsOf, int Score)> points)
    {
        var weekAgo = points.LastOrDefault(p => p.AsOf <= asOf.AddDays(-7));
        int? delta = weekAgo == default ? null : score - weekAgo.Score;
        var direction = delta > 0 ? "up" : delta < 0 ? "down" : "flat";
        var sparkline = points.Count > 0 ? points.Select(p => p.Score).ToList() : [score];
        return new Trend(delta, direction, sparkline);
    }

    private sealed record Row(
        string AccountId, string Name, int HealthScore, string Band, double ChurnProbability, double? ExpansionProbability,
        double Mrr, double MrrAtRisk, string? Owner, string? Plan, string? Segment, DateOnly AsOf, DateTimeOffset ScoredAt,
        List<ScoreDriver>? Drivers, List<ScoreDriver>? ExpansionDrivers, Dictionary<string, double>? Components)
    {
        public AccountSummary Summary(Trend trend) => new(AccountId, Name, HealthScore, Band, ChurnProbability, ExpansionProbability,
            Math.Round(Mrr, 2), Math.Round(MrrAtRisk, 2), Owner, Plan, Segment, AsOf, ScoredAt, trend);
    }
}

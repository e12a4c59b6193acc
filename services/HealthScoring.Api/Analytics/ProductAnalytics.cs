using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;
using HealthScoring.Models.Features;
using Npgsql;

namespace HealthScoring.Api.Analytics;

/// <summary>One signup-month cohort: its size and the share of it active in each month since (0 = the signup month).</summary>
public sealed record Cohort(DateOnly Month, int Accounts, IReadOnlyList<double> Retention);

public sealed record CohortReport(DateOnly AsOf, IReadOnlyList<Cohort> Cohorts);

/// <summary>A funnel step: accounts that reached it and every step before it.</summary>
public sealed record FunnelStep(string Step, string Kind, int Accounts, double ShareOfFirst, double ShareOfPrevious);

public sealed record FunnelReport(DateOnly AsOf, IReadOnlyList<FunnelStep> Steps);

/// <summary>A product feature's reach among the accounts active in the window.</summary>
public sealed record FeatureAdoption(string Feature, int Accounts, double Share);

/// <summary>Adoption score = features used ÷ features there are, per active account; <c>Distribution</c> counts accounts in fifths (0–20 %, …, 80–100 %).</summary>
public sealed record AdoptionReport(DateOnly AsOf, int WindowDays, int ActiveAccounts, IReadOnlyList<FeatureAdoption> Features, double AverageAdoptionScore, IReadOnlyList<int> Distribution);

/// <summary>Stickiness at a date: average daily active users over the 7 days to it ÷ monthly active users over the 30 days to it.</summary>
public sealed record StickinessPoint(DateOnly Day, double AverageDau, int Mau, double Ratio);

public sealed record StickinessReport(DateOnly AsOf, IReadOnlyList<StickinessPoint> Points);

/// <summary>An RFM-style segment: recency of activity, frequency (active days in 28), monetary (MRR), each scored 1–3 by tercile.</summary>
public sealed record EngagementSegment(string Segment, string Description, int Accounts, double Mrr, IReadOnlyList<string> Examples);

public sealed record SegmentReport(DateOnly AsOf, IReadOnlyList<EngagementSegment> Segments);

/// <summary>A sudden usage drop: last week's events against the four weeks before.</summary>
public sealed record UsageAnomaly(string AccountId, string? Name, long LastWeek, double BaselineWeekly, double Change, double ZScore);

public sealed record AnomalyReport(DateOnly AsOf, IReadOnlyList<UsageAnomaly> Anomalies);

/// <summary>
/// The product-usage analytics of the dashboard's analytics page, computed per tenant from the daily aggregates,
/// the subscription states and the event taxonomy, each as of a date (nothing after it is read).
/// </summary>
public sealed class ProductAnalytics(NpgsqlDataSource dataSource, EventStoreOptions storeOptions, EventTaxonomy taxonomy)
{
    public const int AdoptionWindowDays = 28;
    public const int StickinessWeeks = 12;

    /// <summary>Flag a drop when last week is at most this share of the baseline…</summary>
    public const double AnomalyRatio = 0.5;

    /// <summary>…at least this many standard deviations under it…</summary>
    public const double AnomalyZ = 2.0;

    /// <summary>…and the baseline averaged at least this many events a week (quiet accounts are noise).</summary>
    public const double AnomalyMinimumWeekly = 20;

    private readonly string _s = storeOptions.Schema;

    public async Task<CohortReport> CohortsAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        // Signup = the first day with activity or a subscription (as AccountHistory.FirstSeen), by month. Only
        // cohorts that signed up once usage was recorded (days with events: billing history often reaches further
        // back): older ones have no usage for their first months, which would read as churn.
        await using var command = Command(tenantId, asOf, $"""
            with start as (select date_trunc('month', min(day))::date as month from {_s}.account_daily where tenant_id = $1 and day <= $2 and events > 0),
            first as (
                select account_id, date_trunc('month', min(day))::date as cohort from (
                    select account_id, day from {_s}.account_daily where tenant_id = $1 and day <= $2 and events > 0
                    union all
                    select account_id, (at at time zone 'UTC')::date from {_s}.account_subscriptions where tenant_id = $1 and at < ($2 + 1)::timestamp at time zone 'UTC'
                ) x group by account_id),
            active as (
                select distinct account_id, date_trunc('month', day)::date as month from {_s}.account_daily where tenant_id = $1 and day <= $2 and events > 0)
            select f.cohort, count(distinct f.account_id)::int,
                   coalesce(array_agg(((extract(year from a.month) - extract(year from f.cohort)) * 12 + extract(month from a.month) - extract(month from f.cohort))::int)
                            filter (where a.month is not null), array[]::int[])
            from first f left join active a on a.account_id = f.account_id and a.month >= f.cohort
            where f.cohort >= (select month from start)
            group by f.cohort order by f.cohort
            """);
        var cohorts = new List<Cohort>();
        var lastMonth = new DateOnly(asOf.Year, asOf.Month, 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var month = await reader.GetFieldValueAsync<DateOnly>(0, cancellationToken);
            var size = reader.GetInt32(1);
            var offsets = await reader.GetFieldValueAsync<int[]>(2, cancellationToken);
            var span = ((lastMonth.Year - month.Year) * 12) + lastMonth.Month - month.Month + 1;
            var active = new int[span];
            foreach (var offset in offsets.Where(o => o < span))
            {
                active[offset]++;
            }

            cohorts.Add(new Cohort(month, size, [.. active.Select(a => Math.Round((double)a / size, 4))]));
        }

        return new CohortReport(asOf, cohorts);
    }

    public async Task<FunnelReport> FunnelAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        var declared = await taxonomy.GetAsync(tenantId, cancellationToken);
        string[] activation = [.. declared.Values.Where(e => e.Category == EventCategory.Activation).Select(e => e.Event)];
        var done = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await using (var command = Command(tenantId, asOf, $"select distinct event_name, account_id from {_s}.account_daily_events where tenant_id = $1 and day <= $2 and event_name = any($3)"))
        {
            command.Parameters.AddWithValue(activation);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                Set(done, reader.GetString(0)).Add(reader.GetString(1));
            }
        }

        var active = await AccountsAsync(tenantId, asOf, $"select distinct account_id from {_s}.account_daily where tenant_id = $1 and day <= $2 and events > 0", cancellationToken);
        var paying = (await LatestSubscriptionsAsync(tenantId, asOf, everLive: true, cancellationToken)).Keys.ToHashSet(StringComparer.Ordinal);

        // Steps in the order most accounts reach them; each counts only accounts that also reached every step before.
        var steps = new List<(string Name, string Kind, HashSet<string> Accounts)> { ("Active", "usage", active) };
        steps.AddRange(activation.OrderByDescending(e => done.GetValueOrDefault(e)?.Count ?? 0).ThenBy(e => e, StringComparer.Ordinal)
            .Select(e => (e, "activation", done.GetValueOrDefault(e) ?? [])));
        steps.Add(("Paying customer", "billing", paying));
        var result = new List<FunnelStep>();
        var reached = active;
        foreach (var (name, kind, accounts) in steps)
        {
            reached = [.. reached.Where(accounts.Contains)];
            var first = result.Count == 0 ? reached.Count : result[0].Accounts;
            var previous = result.Count == 0 ? reached.Count : result[^1].Accounts;
            result.Add(new FunnelStep(name, kind, reached.Count, Share(reached.Count, first), Share(reached.Count, previous)));
        }

        return new FunnelReport(asOf, result);
    }

    public async Task<AdoptionReport> AdoptionAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        var from = asOf.AddDays(1 - AdoptionWindowDays);
        var declared = await taxonomy.GetAsync(tenantId, cancellationToken);
        var features = declared.Values.Select(e => e.Feature).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var users = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await using (var command = Command(tenantId, asOf, $"select distinct feature, account_id from {_s}.account_daily_features where tenant_id = $1 and day <= $2 and day >= $3 and uses > 0"))
        {
            command.Parameters.AddWithValue(from);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var feature = reader.GetString(0);
                features.Add(feature);
                Set(users, feature).Add(reader.GetString(1));
            }
        }

        var active = await AccountsAsync(tenantId, asOf, $"select distinct account_id from {_s}.account_daily where tenant_id = $1 and day <= $2 and day >= $2 - {AdoptionWindowDays - 1} and events > 0", cancellationToken);
        var rows = features.Select(f => new FeatureAdoption(f, users.GetValueOrDefault(f)?.Count(active.Contains) ?? 0, 0)).ToList();
        rows = [.. rows.Select(r => r with { Share = Share(r.Accounts, active.Count) }).OrderByDescending(r => r.Accounts).ThenBy(r => r.Feature, StringComparer.Ordinal)];
        var distribution = new int[5];
        double total = 0;
        foreach (var account in active)
        {
            var score = features.Count == 0 ? 0 : (double)features.Count(f => users.GetValueOrDefault(f)?.Contains(account) == true) / features.Count;
            total += score;
            distribution[Math.Min(4, (int)(score * 5))]++;
        }

        return new AdoptionReport(asOf, AdoptionWindowDays, active.Count, rows, active.Count == 0 ? 0 : Math.Round(total / active.Count, 4), distribution);
    }

    public async Task<StickinessReport> StickinessAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        await using var command = Command(tenantId, asOf, $"""
            select d::date,
                (select count(*) from {_s}.account_daily_users u where u.tenant_id = $1 and u.day between d::date - 6 and d::date)::float8 / 7,
                (select count(*) from (select distinct account_id, user_key from {_s}.account_daily_users u where u.tenant_id = $1 and u.day between d::date - 29 and d::date) m)::int
            from generate_series($2::date - {7 * (StickinessWeeks - 1)}, $2::date, interval '7 days') as d
            order by 1
            """);
        var points = new List<StickinessPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var dau = reader.GetDouble(1);
            var mau = reader.GetInt32(2);
            points.Add(new StickinessPoint(await reader.GetFieldValueAsync<DateOnly>(0, cancellationToken), Math.Round(dau, 2), mau, mau == 0 ? 0 : Math.Round(dau / mau, 4)));
        }

        return new StickinessReport(asOf, points);
    }

    public async Task<SegmentReport> SegmentsAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        var mrr = (await LatestSubscriptionsAsync(tenantId, asOf, everLive: false, cancellationToken)).ToDictionary(p => p.Key, p => p.Value / 100.0, StringComparer.Ordinal);
        var activity = new Dictionary<string, (int Recency, int Frequency)>(StringComparer.Ordinal);
        await using (var command = Command(tenantId, asOf, $"""
            select account_id, ($2 - max(day))::int, count(*) filter (where day > $2 - 28)::int
            from {_s}.account_daily where tenant_id = $1 and day <= $2 and day > $2 - 90 and events > 0 group by account_id
            """))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                activity[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2));
            }
        }

        // Accounts active in the last 90 days or paying now; an account paying but silent for 90 days has recency 90.
        var accounts = activity.Keys.Union(mrr.Keys).Order(StringComparer.Ordinal).ToList();
        var r = Terciles(accounts, a => -(activity.TryGetValue(a, out var x) ? x.Recency : 90));
        var f = Terciles(accounts, a => activity.TryGetValue(a, out var x) ? x.Frequency : 0);
        var m = Terciles(accounts, a => mrr.GetValueOrDefault(a));
        var segments = accounts.GroupBy(a => SegmentOf(r[a], f[a], m[a]), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        return new SegmentReport(asOf, [.. SegmentDescriptions.Select(d =>
        {
            var members = segments.GetValueOrDefault(d.Key) ?? [];
            return new EngagementSegment(d.Key, d.Value, members.Count, Math.Round(members.Sum(a => mrr.GetValueOrDefault(a)), 2),
                [.. members.OrderByDescending(a => mrr.GetValueOrDefault(a)).ThenBy(a => a, StringComparer.Ordinal).Take(5)]);
        })]);
    }

    public async Task<AnomalyReport> AnomaliesAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        // Week 0 = the 7 days to asOf; weeks 1–4 the baseline.
        var weeks = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var command = Command(tenantId, asOf, $"""
            select d.account_id, (($2 - d.day) / 7)::int, sum(d.events)::bigint, min(a.traits->>'name')
            from {_s}.account_daily d left join {_s}.accounts a on a.tenant_id = d.tenant_id and a.account_id = d.account_id
            where d.tenant_id = $1 and d.day <= $2 and d.day > $2 - 35 group by 1, 2
            """))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var account = reader.GetString(0);
                if (!weeks.TryGetValue(account, out var w))
                {
                    w = new long[5];
                    weeks[account] = w;
                }

                w[reader.GetInt32(1)] = reader.GetInt64(2);
                if (!await reader.IsDBNullAsync(3, cancellationToken))
                {
                    names[account] = reader.GetString(3);
                }
            }
        }

        var anomalies = new List<UsageAnomaly>();
        foreach (var (account, w) in weeks)
        {
            if (Anomaly(w[0], w.AsSpan(1)) is { } found)
            {
                anomalies.Add(new UsageAnomaly(account, names.GetValueOrDefault(account), w[0], found.Mean, found.Change, found.Z));
            }
        }

        return new AnomalyReport(asOf, [.. anomalies.OrderBy(a => a.Change).ThenBy(a => a.AccountId, StringComparer.Ordinal)]);
    }

    /// <summary>Whether <paramref name="last"/> is a sudden drop against <paramref name="baseline"/> weeks; its figures when it is.</summary>
    internal static (double Mean, double Change, double Z)? Anomaly(long last, ReadOnlySpan<long> baseline)
    {
        double mean = 0;
        foreach (var v in baseline)
        {
            mean += v;
        }

        mean /= baseline.Length;
        double variance = 0;
        foreach (var v in baseline)
        {
            variance += (v - mean) * (v - mean);
        }

        var sd = Math.Sqrt(variance / baseline.Length);
        // A perfectly steady baseline has no spread: any drop past the ratio is then as sudden as it gets.
        var z = sd == 0 ? double.PositiveInfinity : (mean - last) / sd;
        return mean >= AnomalyMinimumWeekly && last <= AnomalyRatio * mean && z >= AnomalyZ
            ? (Math.Round(mean, 2), Math.Round((last / mean) - 1, 4), double.IsInfinity(z) ? 99 : Math.Round(z, 2))
            : null;
    }

    internal static readonly IReadOnlyDictionary<string, string> SegmentDescriptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Champions"] = "Active lately and often (top third on both).",
        ["Loyal"] = "Regular use, not in the top third on both.",
        ["Big spenders slipping"] = "Top-third MRR, but rarely or not recently active.",
        ["Hibernating"] = "Neither recent nor frequent.",
        ["Needs attention"] = "Everyone else: some activity, room to grow.",
    };

    internal static string SegmentOf(int recency, int frequency, int monetary) =>
        (recency, frequency, monetary) switch
        {
            (3, 3, _) => "Champions",
            (_, _, 3) when recency == 1 || frequency == 1 => "Big spenders slipping",
            ( >= 2, >= 2, _) => "Loyal",
            (1, 1, _) => "Hibernating",
            _ => "Needs attention",
        };

    /// <summary>1–3 by rank of <paramref name="value"/> (ties share the tercile of their middle rank).</summary>
    private static Dictionary<string, int> Terciles(List<string> accounts, Func<string, double> value)
    {
        var sorted = accounts.Select(value).Order().ToArray();
        return accounts.ToDictionary(a => a, a =>
        {
            // Mid-rank of the ties: many accounts share a value (active today, no MRR) and must share its tercile.
            var v = value(a);
            int first = Array.BinarySearch(sorted, v), last = first;
            while (first > 0 && sorted[first - 1] == v)
            {
                first--;
            }

            while (last < sorted.Length - 1 && sorted[last + 1] == v)
            {
                last++;
            }

            return 1 + Math.Min(2, (int)(3.0 * (first + last) / 2 / Math.Max(1, sorted.Length)));
        }, StringComparer.Ordinal);
    }

    /// <summary>
    /// Per account, the MRR (minor units) of its live subscriptions at the end of <paramref name="asOf"/>; with
    /// <paramref name="everLive"/> every account that was ever live up to then (value: 0).
    /// </summary>
    private async Task<Dictionary<string, long>> LatestSubscriptionsAsync(string tenantId, DateOnly asOf, bool everLive, CancellationToken cancellationToken)
    {
        var sql = everLive
            ? $"select account_id, status, 0::bigint, seats from {_s}.account_subscriptions where tenant_id = $1 and at < ($2 + 1)::timestamp at time zone 'UTC'"
            : $"""
              select distinct on (account_id, subscription_id) account_id, status, mrr_minor, seats
              from {_s}.account_subscriptions where tenant_id = $1 and at < ($2 + 1)::timestamp at time zone 'UTC'
              order by account_id, subscription_id, at desc, event_id desc
              """;
        await using var command = Command(tenantId, asOf, sql);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Liveness is the feature code's rule, not a second copy of it.
            if (new SubscriptionState(default, "", reader.GetString(1), 0, 0, null).IsLive)
            {
                var account = reader.GetString(0);
                result[account] = result.GetValueOrDefault(account) + reader.GetInt64(2);
            }
        }

        return result;
    }

    private async Task<HashSet<string>> AccountsAsync(string tenantId, DateOnly asOf, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(tenantId, asOf, sql);
        var accounts = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add(reader.GetString(0));
        }

        return accounts;
    }

    private NpgsqlCommand Command(string tenantId, DateOnly asOf, string sql)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(asOf);
        return command;
    }

    private static double Share(int part, int whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4);

    private static HashSet<string> Set(Dictionary<string, HashSet<string>> sets, string key)
    {
        if (!sets.TryGetValue(key, out var set))
        {
            set = new HashSet<string>(StringComparer.Ordinal);
            sets[key] = set;
        }

        return set;
    }
}

using System.Text.Json;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthScoring.Api.Tests.Portfolio;

/// <summary>One seeded account: its traits, its live MRR, and its verdict at each of <see cref="PortfolioSeed.Dates"/>.</summary>
public sealed record SeedAccount(string Id, string? Name, string? Owner, string? Plan, string? Segment, long MrrMinor, double? Expansion, (int Score, double Churn)[] Verdicts)
{
    public int Score => Verdicts[^1].Score;

    public double Churn => Verdicts[^1].Churn;

    public double Mrr => MrrMinor / 100.0;

    public string Band => new HealthScoreProfile().Band(Score);
}

/// <summary>The host (in memory) over a fresh schema with <see cref="PortfolioSeed"/>'s portfolios.</summary>
public sealed class PortfolioFixture : ApiFixture
{
    public string GlobexApiKey { get; private set; } = "";

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        GlobexApiKey = await PortfolioSeed.SeedAsync(Factory.Services, Schema, CancellationToken.None);
    }
}

/// <summary>The real host on sockets (REST and gRPC) over a fresh schema with <see cref="PortfolioSeed"/>'s portfolios.</summary>
public sealed class LivePortfolioFixture : LiveApiFixture
{
    public string GlobexApiKey { get; private set; } = "";

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        GlobexApiKey = await PortfolioSeed.SeedAsync(Services, Schema, CancellationToken.None);
    }
}

/// <summary>
/// A scored portfolio for <c>acme</c> (three scoring dates a week apart, written through the scorer's own save)
/// and a small one for <c>globex</c> that reuses one of acme's account ids. Traits and subscriptions are written as
/// the ingestion and the projection leave them.
/// </summary>
public static class PortfolioSeed
{
    public static readonly DateOnly[] Dates = [new(2026, 10, 17), new(2026, 10, 24), new(2026, 10, 31)];

    public static IReadOnlyList<SeedAccount> Acme { get; } =
    [
        new("a-01", "Acme Rockets", "Ada Lovelace", "pro", null, 50_000, 0.05, [(60, 0.40), (45, 0.60), (25, 0.80)]),
        new("a-02", "Beta Corp", "{\"name\":\"Bob Builder\",\"email\":\"bob@example.com\"}", "enterprise", null, 200_000, null, [(36, 0.70), (36, 0.70), (35, 0.70)]),
        new("a-03", "Gamma", "Ada Lovelace", "starter", null, 10_000, 0.10, [(40, 0.60), (38, 0.65), (35, 0.70)]),
        new("a-04", "Delta", "Bob Builder", "pro", "strategic", 80_000, 0.30, [(50, 0.45), (52, 0.42), (55, 0.40)]),
        new("a-05", "epsilon", null, null, null, 0, 0.50, [(60, 0.35), (60, 0.35), (60, 0.35)]),
        new("a-06", "Zeta_100%", "Cy Young", "pro", null, 120_000, 0.60, [(80, 0.15), (82, 0.12), (85, 0.10)]),
        new("a-07", null, null, "starter", null, 30_000, null, [(88, 0.06), (89, 0.05), (90, 0.05)]),
    ];

    public static IReadOnlyList<SeedAccount> Globex { get; } =
    [
        new("g-01", "Globex One", "Hank Scorpio", "pro", null, 99_000, 0.20, [(70, 0.20), (70, 0.20), (71, 0.19)]),
        new("a-01", "Globex's own a-01", "Hank Scorpio", "pro", null, 10_000, null, [(99, 0.01), (99, 0.01), (99, 0.01)]),
    ];

    /// <summary>Employees per account (the segment without a trait): a-01, a-03 smb; a-02 enterprise; a-06 mid-market.</summary>
    private static readonly Dictionary<string, int> Employees = new() { ["a-01"] = 40, ["a-02"] = 5_000, ["a-03"] = 12, ["a-06"] = 300 };

    /// <summary>Seeds both tenants (globex is created if need be); returns a globex API key.</summary>
    public static async Task<string> SeedAsync(IServiceProvider services, string schema, CancellationToken ct)
    {
        var keys = services.GetRequiredService<ApiKeyStore>();
        await keys.EnsureTenantAsync("globex", ct);
        var globexKey = (await keys.CreateKeyAsync("globex", KeyKind.Api, "tests", ct)).Secret;
        await SeedAsync(services, schema, "acme", Acme, ct);
        await SeedAsync(services, schema, "globex", Globex, ct);
        return globexKey;
    }

    private static async Task SeedAsync(IServiceProvider services, string schema, string tenant, IReadOnlyList<SeedAccount> accounts, CancellationToken ct)
    {
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        foreach (var a in accounts)
        {
            var traits = new Dictionary<string, object>();
            if (a.Name is not null)
            {
                traits["name"] = a.Name;
            }

            if (a.Owner is not null)
            {
                traits["owner"] = a.Owner.StartsWith('{') ? JsonDocument.Parse(a.Owner).RootElement : a.Owner;
            }

            if (a.Segment is not null)
            {
                traits["segment"] = a.Segment;
            }

            if (Employees.TryGetValue(a.Id, out var employees) && tenant == "acme")
            {
                traits["employees"] = employees;
            }

            await using (var insert = dataSource.CreateCommand($"insert into {schema}.accounts (tenant_id, account_id, traits) values ($1, $2, $3::jsonb)"))
            {
                insert.Parameters.AddWithValue(tenant);
                insert.Parameters.AddWithValue(a.Id);
                insert.Parameters.AddWithValue(JsonSerializer.Serialize(traits));
                await insert.ExecuteNonQueryAsync(ct);
            }

            if (a.MrrMinor > 0)
            {
                await SubscriptionAsync(dataSource, schema, tenant, a.Id, "sub-main", "active", a.MrrMinor, a.Plan, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), ct);
            }

            // A subscription that ended: its MRR no longer counts.
            await SubscriptionAsync(dataSource, schema, tenant, a.Id, "sub-old", "active", 777_00, "legacy", new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero), ct);
            await SubscriptionAsync(dataSource, schema, tenant, a.Id, "sub-old", "canceled", 0, "legacy", new DateTimeOffset(2025, 12, 1, 0, 0, 0, TimeSpan.Zero), ct);
        }

        var scorer = services.GetRequiredService<HealthScorer>();
        var profile = new HealthScoreProfile();
        for (var d = 0; d < Dates.Length; d++)
        {
            var scores = accounts.Select(a => new AccountScore(
                a.Id, a.Verdicts[d].Score, profile.Band(a.Verdicts[d].Score), a.Verdicts[d].Churn, a.Expansion, d > 0 ? a.Verdicts[d - 1].Score : null,
                [new ScoreDriver("days_since_last_active", 21, 0.8, "No activity for 21 days"), new ScoreDriver("seat_utilization", 0.9, -0.3, "90 % of seats in use")],
                a.Expansion is null ? [] : [new ScoreDriver("seat_limit_hits_28d", 3, 0.5, "Hit the seat limit 3 times")],
                new Dictionary<string, double> { ["recency"] = 0.2, ["billing"] = 1 })).ToList();
            await scorer.SaveLatestAsync(tenant, Dates[d], scores, ct);
        }
    }

    private static async Task SubscriptionAsync(NpgsqlDataSource dataSource, string schema, string tenant, string account, string subscription, string status, long mrrMinor, string? plan, DateTimeOffset at, CancellationToken ct)
    {
        await using var insert = dataSource.CreateCommand(
            $"insert into {schema}.account_subscriptions (tenant_id, account_id, event_id, at, subscription_id, status, mrr_minor, seats, plan) values ($1, $2, $3, $4, $5, $6, $7, 10, $8)");
        insert.Parameters.AddWithValue(tenant);
        insert.Parameters.AddWithValue(account);
        insert.Parameters.AddWithValue(Guid.NewGuid());
        insert.Parameters.AddWithValue(at);
        insert.Parameters.AddWithValue(subscription);
        insert.Parameters.AddWithValue(status);
        insert.Parameters.AddWithValue(mrrMinor);
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)plan ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await insert.ExecuteNonQueryAsync(ct);
    }
}

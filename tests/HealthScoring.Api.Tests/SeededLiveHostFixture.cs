using HealthScoring.Api.Billing;
using HealthScoring.Api.Tenancy;
using HealthScoring.Api.Tests.Fuzz;
using HealthScoring.Api.Tests.Portfolio;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests;

/// <summary>
/// The real host on sockets (REST and gRPC) with the portfolio seed (scored accounts for acme and globex), a globex
/// API key, a revoked key, a scratch tenant for state-changing calls, a Stripe webhook secret for acme and an acme
/// dashboard admin: what the fuzz run and the security review attack.
/// </summary>
public sealed class SeededLiveHostFixture : LiveApiFixture
{
    public const string WebhookSecret = "whsec_fuzz_0123456789abcdef";
    public const string ScratchTenant = "umbrella";
    public const string AdminEmail = "ada@acme.test";
    public const string AdminPassword = "correct horse battery staple";

    private FuzzTargets? _targets;

    public string GlobexApiKey { get; private set; } = "";

    internal FuzzTargets Targets => _targets ?? throw new InvalidOperationException("Not initialized.");

    public Uri GrpcUrl => new($"http://127.0.0.1:{GrpcPort}/");

    /// <summary>The scrape token <c>/metrics</c> is configured with, as in production (without one it answers 404).</summary>
    public const string MetricsScrapeToken = "scrape-token-fuzz-0123456789";

    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Metrics:ScrapeToken"] = MetricsScrapeToken;
    }

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var ct = CancellationToken.None;
        var globexKey = GlobexApiKey = await PortfolioSeed.SeedAsync(Services, Schema, ct);
        var keys = Services.GetRequiredService<ApiKeyStore>();
        await keys.EnsureTenantAsync(ScratchTenant, ct);
        var scratchKey = (await keys.CreateKeyAsync(ScratchTenant, KeyKind.Api, "fuzz scratch", ct)).Secret;
        var (revoked, revokedSecret) = await keys.CreateKeyAsync("acme", KeyKind.Write, "revoked", ct);
        await keys.RevokeAsync(revoked.KeyId, ct);
        await Services.GetRequiredService<StripeSettingsStore>().SetAsync("acme", WebhookSecret, null, ct);
        await Services.GetRequiredService<DashboardUserStore>().CreateAsync("acme", AdminEmail, DashboardRole.Admin, AdminPassword, ct);
        _targets = new FuzzTargets(AcmeWriteKey, AcmeApiKey, revokedSecret, globexKey, scratchKey, "acme", WebhookSecret, [.. PortfolioSeed.Acme.Select(a => a.Id)]);
    }

    /// <summary>
    /// Row counts and an MD5 over every row of the tables that hold ingested data (events, streams, users,
    /// accounts, Stripe customers, taxonomy, alert state, personal-data keys): equal before and after means unchanged.
    /// </summary>
    public async Task<string> StoredDataChecksumAsync(CancellationToken cancellationToken)
    {
        string[] tables = ["events", "streams", "users", "accounts", "stripe_customers", "event_taxonomy", "account_alert_state", "user_keys", "erasures"];
        var sums = new List<string>();
        foreach (var table in tables)
        {
            await using var command = DataSource.CreateCommand($"select count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') from {Schema}.{table} t");
            sums.Add($"{table}={await command.ExecuteScalarAsync(cancellationToken)}");
        }

        return string.Join("; ", sums);
    }
}

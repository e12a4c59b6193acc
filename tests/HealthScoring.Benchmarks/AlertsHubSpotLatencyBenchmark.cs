using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HealthScoring.Api;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using HealthScoring.EventStore;
using HealthScoring.Integrations.HubSpot;
using HealthScoring.Testing;
using HealthScoring.Testing.Fakes.HubSpot;
using HealthScoring.Testing.Scenarios;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// Scoring → HubSpot, end to end on the real pieces: the host (HostComposition, in this process) on a fresh schema
/// and RabbitMQ vhost, publishing the scores and alerts from the log and consuming them into the fake HubSpot
/// (Professional-tier limits: 190 requests per 10 s, 4 searches per second), which holds a company per account
/// (our account id in a company property) owned by one of 50 owners. One real scoring run
/// (<see cref="HealthScorer"/>, with the hand-made models of <see cref="InactivityScenario"/>) over N accounts:
/// 10 % idle for 9 days turn at-risk, 5 % active on each of the last 5 days give an expansion signal.
/// </summary>
/// <remarks>
/// Latency per account: from its <c>AccountHealthScored</c> event's <c>recorded_at</c> (PostgreSQL's transaction
/// start of the run's one bulk append, so the append itself counts) to the fake receiving (a) the batch update
/// holding its company, (b) its task. Then a single at-risk account of another tenant scored alone on the quiet
/// system: the acceptance's end-to-end case, not bounded by the queue ahead of it.
/// </remarks>
public sealed class AlertsHubSpotLatencyBenchmark : IBenchmark
{
    public const string BenchmarkName = "alerts.hubspot_latency";

    private const string Tenant = "bench-alerts";
    private const string SingleTenant = "bench-alerts-single";
    private const string AccountIdProperty = "healthscoring_account_id";
    private const int Owners = 50;

    // HubSpot Professional private app (shared/docs/integrations-api-notes.md); the fake's default, stated here.
    private const int ProfessionalBurstLimit = 190;

    private static readonly DateOnly AsOf = new(2026, 11, 21);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(30);

    public string Name => BenchmarkName;

    public string Description => "one scoring run of --accounts (default 5000) → RabbitMQ → fake HubSpot (Professional limits): score appended → company update / task received, p50/p99/max";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var log = context.Log;
        var count = context.Options.Accounts;
        var rate = context.Options.HubSpotRate ?? new HubSpotOptions().MaxRequestsPer10Seconds;
        var schema = BenchDatabase.NewSchemaName("alerts");
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {count:N0} accounts scored once; fake HubSpot burst limit {ProfessionalBurstLimit} per 10 s; client limit {rate} per 10 s ({(context.Options.HubSpotRate is null ? "HubSpotOptions' default" : "--hubspot-rate")})"));
        log.Info($"  database {BenchConnection.Describe(context.ConnectionString)}, schema {schema} (dropped at the end)");

        await using var dataSource = NpgsqlDataSource.Create(BenchDatabase.Builder(context.ConnectionString).ConnectionString);
        await using var vhost = await RabbitMqVhost.CreateAsync(cancellationToken);
        await using var hubSpot = await FakeHubSpot.StartNewAsync(new FakeHubSpotOptions { BurstLimit = ProfessionalBurstLimit }, cancellationToken);
        WebApplication? app = null;
        try
        {
            var accounts = Enumerable.Range(1, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"acc_{i:D5}")).ToArray();
            var single = "acc_alone";
            var companies = Seed(hubSpot, [.. accounts, single]);
            app = await StartHostAsync(context.ConnectionString, schema, vhost.Name, hubSpot, rate, count, cancellationToken);
            var services = app.Services;
            var keys = services.GetRequiredService<ApiKeyStore>();
            await keys.EnsureTenantAsync(Tenant, cancellationToken);
            await keys.EnsureTenantAsync(SingleTenant, cancellationToken);

            // Our properties, as the integration creates them on first use: set up before the clock starts.
            await services.GetRequiredService<IHubSpotClient>().EnsurePropertiesAsync(cancellationToken);

            var store = services.GetRequiredService<IEventStore>();
            var registry = services.GetRequiredService<ModelRegistry>();
            var (atRisk, expanding) = await PrepareAsync(store, registry, Tenant, accounts, cancellationToken);
            await PrepareAsync(store, registry, SingleTenant, [], cancellationToken);
            await InactivityScenario.RecordActivityAsync(store, SingleTenant, [single], AsOf.AddDays(-9), cancellationToken);
            await InactivityScenario.WaitForProjectionAsync(dataSource, schema, cancellationToken);
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"  {count:N0} companies in the fake ({Owners} owners); usage appended: {atRisk.Count:N0} accounts idle for 9 days, {expanding.Count:N0} active on each of the last 5 days, the rest yesterday; churn and expansion models promoted"));

            hubSpot.ResetCallLog();
            var run = await ScoreAndDrainAsync(services, dataSource, schema, hubSpot, Tenant, companies, count, log, cancellationToken);

            // The acceptance's case on a quiet system: wait out the client's rolling window first.
            await Task.Delay(TimeSpan.FromSeconds(11), cancellationToken);
            var alone = await ScoreAndDrainAsync(services, dataSource, schema, hubSpot, SingleTenant, companies, 1, log, cancellationToken);

            return Report(run, alone, rate, count, log);
        }
        finally
        {
            if (app is not null)
            {
                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
            }

            await BenchDatabase.DropSchemaAsync(dataSource, schema, log);
        }
    }

    /// <summary>Owners and a company per account carrying our account id, as a HubSpot admin would have set them up.</summary>
    private static Dictionary<string, string> Seed(FakeHubSpot hubSpot, IReadOnlyList<string> accounts)
    {
        hubSpot.DefineCompanyProperty(AccountIdProperty, hasUniqueValue: true);
        var owners = Enumerable.Range(1, Owners).Select(i => hubSpot.AddOwner(string.Create(CultureInfo.InvariantCulture, $"csm{i}@example.com")).Id).ToArray();
        var companies = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < accounts.Count; i++)
        {
            companies[hubSpot.AddCompany($"Company {accounts[i]}", owners[i % Owners], new Dictionary<string, string?> { [AccountIdProperty] = accounts[i] })] = accounts[i];
        }

        return companies;
    }

    private static async Task<WebApplication> StartHostAsync(string connectionString, string schema, string vhost, FakeHubSpot hubSpot, int rate, int count, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = connectionString,
            ["EventStore:Schema"] = schema,
            ["urls"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["Grpc:Url"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["RabbitMq:VirtualHost"] = vhost,
            ["HubSpot:BaseUrl"] = hubSpot.BaseAddress.ToString().TrimEnd('/'),
            ["HubSpot:AccessToken"] = hubSpot.AccessToken,
            ["HubSpot:MaxRequestsPer10Seconds"] = rate.ToString(CultureInfo.InvariantCulture),
            // The score is the model's part alone (no drift with the composite's percentile ranks), as in the tests.
            [$"HealthScore:Tenants:{Tenant}:ModelWeight"] = "1",
            [$"HealthScore:Tenants:{SingleTenant}:ModelWeight"] = "1",
            // The generated accounts carry no owner trait, so they would all share one owner's daily cap (20):
            // this measures delivery, so every alert the rules raise is let through.
            ["Alerts:Default:DailyCapPerOwner"] = count.ToString(CultureInfo.InvariantCulture),
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.AddHealthScoringHost();
        var app = builder.Build();
        app.MapHealthScoringHost();
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>Usage for each account (10 % idle, 5 % busy, the rest active yesterday) and the hand-made models.</summary>
    private static async Task<(List<string> AtRisk, List<string> Expanding)> PrepareAsync(IEventStore store, ModelRegistry registry, string tenant, IReadOnlyList<string> accounts, CancellationToken cancellationToken)
    {
        var atRisk = accounts.Where((_, i) => i % 10 == 3).ToList();
        var expanding = accounts.Where((_, i) => i % 20 == 7).ToList();
        var quiet = accounts.Except(atRisk).Except(expanding).ToList();
        await InactivityScenario.RecordActivityAsync(store, tenant, atRisk, AsOf.AddDays(-9), cancellationToken);
        await InactivityScenario.RecordActivityAsync(store, tenant, quiet, AsOf.AddDays(-1), cancellationToken);
        for (var d = 1; d <= 5; d++)
        {
            await InactivityScenario.RecordActivityAsync(store, tenant, expanding, AsOf.AddDays(-d), cancellationToken);
        }

        await InactivityScenario.PromoteInactivityModelAsync(registry, tenant, AsOf, cancellationToken);
        await InactivityScenario.PromoteBusyExpansionModelAsync(registry, tenant, AsOf, cancellationToken);
        return (atRisk, expanding);
    }

    /// <summary>What one scoring run delivered: per-account latencies and the fake's traffic meanwhile.</summary>
    private sealed record Delivery(
        int Accounts, int Tasks, TimeSpan Scoring, TimeSpan Drain, List<double> CompanyMs, List<double> TaskMs,
        int Requests, int RateLimited, int MaxInTenSeconds, IReadOnlyDictionary<string, int> ByEndpoint);

    private static async Task<Delivery> ScoreAndDrainAsync(
        IServiceProvider services, NpgsqlDataSource dataSource, string schema, FakeHubSpot hubSpot, string tenant,
        Dictionary<string, string> companies, int expectedAccounts, ProgressLog log, CancellationToken cancellationToken)
    {
        var callsBefore = hubSpot.Calls.Count;
        var tasksBefore = hubSpot.Tasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var sw = Stopwatch.StartNew();
        var run = await services.GetRequiredService<HealthScorer>().ScoreAsync(tenant, AsOf, null, cancellationToken);
        var scoring = sw.Elapsed;
        if (run.Appended != expectedAccounts)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{tenant}: scoring appended {run.Appended} scores, expected {expectedAccounts}."));
        }

        var (scoredAt, alerted) = await ReadLogAsync(dataSource, schema, tenant, cancellationToken);
        if (alerted.Count == 0 && expectedAccounts == 1)
        {
            throw new InvalidOperationException($"{tenant}: the account scored alone raised no alert; it must turn at-risk.");
        }

        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  {tenant}: scored {run.Scores.Count:N0} accounts in {scoring.TotalSeconds:F1}s (bands: {string.Join(", ", run.Scores.GroupBy(s => s.Band).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count():N0}"))}); {alerted.Count:N0} task alerts; waiting for HubSpot ..."));

        // Drained: every account's company updated (a 200 batch update naming it) and every alert's task created.
        var updatedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var scanned = callsBefore;
        List<FakeHubSpotTask> tasks = [];
        var lastReport = TimeSpan.Zero;
        while (true)
        {
            var calls = hubSpot.Calls;
            for (; scanned < calls.Count; scanned++)
            {
                var call = calls[scanned];
                if (call.StatusCode == 200 && call.Is("POST", "/crm/v3/objects/companies/batch/update"))
                {
                    foreach (var input in JsonNode.Parse(call.Body)!["inputs"]!.AsArray())
                    {
                        var account = companies[input!["id"]!.GetValue<string>()];
                        updatedAt.TryAdd(account, call.At);
                    }
                }
            }

            tasks = [.. hubSpot.Tasks.Where(t => !tasksBefore.Contains(t.Id))];
            var done = scoredAt.Keys.All(updatedAt.ContainsKey) && tasks.Count >= alerted.Count;
            if (done || sw.Elapsed > DrainTimeout)
            {
                if (!done)
                {
                    throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                        $"{tenant}: after {DrainTimeout.TotalMinutes:F0} min HubSpot has {scoredAt.Keys.Count(updatedAt.ContainsKey):N0} of {scoredAt.Count:N0} company updates and {tasks.Count:N0} of {alerted.Count:N0} tasks."));
                }

                break;
            }

            if (sw.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                lastReport = sw.Elapsed;
                log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"  {tenant}: {sw.Elapsed.TotalSeconds:F0}s: {updatedAt.Count:N0}/{scoredAt.Count:N0} companies updated, {tasks.Count:N0}/{alerted.Count:N0} tasks, {hubSpot.Calls.Count - callsBefore:N0} requests"));
            }

            await Task.Delay(100, cancellationToken);
        }

        var drain = sw.Elapsed;

        // No duplicate task, each on the alerted account's company, and each company holds its account's score.
        var taskMs = new List<double>();
        foreach (var group in tasks.GroupBy(t => companies[t.CompanyIds.Single()]))
        {
            if (group.Count() != 1 || !alerted.Contains(group.Key))
            {
                throw new InvalidOperationException($"{tenant}: account {group.Key} got {group.Count()} task(s); alerted: {alerted.Contains(group.Key)}.");
            }

            taskMs.Add((group.Single().CreatedAt - scoredAt[group.Key]).TotalMilliseconds);
        }

        var byAccount = run.Scores.ToDictionary(s => s.AccountId, StringComparer.Ordinal);
        var wrong = hubSpot.Companies.Count(c => companies.TryGetValue(c.Id, out var a) && byAccount.TryGetValue(a, out var s)
            && c[HubSpotPropertyNames.HealthScore] != s.HealthScore.ToString(CultureInfo.InvariantCulture));
        if (wrong > 0)
        {
            throw new InvalidOperationException($"{tenant}: {wrong} companies do not hold their account's score.");
        }

        var own = hubSpot.Calls.Skip(callsBefore).ToList();
        return new Delivery(
            scoredAt.Count, tasks.Count, scoring, drain,
            [.. scoredAt.Select(p => (updatedAt[p.Key] - p.Value).TotalMilliseconds)], taskMs,
            own.Count, own.Count(c => c.StatusCode == 429), hubSpot.MaxRequestsInAnyTenSeconds,
            own.GroupBy(c => $"{c.Method} {Endpoint(c.Path)}").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal));
    }

    /// <summary>Each account's score append time, and the accounts whose alerts make a task (at-risk, expansion).</summary>
    private static async Task<(Dictionary<string, DateTimeOffset> ScoredAt, HashSet<string> Alerted)> ReadLogAsync(NpgsqlDataSource dataSource, string schema, string tenant, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"select stream_id, type, recorded_at from {schema}.events where tenant_id = $1 and type in ('health.account_scored', 'alerts.became_at_risk', 'alerts.expansion_signal')");
        command.Parameters.AddWithValue(tenant);
        var scoredAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var alerted = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var account = reader.GetString(0)[IngestionPipeline.AccountStreamPrefix.Length..];
            if (reader.GetString(1) == "health.account_scored")
            {
                scoredAt[account] = await reader.GetFieldValueAsync<DateTimeOffset>(2, cancellationToken);
            }
            else if (!alerted.Add(account))
            {
                throw new InvalidOperationException($"{tenant}: account {account} has more than one task alert; the benchmark expects one.");
            }
        }

        return (scoredAt, alerted);
    }

    /// <summary>A path with its ids replaced, for counting requests per endpoint.</summary>
    private static string Endpoint(string path) =>
        string.Join('/', path.Split('/').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? "{id}" : p));

    private List<BenchmarkResult> Report(Delivery run, Delivery alone, int rate, int count, ProgressLog log)
    {
        static double P(List<double> values, double q) => Percentiles.NearestRank(values, q);

        string Figures(List<double> ms) => string.Create(CultureInfo.InvariantCulture,
            $"p50 {P(ms, 0.5) / 1000:F2}s, p99 {P(ms, 0.99) / 1000:F2}s, max {(ms.Count == 0 ? double.NaN : ms.Max()) / 1000:F2}s");

        // The floor the client's own limit sets: this many requests cannot be sent faster.
        var floor = run.Requests * 10.0 / rate;
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  {count:N0} accounts: company update {Figures(run.CompanyMs)}; task ({run.Tasks:N0}) {Figures(run.TaskMs)}"));
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  {count:N0} accounts: drained in {run.Drain.TotalSeconds:F1}s (scoring {run.Scoring.TotalSeconds:F1}s of it); {run.Requests:N0} requests ({string.Join(", ", run.ByEndpoint.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value:N0}"))}); 429s {run.RateLimited}; max {run.MaxInTenSeconds} in any 10 s (burst limit {ProfessionalBurstLimit})"));
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  {run.Requests:N0} requests at the client's {rate} per 10 s take at least {floor:F0}s: the rate limit, not the pipeline, bounds the drain when that is close to it"));
        log.Info(string.Create(CultureInfo.InvariantCulture, $"  one at-risk account scored alone: company update {alone.CompanyMs.Single() / 1000:F2}s, task {alone.TaskMs.Single() / 1000:F2}s; {alone.Requests} requests"));
        if (run.MaxInTenSeconds > ProfessionalBurstLimit)
        {
            throw new InvalidOperationException($"The fake saw {run.MaxInTenSeconds} requests in 10 s, over the burst limit {ProfessionalBurstLimit}.");
        }

        // Latencies in ms: the results file rounds to 0.1 of the unit.
        List<BenchmarkResult> results =
        [
            BenchmarkResult.Plain($"{Name}.company.p50", P(run.CompanyMs, 0.5), "ms"),
            BenchmarkResult.Plain($"{Name}.company.p99", P(run.CompanyMs, 0.99), "ms"),
            BenchmarkResult.Plain($"{Name}.company.max", run.CompanyMs.Max(), "ms"),
        ];
        if (run.TaskMs.Count > 0)
        {
            results.Add(BenchmarkResult.Plain($"{Name}.task.p50", P(run.TaskMs, 0.5), "ms"));
            results.Add(BenchmarkResult.Plain($"{Name}.task.p99", P(run.TaskMs, 0.99), "ms"));
            results.Add(BenchmarkResult.Plain($"{Name}.task.max", run.TaskMs.Max(), "ms"));
        }

        results.AddRange(
        [
            BenchmarkResult.Plain($"{Name}.tasks", run.Tasks, "tasks"),
            BenchmarkResult.Plain($"{Name}.scoring", run.Scoring.TotalSeconds, "s"),
            BenchmarkResult.Plain($"{Name}.drain", run.Drain.TotalSeconds, "s"),
            BenchmarkResult.Plain($"{Name}.requests", run.Requests, "requests"),
            BenchmarkResult.Plain($"{Name}.rate_limit_floor", floor, "s"),
            BenchmarkResult.Plain($"{Name}.responses_429", run.RateLimited, "requests"),
            BenchmarkResult.Compared($"{Name}.max_requests_in_10s", run.MaxInTenSeconds, "requests", "HubSpot Professional burst limit", ProfessionalBurstLimit),
            BenchmarkResult.Plain($"{Name}.single.company", alone.CompanyMs.Single(), "ms"),
            BenchmarkResult.Plain($"{Name}.single.task", alone.TaskMs.Single(), "ms"),
        ]);
        return results;
    }
}

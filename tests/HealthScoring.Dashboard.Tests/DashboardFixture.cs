using System.Net;
using System.Net.Http.Headers;
using HealthScoring.Api;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using HealthScoring.Cli;
using HealthScoring.Cli.Generate;
using HealthScoring.Cli.Import;
using HealthScoring.Models.Features;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace HealthScoring.Dashboard.Tests;

/// <summary>
/// The real host on a loopback socket over scored synthetic data, and a headless Debian chromium driven by
/// Playwright. The data goes the CLI's way (generate → taxonomy → import → project → train → score at five weekly
/// dates, so the score history has points), in-process, before the host starts. Tenant <c>acme</c> has an admin,
/// a viewer and an API key; tenant <c>globex</c> has a little data of its own (for isolation).
/// </summary>
public sealed class DashboardFixture : PostgresSchemaFixture
{
    public static readonly DateOnly End = new(2026, 10, 31);
    public const string Tenant = "acme";
    public const string OtherTenant = "globex";
    public const string AdminEmail = "ada@acme.test";
    public const string ViewerEmail = "vic@acme.test";
    public const string Password = "correct horse battery staple";

    /// <summary>An endpoint only this fixture maps, guarded by the admin policy: the stand-in for admin actions (snooze) until they land.</summary>
    public const string AdminActionPath = "/v1/test/admin-action";

    private WebApplication? _app;
    private IPlaywright? _playwright;
    private string? _dataDirectory;

    public int Port { get; } = LoopbackPorts.Free();

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public string ApiKey { get; private set; } = "";

    public string OtherTenantAccount { get; private set; } = "";

    public IBrowser Browser { get; private set; } = null!;

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var ct = TestContext.Current.CancellationToken;
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"hs-dashboard-{Guid.NewGuid():N}");
        new SyntheticSaas(new SyntheticSaas.Options(Accounts: 120, Months: 6, Seed: 5, End: End)).Write(_dataDirectory, cancellationToken: ct);
        using (var cli = await CliHost.StartAsync(new CliSettings { ConnectionString = TestSettings.PostgresConnectionString, EventStore = Options }, ct))
        {
            await LoadAsync(cli.Services, ct);
        }

        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = TestSettings.PostgresConnectionString,
            ["EventStore:Schema"] = Schema,
            ["urls"] = BaseUrl,
            ["Grpc:Url"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["RabbitMq:Enabled"] = "false",
        });
        builder.Logging.ClearProviders();
        builder.AddHealthScoringHost();
        _app = builder.Build();
        _app.MapHealthScoringHost();
        _app.MapPost(AdminActionPath, () => Results.Ok(new { done = true })).RequireAuthorization(TenancyExtensions.AdminPolicy);
        await _app.StartAsync(ct);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            // The test machines run as root, where chromium refuses its sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    private async Task LoadAsync(IServiceProvider services, CancellationToken ct)
    {
        T Service<T>() where T : notnull => services.GetRequiredService<T>();
        var keys = Service<ApiKeyStore>();
        await keys.EnsureTenantAsync(Tenant, ct);
        await DataQualityCommands.DeclareAsync(Service<EventTaxonomy>(), Tenant, new FileInfo(Path.Combine(_dataDirectory!, SyntheticSaas.TaxonomyFile)), ct);
        await ImportEventsCommand.ImportAsync(Service<IngestionPipeline>(), Tenant, new FileInfo(Path.Combine(_dataDirectory!, SyntheticSaas.EventsFile)), 5_000, ct);
        await ImportBillingCommand.ImportAsync(Service<BillingIngestion>(), Tenant, new FileInfo(Path.Combine(_dataDirectory!, SyntheticSaas.BillingFile)), ct);

        // The other tenant: one account with a few events, so "another tenant's account" exists for real.
        await keys.EnsureTenantAsync(OtherTenant, ct);
        OtherTenantAccount = "globex-only-account";
        var other = Path.Combine(_dataDirectory!, "globex.jsonl");
        await File.WriteAllLinesAsync(other,
        [
            $$$"""{"type":"group","messageId":"g-1","timestamp":"2026-10-20T10:00:00Z","userId":"u-1","groupId":"{{{OtherTenantAccount}}}","traits":{"name":"Globex Secret Co"}}""",
            """{"type":"track","messageId":"t-1","timestamp":"2026-10-20T10:01:00Z","userId":"u-1","event":"Session Started","properties":{}}""",
        ], ct);
        await ImportEventsCommand.ImportAsync(Service<IngestionPipeline>(), OtherTenant, new FileInfo(other), 100, ct);
        await Service<ProjectionRebuilder>().CatchUpAsync(null, ct);

        await Service<TrainingService>().TrainAsync(new TrainingRequest(Tenant, End), [TargetKind.Churn, TargetKind.Expansion], null, ct);
        for (var weeksBack = 4; weeksBack >= 0; weeksBack--)
        {
            await Service<HealthScorer>().ScoreAsync(Tenant, End.AddDays(-7 * weeksBack), null, ct);
        }

        var users = Service<DashboardUserStore>();
        await users.CreateAsync(Tenant, AdminEmail, DashboardRole.Admin, Password, ct);
        await users.CreateAsync(Tenant, ViewerEmail, DashboardRole.Viewer, Password, ct);
        await users.CreateAsync(OtherTenant, "gina@globex.test", DashboardRole.Admin, Password, ct);
        ApiKey = (await keys.CreateKeyAsync(Tenant, KeyKind.Api, "dashboard tests", ct)).Secret;
    }

    /// <summary>A client of the host that keeps no cookies unless given a container, and follows no redirects (tests look at them).</summary>
    public HttpClient Client(string? key = null, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() };
        var client = new HttpClient(handler) { BaseAddress = new Uri(BaseUrl) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>A fresh browser context (own cookies) with a page signed in as <paramref name="email"/>.</summary>
    public async Task<IPage> SignedInPageAsync(string email, string tenant = Tenant)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseUrl, ViewportSize = new ViewportSize { Width = 1360, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/sign-in");
        await page.FillAsync("#tenant", tenant);
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", Password);

        // The form posts and is redirected to the dashboard. Should it stay on sign-in, say with what answer and
        // message, rather than only that a navigation did not come.
        var answer = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#sign-in"), r => r.Url.Contains("/dashboard/sign-in", StringComparison.Ordinal) && r.Request.Method == "POST");
        try
        {
            await page.WaitForURLAsync(url => !url.Contains("/sign-in", StringComparison.Ordinal));
        }
        catch (TimeoutException ex)
        {
            var shown = await page.Locator("p.error").AllInnerTextsAsync();
            throw new TimeoutException($"Signing in as {email} answered {answer.Status} and stayed on {page.Url} ({(shown.Count > 0 ? string.Join("; ", shown) : "no error shown")}).", ex);
        }

        return page;
    }

    /// <summary>test-results/screenshots/ at the repository root (scripts/test.sh recreates test-results/ before the run).</summary>
    public static string ScreenshotPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HealthScoring.sln")))
        {
            dir = dir.Parent;
        }

        var screenshots = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "test-results", "screenshots");
        Directory.CreateDirectory(screenshots);
        return Path.Combine(screenshots, name);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_dataDirectory is not null && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }

        await base.DisposeAsync();
    }

}

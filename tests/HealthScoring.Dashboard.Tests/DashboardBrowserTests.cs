using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Npgsql;

namespace HealthScoring.Dashboard.Tests;

[CollectionDefinition(Name)]
public sealed class DashboardTestGroup : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>The dashboard in headless chromium: sign-in, the three pages rendering real data, roles.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardBrowserTests(DashboardFixture fixture)
{
    private static readonly string[] RiskOrder = ["at-risk", "watch", "healthy"];

    [Fact]
    public async Task An_unauthenticated_browser_is_sent_to_sign_in_and_a_wrong_password_is_refused()
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/dashboard/analytics");
        page.Url.ShouldContain("/dashboard/sign-in?ReturnUrl=%2Fdashboard%2Fanalytics");

        await page.FillAsync("#tenant", DashboardFixture.Tenant);
        await page.FillAsync("#email", DashboardFixture.AdminEmail);
        await page.FillAsync("#password", "not the password at all");
        await page.ClickAsync("#sign-in");
        (await page.TextContentAsync(".error")).ShouldBe("Wrong tenant, email or password.");
        (await context.CookiesAsync()).ShouldNotContain(c => c.Name == "hs_session");

        await page.FillAsync("#password", DashboardFixture.Password);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync("**/dashboard/analytics");
        var session = (await context.CookiesAsync()).Single(c => c.Name == "hs_session");
        session.HttpOnly.ShouldBeTrue();
        session.SameSite.ShouldBe(SameSiteAttribute.Strict);
        await context.CloseAsync();
    }

    [Fact]
    public async Task The_portfolio_lists_at_risk_accounts_first()
    {
        var page = await fixture.SignedInPageAsync(DashboardFixture.ViewerEmail);
        await page.WaitForSelectorAsync("body[data-loaded=true]");
        var bands = await page.EvalOnSelectorAllAsync<string[]>("#accounts tbody tr", "rows => rows.map(r => r.dataset.band)");
        var atRisk = await AtRiskCountAsync();
        atRisk.ShouldBeGreaterThan(0, "the synthetic data has accounts at risk");
        bands.Length.ShouldBeGreaterThan(atRisk);
        bands.Take(atRisk).ShouldAllBe(b => b == "at-risk");
        bands.Select(b => Array.IndexOf(RiskOrder, b)).ShouldBeInOrder(SortDirection.Ascending, "at-risk, then watch, then healthy");
        (await page.TextContentAsync("#total-at-risk")).ShouldBe(atRisk.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardFixture.ScreenshotPath("portfolio.png"), FullPage = true });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_account_page_renders_its_score_chart_and_drivers()
    {
        var account = await RiskiestAccountAsync();
        var page = await fixture.SignedInPageAsync(DashboardFixture.ViewerEmail);
        await page.GotoAsync($"/dashboard/accounts/{Uri.EscapeDataString(account)}");
        await page.WaitForSelectorAsync("body[data-loaded=true]");
        (await page.TextContentAsync("#error") ?? "").ShouldBeEmpty();

        // Five scoring runs a week apart: the line has a point per run that scored the account (one it skipped while inactive has none).
        using var api = fixture.Client(fixture.ApiKey);
        var history = await api.GetFromJsonAsync<JsonElement>($"/v1/accounts/{Uri.EscapeDataString(account)}/history", TestContext.Current.CancellationToken);
        var scored = history.GetProperty("points").GetArrayLength();
        scored.ShouldBeGreaterThanOrEqualTo(2);
        (await page.GetAttributeAsync("#score-chart path.line", "data-points")).ShouldBe(scored.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await page.GetAttributeAsync("#score-chart path.line", "d"))!.Count(c => c == 'L').ShouldBe(scored - 1);
        (await page.Locator("#drivers li.driver").CountAsync()).ShouldBeGreaterThan(0);
        (await page.Locator("#drivers li.driver .driver-text").First.TextContentAsync()).ShouldNotBeNullOrWhiteSpace();
        (await page.Locator("#usage-chart rect").CountAsync()).ShouldBeGreaterThan(0);
        (await page.Locator("#alerts li.alert-became_at_risk").CountAsync()).ShouldBeGreaterThan(0, "the riskiest account was alerted");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardFixture.ScreenshotPath("account.png"), FullPage = true });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_analytics_page_renders_the_cohort_heatmap_and_model_quality()
    {
        var page = await fixture.SignedInPageAsync(DashboardFixture.ViewerEmail);
        await page.GotoAsync("/dashboard/analytics");
        await page.WaitForSelectorAsync("body[data-loaded=true]");
        (await page.TextContentAsync("#error") ?? "").ShouldBeEmpty();

        // Six months of signups: six cohorts, the oldest with a cell per month since.
        var cells = await page.EvalOnSelectorAllAsync<double[]>("#cohort-heatmap rect.cell", "cells => cells.map(c => Number(c.dataset.value))");
        cells.Length.ShouldBeGreaterThanOrEqualTo(6);
        cells.ShouldAllBe(v => v >= 0 && v <= 1);
        cells.ShouldContain(v => v > 0);
        (await page.Locator("#funnel .hbar").CountAsync()).ShouldBeGreaterThanOrEqualTo(3);
        (await page.Locator(".model[data-target=churn] .lift rect.bar").CountAsync()).ShouldBe(10);
        (await page.Locator(".model[data-target=churn] .calibration circle").CountAsync()).ShouldBeGreaterThan(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = DashboardFixture.ScreenshotPath("analytics.png"), FullPage = true });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_viewer_cannot_perform_an_admin_action_and_an_admin_can()
    {
        const string call = """
            async path => {
              const s = await (await fetch('/dashboard/session')).json();
              const r = await fetch(path, { method: 'POST', headers: { [s.csrfHeader]: s.csrfToken } });
              return r.status;
            }
            """;
        var viewer = await fixture.SignedInPageAsync(DashboardFixture.ViewerEmail);
        (await viewer.EvaluateAsync<int>(call, DashboardFixture.AdminActionPath)).ShouldBe(403);

        var admin = await fixture.SignedInPageAsync(DashboardFixture.AdminEmail);
        (await admin.EvaluateAsync<int>(call, DashboardFixture.AdminActionPath)).ShouldBe(200);

        // The same call without the antiforgery token is refused even for an admin.
        (await admin.EvaluateAsync<int>("async path => (await fetch(path, { method: 'POST' })).status", DashboardFixture.AdminActionPath)).ShouldBe(400);
        await viewer.Context.CloseAsync();
        await admin.Context.CloseAsync();
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var page = await fixture.SignedInPageAsync(DashboardFixture.AdminEmail);
        await page.WaitForSelectorAsync("body[data-loaded=true]");

        // The sign-out call answers a redirect to sign-in (which fetch follows); then the page goes there. A failure
        // shows on the page: name it, rather than time out waiting for a navigation that will not come.
        var signOut = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#sign-out"), r => r.Url.EndsWith("/dashboard/sign-in", StringComparison.Ordinal) && r.Request.Method == "GET");
        signOut.Status.ShouldBe(200);
        await page.WaitForURLAsync("**/dashboard/sign-in");
        await page.GotoAsync("/dashboard");
        page.Url.ShouldContain("/dashboard/sign-in");
        await page.Context.CloseAsync();
    }

    private async Task<int> AtRiskCountAsync()
    {
        await using var command = fixture.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand($"select count(*) from {fixture.Schema}.account_health where tenant_id = $1 and band = 'at-risk'");
        command.Parameters.AddWithValue(DashboardFixture.Tenant);
        return (int)(long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    private async Task<string> RiskiestAccountAsync()
    {
        await using var command = fixture.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"select account_id, drivers::text from {fixture.Schema}.account_health where tenant_id = $1 order by churn_probability desc limit 1");
        command.Parameters.AddWithValue(DashboardFixture.Tenant);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        JsonDocument.Parse(reader.GetString(1)).RootElement.GetArrayLength().ShouldBeGreaterThan(0);
        return reader.GetString(0);
    }
}

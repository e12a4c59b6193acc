using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthScoring.Dashboard.Tests;

/// <summary>The dashboard's data endpoints and sign-in over HTTP: auth by key or session, tenancy, bad input, headers.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed partial class DashboardApiTests(DashboardFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> DataPaths { get; } = new()
    {
        "/v1/accounts/{id}/usage", "/v1/accounts/{id}/billing", "/v1/accounts/{id}/alerts",
        "/v1/analytics/cohorts", "/v1/analytics/funnel", "/v1/analytics/adoption", "/v1/analytics/stickiness",
        "/v1/analytics/segments", "/v1/analytics/anomalies", "/v1/analytics/model-quality",
    };

    [Theory]
    [MemberData(nameof(DataPaths))]
    public async Task Every_data_endpoint_answers_a_key_and_a_session_and_refuses_neither_with_401(string template)
    {
        var path = template.Replace("{id}", await AnyAccountAsync(), StringComparison.Ordinal);
        using var anonymous = fixture.Client();
        var refused = await anonymous.GetAsync(path, Ct);
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");

        using var keyed = fixture.Client(fixture.ApiKey);
        var byKey = await keyed.GetAsync(path, Ct);
        byKey.StatusCode.ShouldBe(HttpStatusCode.OK, await byKey.Content.ReadAsStringAsync(Ct));

        using var session = await SignedInClientAsync(DashboardFixture.ViewerEmail);
        var bySession = await session.GetAsync(path, Ct);
        bySession.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await bySession.Content.ReadAsStringAsync(Ct)).ShouldBe(await byKey.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [InlineData("usage")]
    [InlineData("billing")]
    [InlineData("alerts")]
    public async Task Another_tenants_account_and_an_unknown_one_are_both_404(string what)
    {
        using var client = fixture.Client(fixture.ApiKey);
        var other = await client.GetAsync($"/v1/accounts/{fixture.OtherTenantAccount}/{what}", Ct);
        var unknown = await client.GetAsync($"/v1/accounts/no-such-account/{what}", Ct);
        other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var otherProblem = await other.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var unknownProblem = await unknown.Content.ReadFromJsonAsync<JsonElement>(Ct);
        otherProblem.GetProperty("title").GetString().ShouldBe(unknownProblem.GetProperty("title").GetString());
        otherProblem.ToString().ShouldNotContain("Secret Co", Case.Insensitive, "nothing of the other tenant's account leaks");

        // The other tenant's own session does see it: the 404 above is tenancy, not a missing account.
        using var globex = await SignedInClientAsync("gina@globex.test", DashboardFixture.OtherTenant);
        (await globex.GetAsync($"/v1/accounts/{fixture.OtherTenantAccount}/{what}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/v1/analytics/cohorts?asOf=yesterday", "asOf")]
    [InlineData("/v1/accounts/{id}/usage?from=2026-13-01", "from")]
    [InlineData("/v1/accounts/{id}/usage?from=2026-10-10&to=2026-10-01", "from")]
    [InlineData("/v1/accounts/{id}/billing?from=2020-01-01&to=2026-10-01", "from")]
    [InlineData("/v1/accounts/{id}/usage?to=31.10.2026", "to")]
    public async Task Bad_dates_are_400_problems_naming_the_field(string template, string field)
    {
        using var client = fixture.Client(fixture.ApiKey);
        var response = await client.GetAsync(template.Replace("{id}", await AnyAccountAsync(), StringComparison.Ordinal), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        problem.GetProperty("field").GetString().ShouldBe(field);
        problem.GetProperty("status").GetInt32().ShouldBe(400);
    }

    [Fact]
    public async Task Usage_counts_each_days_events_by_category_and_adds_up_to_the_aggregates()
    {
        var account = await AnyAccountAsync();
        using var client = fixture.Client(fixture.ApiKey);
        var usage = await client.GetFromJsonAsync<JsonElement>($"/v1/accounts/{account}/usage?from=2026-10-01&to=2026-10-31", Ct);
        var days = usage.GetProperty("days").EnumerateArray().ToList();
        days.Count.ShouldBe(31);
        foreach (var day in days)
        {
            day.GetProperty("byCategory").EnumerateObject().Sum(c => c.Value.GetInt32()).ShouldBe(day.GetProperty("events").GetInt32());
        }

        await using var command = fixture.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"select coalesce(sum(count), 0)::int from {fixture.Schema}.account_daily_events where tenant_id = $1 and account_id = $2 and day between '2026-10-01' and '2026-10-31'");
        command.Parameters.AddWithValue(DashboardFixture.Tenant);
        command.Parameters.AddWithValue(account);
        var stored = (int)(await command.ExecuteScalarAsync(Ct))!;
        stored.ShouldBeGreaterThan(0);
        days.Sum(d => d.GetProperty("events").GetInt32()).ShouldBe(stored);
        days.Any(d => d.GetProperty("byCategory").TryGetProperty("engagement", out _)).ShouldBeTrue();
    }

    [Fact]
    public async Task Model_quality_carries_the_backtest_lift_and_calibration()
    {
        using var client = fixture.Client(fixture.ApiKey);
        var report = await client.GetFromJsonAsync<JsonElement>("/v1/analytics/model-quality", Ct);
        var churn = report.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("target").GetString() == "churn");
        churn.GetProperty("backtestRocAuc").GetDouble().ShouldBeGreaterThan(0.6);
        var lift = churn.GetProperty("lift").EnumerateArray().ToList();
        lift.Count.ShouldBe(10);
        lift[^1].GetProperty("cumulativeCapture").GetDouble().ShouldBe(1, 1e-9);
        lift[0].GetProperty("lift").GetDouble().ShouldBe(churn.GetProperty("backtestTopDecileLift").GetDouble(), 1e-9, "the first decile is the top-decile lift");
        churn.GetProperty("calibration").GetArrayLength().ShouldBe(10);
    }

    [Fact]
    public async Task Pages_carry_security_headers_and_scripts_only_from_the_host()
    {
        using var client = await SignedInClientAsync(DashboardFixture.ViewerEmail);
        foreach (var path in new[] { "/dashboard", "/dashboard/analytics", "/dashboard/accounts/x", "/dashboard/sign-in" })
        {
            var response = await client.GetAsync(path, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, path);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            csp.ShouldContain("script-src 'self'");
            csp.ShouldContain("frame-ancestors 'none'");
            csp.ShouldNotContain("unsafe-inline");
            response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
            response.Headers.GetValues("Referrer-Policy").Single().ShouldBe("no-referrer");
            var html = await response.Content.ReadAsStringAsync(Ct);
            InlineScript().IsMatch(html).ShouldBeFalse($"{path} has an inline script");
            ExternalResource().IsMatch(html).ShouldBeFalse($"{path} loads something from elsewhere");
        }
    }

    [Fact]
    public async Task An_unauthenticated_page_redirects_to_sign_in_and_an_api_call_gets_401()
    {
        using var client = fixture.Client();
        var page = await client.GetAsync("/dashboard/accounts/abc", Ct);
        page.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        new Uri(new Uri(fixture.BaseUrl), page.Headers.Location!).PathAndQuery.ShouldBe("/dashboard/sign-in?ReturnUrl=%2Fdashboard%2Faccounts%2Fabc");
        (await client.GetAsync("/v1/analytics/cohorts", Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/dashboard/session", Ct)).StatusCode.ShouldBe(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Signing_in_without_the_antiforgery_token_is_refused()
    {
        using var client = fixture.Client(cookies: new CookieContainer());
        var response = await client.PostAsync("/dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["tenant"] = DashboardFixture.Tenant, ["email"] = DashboardFixture.AdminEmail, ["password"] = DashboardFixture.Password,
        }), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Theory]
    [InlineData("PUT", "/v1/taxonomy", "[]")]
    [InlineData("POST", "/v1/privacy/erase-user", "{\"userId\":\"u-1\"}")]
    [InlineData("POST", "/v1/accounts/{id}/alerts/snooze", "{\"until\":\"2099-01-01\"}")]
    public async Task A_viewer_session_with_a_valid_csrf_token_may_not_change_anything(string method, string template, string body)
    {
        using var client = await SignedInClientAsync(DashboardFixture.ViewerEmail);
        var session = await client.GetFromJsonAsync<JsonElement>("/dashboard/session", Ct);
        using var request = new HttpRequestMessage(new HttpMethod(method), template.Replace("{id}", await AnyAccountAsync(), StringComparison.Ordinal))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(session.GetProperty("csrfHeader").GetString()!, session.GetProperty("csrfToken").GetString());

        var response = await client.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task An_api_key_may_use_the_admin_policy_without_a_csrf_token()
    {
        using var client = fixture.Client(fixture.ApiKey);
        (await client.PostAsync(DashboardFixture.AdminActionPath, null, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/dashboard/analytics", "/dashboard/analytics")]
    [InlineData("https://evil.example/dashboard", "/dashboard")]
    [InlineData("//evil.example/dashboard", "/dashboard")]
    [InlineData("/dashboard\\..\\evil", "/dashboard")]
    [InlineData("/v1/accounts", "/dashboard")]
    [InlineData(null, "/dashboard")]
    public void Sign_in_returns_only_to_the_dashboards_own_pages(string? returnUrl, string expected) =>
        Api.Dashboard.DashboardEndpoints.LocalDashboardUrl(returnUrl).ShouldBe(expected);

    private async Task<HttpClient> SignedInClientAsync(string email, string tenant = DashboardFixture.Tenant)
    {
        var client = fixture.Client(cookies: new CookieContainer());
        await DashboardSignIn.SignInAsync(client, tenant, email, DashboardFixture.Password, Ct);
        return client;
    }

    [Fact]
    public async Task Cohorts_start_no_earlier_than_the_first_month_with_usage_even_when_billing_history_reaches_further_back()
    {
        await using var first = fixture.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"select min(day) filter (where events > 0), min(day) from {fixture.Schema}.account_daily where tenant_id = $1");
        first.Parameters.AddWithValue(DashboardFixture.Tenant);
        await using var reader = await first.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        var firstUsage = await reader.GetFieldValueAsync<DateOnly>(0, Ct);
        var firstDay = await reader.GetFieldValueAsync<DateOnly>(1, Ct);
        using var client = fixture.Client(fixture.ApiKey);

        var cohorts = (await client.GetFromJsonAsync<JsonElement>("/v1/analytics/cohorts", Ct)).GetProperty("cohorts").EnumerateArray().ToList();

        firstDay.ShouldBeLessThan(firstUsage, "the generated billing starts before the usage, as real exports do");
        cohorts.ShouldNotBeEmpty();
        cohorts.ShouldAllBe(c => DateOnly.Parse(c.GetProperty("month").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= new DateOnly(firstUsage.Year, firstUsage.Month, 1));
    }

    private async Task<string> AnyAccountAsync()
    {
        await using var command = fixture.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"select account_id from {fixture.Schema}.account_health where tenant_id = $1 order by account_id limit 1");
        command.Parameters.AddWithValue(DashboardFixture.Tenant);
        return (string)(await command.ExecuteScalarAsync(Ct))!;
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"(src|href)=""(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalResource();
}

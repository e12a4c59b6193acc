using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HealthScoring.Testing;

namespace HealthScoring.Api.Tests.Security;

/// <summary>
/// Security headers on every REST answer (not only the dashboard's pages, which DashboardApiTests covers), and the
/// antiforgery check on every state-changing route a browser session could reach, both driven by the route table.
/// </summary>
[Collection(SecurityReview.Name)]
public sealed class BrowserProtectionTests(SeededLiveHostFixture host, ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] SafeMethods = ["GET", "HEAD", "OPTIONS", "TRACE"];

    [Fact]
    public async Task Every_REST_answer_carries_the_security_headers()
    {
        using var anonymous = Client();
        using var keyed = Client();
        keyed.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.AcmeApiKey);
        var checkedAnswers = 0;
        foreach (var route in RouteTable.Read(host.Services).Where(r => !r.IsGrpc && r.Method == "GET"))
        {
            foreach (var client in new[] { anonymous, keyed })
            {
                using var response = await client.GetAsync(new Uri(route.SamplePath, UriKind.Relative), Ct);
                var what = $"{route.Key} ({(int)response.StatusCode})";
                var csp = response.Headers.GetValues("Content-Security-Policy").ShouldHaveSingleItem(what);
                csp.ShouldContain("frame-ancestors 'none'", customMessage: what);
                csp.ShouldContain("default-src 'self'", customMessage: what);
                csp.ShouldNotContain("unsafe-inline", customMessage: what);
                response.Headers.GetValues("X-Content-Type-Options").ShouldHaveSingleItem(what).ShouldBe("nosniff", what);
                response.Headers.GetValues("X-Frame-Options").ShouldHaveSingleItem(what).ShouldBe("DENY", what);
                response.Headers.GetValues("Referrer-Policy").ShouldHaveSingleItem(what).ShouldBe("no-referrer", what);
                checkedAnswers++;
            }
        }

        output.WriteLine($"{checkedAnswers} answers checked");
        checkedAnswers.ShouldBeGreaterThan(40);
    }

    [Fact]
    public async Task Every_state_changing_route_refuses_a_session_without_its_antiforgery_token()
    {
        using var session = await SignedInClientAsync();
        var unsafeRoutes = RouteTable.Read(host.Services).Where(r => !r.IsGrpc && !SafeMethods.Contains(r.Method)).ToList();
        var accepted = new List<string>();
        foreach (var route in unsafeRoutes)
        {
            foreach (var token in new[] { null, "forged-token" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(route.Method), new Uri(route.SamplePath, UriKind.Relative))
                {
                    Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
                };
                if (token is not null)
                {
                    request.Headers.Add("X-CSRF-Token", token);
                }

                using var response = await session.SendAsync(request, Ct);
                var body = await response.Content.ReadAsStringAsync(Ct);
                output.WriteLine($"{route.Key} (token {token ?? "none"}): {(int)response.StatusCode}");
                if (response.StatusCode != HttpStatusCode.BadRequest || !body.Contains("antiforgery", StringComparison.OrdinalIgnoreCase))
                {
                    accepted.Add($"{route.Key} with token {token ?? "none"}: {(int)response.StatusCode} {body}");
                }
            }
        }

        unsafeRoutes.Count.ShouldBeGreaterThan(8);
        accepted.ShouldBeEmpty();

        // The control: with the session's own token the same session gets through (here: a snooze of its account,
        // which needs the account's stream: the portfolio seed writes read models only, so one group call makes it).
        using (var writer = Client())
        {
            writer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.AcmeWriteKey);
            var group = new { type = "group", messageId = "browser-protection-a-03", userId = "browser-protection", groupId = "a-03" };
            (await writer.PostAsJsonAsync("/v1/group", group, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var csrf = await session.GetFromJsonAsync<JsonElement>("/dashboard/session", Ct);
        using var snooze = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts/a-03/alerts/snooze") { Content = JsonContent.Create(new { until = "2099-01-01" }) };
        snooze.Headers.Add(csrf.GetProperty("csrfHeader").GetString()!, csrf.GetProperty("csrfToken").GetString());
        (await session.SendAsync(snooze, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private HttpClient Client(CookieContainer? cookies = null) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() })
        {
            BaseAddress = host.RestUrl,
        };

    private async Task<HttpClient> SignedInClientAsync()
    {
        var client = Client(new CookieContainer());
        await DashboardSignIn.SignInAsync(client, "acme", SeededLiveHostFixture.AdminEmail, SeededLiveHostFixture.AdminPassword, Ct);
        return client;
    }
}

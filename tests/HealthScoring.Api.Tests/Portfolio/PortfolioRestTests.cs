using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.Api.Tests.Portfolio;

public sealed class PortfolioRestTests(PortfolioFixture fixture) : IClassFixture<PortfolioFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Acme() => fixture.Client(fixture.AcmeApiKey, basic: false);

    private static async Task<JsonObject> OkJsonAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(new Uri(url, UriKind.Relative), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
    }

    private static List<string> Ids(JsonObject page) => [.. page["accounts"]!.AsArray().Select(a => a!["accountId"]!.GetValue<string>())];

    [Theory]
    [InlineData("/v1/accounts")]
    [InlineData("/v1/accounts/a-01")]
    [InlineData("/v1/accounts/a-01/history")]
    [InlineData("/openapi/v1.json")]
    public async Task Every_read_rejects_a_missing_or_revoked_key_and_a_write_key(string url)
    {
        using var anonymous = fixture.Client();
        (await anonymous.GetAsync(new Uri(url, UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var revoked = fixture.Client(fixture.RevokedKey, basic: false);
        (await revoked.GetAsync(new Uri(url, UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        if (url.StartsWith("/v1/", StringComparison.Ordinal))
        {
            // Write keys are embedded in clients: they never read.
            using var write = fixture.Client(fixture.AcmeWriteKey, basic: false);
            (await write.GetAsync(new Uri(url, UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task Tenants_see_only_their_own_accounts_and_another_tenants_account_is_not_found()
    {
        using var acme = Acme();
        using var globex = fixture.Client(fixture.GlobexApiKey, basic: false);

        var acmePage = await OkJsonAsync(acme, "/v1/accounts?pageSize=500");
        Ids(acmePage).Order().ShouldBe(PortfolioSeed.Acme.Select(a => a.Id).Order());
        acmePage["totals"]!["accounts"]!.GetValue<int>().ShouldBe(PortfolioSeed.Acme.Count);
        var globexPage = await OkJsonAsync(globex, "/v1/accounts");
        Ids(globexPage).Order().ShouldBe(["a-01", "g-01"]);

        (await acme.GetAsync(new Uri("/v1/accounts/g-01", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await acme.GetAsync(new Uri("/v1/accounts/g-01/history", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await OkJsonAsync(acme, "/v1/accounts?q=globex"))["accounts"]!.AsArray().ShouldBeEmpty();

        // The same account id in both tenants: each sees its own verdict and history.
        (await OkJsonAsync(globex, "/v1/accounts/a-01"))["healthScore"]!.GetValue<int>().ShouldBe(99);
        (await OkJsonAsync(acme, "/v1/accounts/a-01"))["healthScore"]!.GetValue<int>().ShouldBe(25);
        (await OkJsonAsync(globex, "/v1/accounts/a-01/history"))["points"]!.AsArray().Select(p => p!["healthScore"]!.GetValue<int>()).ShouldBe([99, 99, 99]);

        // Naming the other tenant in the header does not help.
        using var named = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/accounts/g-01", UriKind.Relative));
        named.Headers.Add("X-HealthScoring-Tenant", "globex");
        (await acme.SendAsync(named, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_default_order_is_at_risk_first_with_totals_over_the_filtered_set()
    {
        using var acme = Acme();
        var page = await OkJsonAsync(acme, "/v1/accounts");
        var expected = PortfolioSeed.Acme.OrderByDescending(a => a.Churn).ThenBy(a => a.Id, StringComparer.Ordinal).ToList();
        Ids(page).ShouldBe(expected.Select(a => a.Id));
        page["accounts"]![0]!["band"]!.GetValue<string>().ShouldBe("at-risk");
        page["nextPageToken"].ShouldBeNull();

        var totals = page["totals"]!;
        totals["accounts"]!.GetValue<int>().ShouldBe(7);
        totals["atRisk"]!.GetValue<int>().ShouldBe(PortfolioSeed.Acme.Count(a => a.Band == "at-risk"));
        totals["mrrAtRisk"]!.GetValue<double>().ShouldBe(Math.Round(PortfolioSeed.Acme.Sum(a => a.Mrr * a.Churn), 2), 0.005);
        totals["expansionPipeline"]!.GetValue<double>().ShouldBe(Math.Round(PortfolioSeed.Acme.Sum(a => a.Mrr * (a.Expansion ?? 0)), 2), 0.005);

        var watch = await OkJsonAsync(acme, "/v1/accounts?band=watch&pageSize=1");
        watch["totals"]!["accounts"]!.GetValue<int>().ShouldBe(2, "totals count the filtered set, not the page");
        watch["accounts"]!.AsArray().Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_summary_carries_traits_live_mrr_segment_and_trend()
    {
        using var acme = Acme();
        var page = await OkJsonAsync(acme, "/v1/accounts");
        var byId = page["accounts"]!.AsArray().ToDictionary(a => a!["accountId"]!.GetValue<string>(), a => a!);

        var a01 = byId["a-01"];
        a01["name"]!.GetValue<string>().ShouldBe("Acme Rockets");
        a01["healthScore"]!.GetValue<int>().ShouldBe(25);
        a01["band"]!.GetValue<string>().ShouldBe("at-risk");
        a01["churnProbability"]!.GetValue<double>().ShouldBe(0.8);
        a01["mrr"]!.GetValue<double>().ShouldBe(500, "the canceled subscription's MRR does not count");
        a01["mrrAtRisk"]!.GetValue<double>().ShouldBe(400);
        a01["owner"]!.GetValue<string>().ShouldBe("Ada Lovelace");
        a01["plan"]!.GetValue<string>().ShouldBe("pro");
        a01["segment"]!.GetValue<string>().ShouldBe("smb");
        a01["asOf"]!.GetValue<string>().ShouldBe("2026-10-31");
        a01["trend"]!["delta7d"]!.GetValue<int>().ShouldBe(25 - 45);
        a01["trend"]!["direction"]!.GetValue<string>().ShouldBe("down");
        a01["trend"]!["sparkline"]!.AsArray().Select(v => v!.GetValue<int>()).ShouldBe([60, 45, 25]);

        byId["a-02"]["owner"]!.GetValue<string>().ShouldBe("Bob Builder", "an owner object gives its name");
        byId["a-02"]["segment"]!.GetValue<string>().ShouldBe("enterprise");
        byId["a-02"]["expansionProbability"].ShouldBeNull();
        byId["a-04"]["segment"]!.GetValue<string>().ShouldBe("strategic", "a segment trait wins over the size");
        byId["a-04"]["trend"]!["direction"]!.GetValue<string>().ShouldBe("up");
        byId["a-05"]["trend"]!["direction"]!.GetValue<string>().ShouldBe("flat");
        byId["a-05"]["mrr"]!.GetValue<double>().ShouldBe(0);
        byId["a-05"]["plan"].ShouldBeNull();
        byId["a-05"]["owner"].ShouldBeNull();
        byId["a-07"]["name"]!.GetValue<string>().ShouldBe("a-07", "without a name trait the id stands in");
    }

    [Theory]
    [InlineData("band=at-risk", new[] { "a-01", "a-02", "a-03" })]
    [InlineData("owner=ada%20lovelace", new[] { "a-01", "a-03" })]
    [InlineData("owner=Bob%20Builder", new[] { "a-02", "a-04" })]
    [InlineData("plan=pro", new[] { "a-01", "a-04", "a-06" })]
    [InlineData("segment=smb", new[] { "a-01", "a-03" })]
    [InlineData("q=rock", new[] { "a-01" })]
    [InlineData("q=a-07", new[] { "a-07" })]
    [InlineData("q=_100%25", new[] { "a-06" })]
    [InlineData("band=at-risk&owner=Ada%20Lovelace&plan=starter", new[] { "a-03" })]
    [InlineData("band=healthy&plan=enterprise", new string[0])]
    public async Task Filters_narrow_the_list(string query, string[] expected)
    {
        using var acme = Acme();
        var page = await OkJsonAsync(acme, $"/v1/accounts?{query}");
        Ids(page).Order().ShouldBe(expected);
        page["totals"]!["accounts"]!.GetValue<int>().ShouldBe(expected.Length);
    }

    [Theory]
    [InlineData("risk")]
    [InlineData("mrrAtRisk")]
    [InlineData("score")]
    [InlineData("mrr")]
    [InlineData("name")]
    public async Task Paging_walks_every_account_once_in_the_sort_order(string sort)
    {
        using var acme = Acme();
        var all = Ids(await OkJsonAsync(acme, $"/v1/accounts?sort={sort}&pageSize=500"));
        var expected = sort switch
        {
            "risk" => PortfolioSeed.Acme.OrderByDescending(a => a.Churn),
            "mrrAtRisk" => PortfolioSeed.Acme.OrderByDescending(a => a.Mrr * a.Churn),
            "score" => PortfolioSeed.Acme.OrderBy(a => a.Score),
            "mrr" => PortfolioSeed.Acme.OrderByDescending(a => a.Mrr),
            _ => PortfolioSeed.Acme.OrderBy(a => (a.Name ?? a.Id).ToLowerInvariant(), StringComparer.Ordinal),
        };
        all.ShouldBe(expected.ThenBy(a => a.Id, StringComparer.Ordinal).Select(a => a.Id));

        var walked = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await OkJsonAsync(acme, $"/v1/accounts?sort={sort}&pageSize=2" + (token is null ? "" : $"&pageToken={Uri.EscapeDataString(token)}"));
            page["totals"]!["accounts"]!.GetValue<int>().ShouldBe(7);
            walked.AddRange(Ids(page));
            token = page["nextPageToken"]?.GetValue<string>();
            pages++;
        }
        while (token is not null && pages < 10);

        walked.ShouldBe(all, "no gaps, no duplicates, same order");
        pages.ShouldBe(4);
    }

    [Theory]
    [InlineData("band=red", "band")]
    [InlineData("sort=churn", "sort")]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=501", "pageSize")]
    [InlineData("pageSize=ten", "pageSize")]
    [InlineData("pageToken=not-a-token", "pageToken")]
    public async Task Bad_input_is_a_400_naming_the_field(string query, string field)
    {
        using var acme = Acme();
        var response = await acme.GetAsync(new Uri($"/v1/accounts?{query}", UriKind.Relative), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["errors"]!.AsObject().Select(e => e.Key).ShouldBe([field]);
    }

    [Fact]
    public async Task A_tampered_or_reused_page_token_is_a_400_naming_pageToken()
    {
        using var acme = Acme();
        var token = (await OkJsonAsync(acme, "/v1/accounts?pageSize=2"))["nextPageToken"]!.GetValue<string>();
        (await OkJsonAsync(acme, $"/v1/accounts?pageSize=2&pageToken={token}"))["accounts"]!.AsArray().Count.ShouldBe(2);

        var flipped = token[..5] + (token[5] == 'A' ? 'B' : 'A') + token[6..];
        foreach (var bad in new[] { flipped, token[..^2], $"/v1/accounts?pageSize=2&sort=name&pageToken={token}", $"/v1/accounts?pageSize=2&band=watch&pageToken={token}" })
        {
            var url = bad.StartsWith('/') ? bad : $"/v1/accounts?pageSize=2&pageToken={bad}";
            var response = await acme.GetAsync(new Uri(url, UriKind.Relative), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, url);
            (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["errors"]!["pageToken"].ShouldNotBeNull(url);
        }
    }

    [Fact]
    public async Task The_account_page_explains_the_verdict()
    {
        using var acme = Acme();
        var account = await OkJsonAsync(acme, "/v1/accounts/a-01");
        account["accountId"]!.GetValue<string>().ShouldBe("a-01");
        account["mrrAtRisk"]!.GetValue<double>().ShouldBe(400);
        account["trend"]!["sparkline"]!.AsArray().Count.ShouldBe(3);
        var drivers = account["drivers"]!.AsArray();
        drivers.Count.ShouldBe(2);
        drivers[0]!["feature"]!.GetValue<string>().ShouldBe("days_since_last_active");
        drivers[0]!["direction"]!.GetValue<string>().ShouldBe("raises-risk");
        drivers[0]!["text"]!.GetValue<string>().ShouldBe("No activity for 21 days");
        drivers[1]!["direction"]!.GetValue<string>().ShouldBe("lowers-risk");
        account["expansionDrivers"]!.AsArray().Single()!["feature"]!.GetValue<string>().ShouldBe("seat_limit_hits_28d");
        account["components"]!["recency"]!.GetValue<double>().ShouldBe(0.2);

        (await acme.GetAsync(new Uri("/v1/accounts/nobody", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task History_is_oldest_first_within_the_range_and_validates_its_dates()
    {
        using var acme = Acme();
        var points = (await OkJsonAsync(acme, "/v1/accounts/a-01/history"))["points"]!.AsArray();
        points.Select(p => p!["asOf"]!.GetValue<string>()).ShouldBe(["2026-10-17", "2026-10-24", "2026-10-31"]);
        points.Select(p => p!["healthScore"]!.GetValue<int>()).ShouldBe([60, 45, 25]);
        points[0]!["band"]!.GetValue<string>().ShouldBe("watch");
        points[0]!["churnProbability"]!.GetValue<double>().ShouldBe(0.4);

        var range = (await OkJsonAsync(acme, "/v1/accounts/a-01/history?from=2026-10-20&to=2026-10-24"))["points"]!.AsArray();
        range.Select(p => p!["asOf"]!.GetValue<string>()).ShouldBe(["2026-10-24"]);

        var bad = await acme.GetAsync(new Uri("/v1/accounts/a-01/history?from=last-week", UriKind.Relative), Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadFromJsonAsync<JsonObject>(Ct))!["errors"]!["from"].ShouldNotBeNull();
        var reversed = await acme.GetAsync(new Uri("/v1/accounts/a-01/history?from=2026-10-31&to=2026-10-01", UriKind.Relative), Ct);
        reversed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await acme.GetAsync(new Uri("/v1/accounts/nobody/history", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_portfolio_and_not_the_grpc_methods()
    {
        using var acme = Acme();
        var document = await OkJsonAsync(acme, "/openapi/v1.json");
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        paths.ShouldContain("/v1/accounts");
        paths.ShouldContain("/v1/accounts/{accountId}");
        paths.ShouldContain("/v1/accounts/{accountId}/history");
        paths.ShouldNotContain(p => p.StartsWith("/healthscoring.v1.", StringComparison.Ordinal));
        document["paths"]!["/v1/accounts"]!["get"]!["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ShouldContain("pageToken");
    }
}

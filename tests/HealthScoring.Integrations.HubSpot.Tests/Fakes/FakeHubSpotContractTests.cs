using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.Testing.Fakes.HubSpot;

namespace HealthScoring.Integrations.HubSpot.Tests.Fakes;

/// <summary>The fake enforces the contract in integrations-api-notes.md, so the client tests mean something.</summary>
public sealed class FakeHubSpotContractTests
{
    private static HttpClient Client(FakeHubSpot fake, string? token)
    {
        var http = new HttpClient { BaseAddress = fake.BaseAddress };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(
        HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    [Fact]
    public async Task Requests_without_or_with_a_wrong_bearer_token_get_401()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var anonymous = Client(fake, null);
        using var wrong = Client(fake, "pat-na1-wrong");

        var (none, noneBody, _) = await SendAsync(anonymous, HttpMethod.Get, "crm/v3/owners");
        var (bad, badBody, _) = await SendAsync(wrong, HttpMethod.Get, "crm/v3/owners");

        none.ShouldBe(HttpStatusCode.Unauthorized);
        bad.ShouldBe(HttpStatusCode.Unauthorized);
        ((string?)noneBody!["category"]).ShouldBe("INVALID_AUTHENTICATION");
        ((string?)badBody!["status"]).ShouldBe("error");
    }

    [Fact]
    public async Task Creating_a_property_twice_is_409_and_a_bad_one_is_400_naming_the_problem()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        const string score = """{"name":"health_score","label":"Health score","type":"number","fieldType":"number","groupName":"companyinformation"}""";

        var (created, _, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/properties/companies", score);
        var (duplicate, duplicateBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/properties/companies", score);
        var (bad, badBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/properties/companies",
            """{"name":"risk_band","label":"Risk band","type":"enumeration","fieldType":"number","groupName":"nope"}""");

        created.ShouldBe(HttpStatusCode.Created);
        duplicate.ShouldBe(HttpStatusCode.Conflict);
        ((string?)duplicateBody!["message"]).ShouldNotBeNull().ShouldContain("health_score");
        bad.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)badBody!["category"]).ShouldBe("VALIDATION_ERROR");
        var message = (string?)badBody["message"];
        message.ShouldNotBeNull();
        message.ShouldContain("fieldType number cannot show a property of type enumeration");
        message.ShouldContain("Property group nope does not exist");
        message.ShouldContain("Options are required for enumeration properties");
    }

    [Fact]
    public async Task A_batch_over_100_inputs_or_with_an_unknown_property_is_refused_whole()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        var ids = Enumerable.Range(0, 101).Select(i => fake.AddCompany($"c{i}")).ToList();
        string Batch(IEnumerable<string> companyIds, string property) =>
            new JsonObject { ["inputs"] = new JsonArray([.. companyIds.Select(id => new JsonObject { ["id"] = id, ["properties"] = new JsonObject { [property] = "x" } })]) }
                .ToJsonString();

        var (tooMany, tooManyBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/batch/update", Batch(ids, "city"));
        var (unknown, unknownBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/batch/update", Batch(ids.Take(2), "no_such_property"));

        tooMany.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)tooManyBody!["message"]).ShouldNotBeNull().ShouldContain("exceeds the limit of 100");
        unknown.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)unknownBody!["errors"]![0]!["code"]).ShouldBe("PROPERTY_DOESNT_EXIST");
        fake.Companies.ShouldAllBe(c => c["city"] == null);
    }

    [Fact]
    public async Task Going_over_the_burst_limit_gets_429_with_HubSpot_rate_limit_headers()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(new FakeHubSpotOptions { BurstLimit = 3 }, TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        JsonNode? lastBody = null;
        for (var i = 0; i < 4; i++)
        {
            (var status, lastBody, last) = await SendAsync(http, HttpMethod.Get, "crm/v3/owners");
            statuses.Add(status);
        }

        statuses.ShouldBe([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests]);
        last!.Headers.GetValues("X-HubSpot-RateLimit-Max").ShouldBe(["3"]);
        last.Headers.GetValues("X-HubSpot-RateLimit-Remaining").ShouldBe(["0"]);
        last.Headers.GetValues("X-HubSpot-RateLimit-Interval-Milliseconds").ShouldBe(["10000"]);
        last.Headers.Contains("X-HubSpot-RateLimit-Daily-Remaining").ShouldBeTrue();
        last.Headers.RetryAfter.ShouldBeNull();
        ((string?)lastBody!["errorType"]).ShouldBe("RATE_LIMIT");
        ((string?)lastBody["policyName"]).ShouldBe("TEN_SECONDLY_ROLLING");
        fake.MaxRequestsInAnyTenSeconds.ShouldBe(4);
    }

    [Fact]
    public async Task A_task_assigned_by_userId_instead_of_owner_id_is_refused()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        var owner = fake.AddOwner("ana@example.com");
        var company = fake.AddCompany("Acme");
        string Task(string ownerId, int typeId) => $$"""
            {"properties":{"hs_timestamp":"1795000000000","hs_task_subject":"Call","hubspot_owner_id":"{{ownerId}}"},
             "associations":[{"to":{"id":"{{company}}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":{{typeId}}}]}]}
            """;

        var (byUser, byUserBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/tasks", Task(owner.UserId, 192));
        var (wrongType, wrongTypeBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/tasks", Task(owner.Id, 191));
        var (ok, okBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/tasks", Task(owner.Id, 192));

        byUser.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)byUserBody!["message"]).ShouldNotBeNull().ShouldContain("is a userId, not an owner id");
        wrongType.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)wrongTypeBody!["message"]).ShouldNotBeNull().ShouldContain("not valid from a task to a company");
        ok.ShouldBe(HttpStatusCode.Created);
        fake.Tasks.ShouldHaveSingleItem().CompanyIds.ShouldBe([company]);
        fake.Company(company)!.TaskIds.ShouldBe([(string)okBody!["id"]!]);
    }

    [Fact]
    public async Task Owners_are_listed_and_read_by_id_or_userId()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        var ana = fake.AddOwner("ana@example.com", "Ana", "Silva");
        fake.AddOwner("bo@example.com", "Bo", "Berg");

        var (_, list, _) = await SendAsync(http, HttpMethod.Get, "crm/v3/owners?limit=1");
        var (_, byEmail, _) = await SendAsync(http, HttpMethod.Get, "crm/v3/owners?email=bo@example.com");
        var (_, byId, _) = await SendAsync(http, HttpMethod.Get, $"crm/v3/owners/{ana.Id}");
        var (_, byUserId, _) = await SendAsync(http, HttpMethod.Get, $"crm/v3/owners/{ana.UserId}?idProperty=userId");
        var (missing, _, _) = await SendAsync(http, HttpMethod.Get, $"crm/v3/owners/{ana.UserId}");

        list!["results"]!.AsArray().Count.ShouldBe(1);
        ((string?)list["paging"]!["next"]!["after"]).ShouldBe("1");
        ((string?)byEmail!["results"]![0]!["lastName"]).ShouldBe("Berg");
        ((string?)byId!["email"]).ShouldBe("ana@example.com");
        ((string?)byUserId!["id"]).ShouldBe(ana.Id);
        missing.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Search_filters_by_property_pages_with_after_and_keeps_HubSpot_limits()
    {
        // Six searches in a row: above HubSpot's 4 per second, which the fake enforces too (see below).
        await using var fake = await FakeHubSpot.StartNewAsync(new FakeHubSpotOptions { SearchRequestsPerSecond = 10 }, TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        foreach (var city in new[] { "Oslo", "Lyon", "oslo", "Porto" })
        {
            fake.AddCompany(city, properties: new Dictionary<string, string?> { ["city"] = city });
        }

        const string page1 = """{"filterGroups":[{"filters":[{"propertyName":"city","operator":"EQ","value":"OSLO"}]}],"properties":["city"],"limit":1}""";
        var (_, first, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", page1);
        var after = (string?)first!["paging"]!["next"]!["after"];
        var (_, second, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", page1.Replace("\"limit\":1", $"\"limit\":1,\"after\":\"{after}\"", StringComparison.Ordinal));
        var (_, among, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search",
            """{"filterGroups":[{"filters":[{"propertyName":"city","operator":"IN","values":["lyon","porto"]}]}],"limit":10}""");
        var sixGroups = "{\"filterGroups\":[" + string.Join(",", Enumerable.Repeat("""{"filters":[{"propertyName":"city","operator":"HAS_PROPERTY"}]}""", 6)) + "]}";
        var (tooMany, tooManyBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", sixGroups);
        var (unknown, _, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search",
            """{"filterGroups":[{"filters":[{"propertyName":"nope","operator":"EQ","value":"x"}]}]}""");
        var (tooDeep, _, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", """{"limit":200,"after":"9900"}""");

        ((int)first["total"]!).ShouldBe(2);
        ((string?)first["results"]![0]!["properties"]!["city"]).ShouldBe("Oslo");
        ((string?)second!["results"]![0]!["properties"]!["city"]).ShouldBe("oslo");
        second["paging"].ShouldBeNull();
        ((int)among!["total"]!).ShouldBe(2);
        tooMany.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)tooManyBody!["message"]).ShouldNotBeNull().ShouldContain("at most 5");
        unknown.ShouldBe(HttpStatusCode.BadRequest);
        tooDeep.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Creating_a_company_checks_property_names_and_types()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);

        var (created, body, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies",
            """{"properties":{"name":"Acme","numberofemployees":"120"}}""");
        var (notNumber, notNumberBody, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies",
            """{"properties":{"name":"Acme","numberofemployees":"many"}}""");
        var (notString, _, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies",
            """{"properties":{"name":"Acme","numberofemployees":120}}""");
        var (wrongType, _, _) = await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies", "name=Acme");

        created.ShouldBe(HttpStatusCode.Created);
        fake.Company((string)body!["id"]!)!["numberofemployees"].ShouldBe("120");
        notNumber.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)notNumberBody!["errors"]![0]!["code"]).ShouldBe("INVALID_FLOAT");
        notString.ShouldBe(HttpStatusCode.BadRequest);
        wrongType.ShouldBe(HttpStatusCode.BadRequest);
        fake.Companies.Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_fifth_search_within_a_second_gets_429_without_rate_limit_headers()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = Client(fake, fake.AccessToken);
        // A first search warms the fake up (a cold first request can take longer than the 1-second window).
        await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", "{}");
        await Task.Delay(TimeSpan.FromSeconds(1.1), TestContext.Current.CancellationToken);

        var answers = new List<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add(await SendAsync(http, HttpMethod.Post, "crm/v3/objects/companies/search", "{}"));
        }

        answers.Take(4).ShouldAllBe(a => a.Status == HttpStatusCode.OK);
        var refused = answers[4];
        refused.Status.ShouldBe(HttpStatusCode.TooManyRequests);
        ((string?)refused.Body!["errorType"]).ShouldBe("RATE_LIMIT");
        refused.Response.Headers.Contains("X-HubSpot-RateLimit-Remaining").ShouldBeFalse();
        fake.MaxSearchRequestsInAnySecond.ShouldBe(5);
    }
}

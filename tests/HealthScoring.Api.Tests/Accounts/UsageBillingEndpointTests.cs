using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.Api.Tests.Accounts;

public sealed class UsageBillingEndpointTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_report_needs_a_key_and_a_valid_date_and_answers_for_the_keys_tenant_only()
    {
        using var anonymous = fixture.Client();
        (await anonymous.GetAsync(new Uri("/v1/reports/usage-billing", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);
        var bad = await client.GetAsync(new Uri("/v1/reports/usage-billing?asOf=yesterday", UriKind.Relative), Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadFromJsonAsync<JsonObject>(Ct))!["field"]!.GetValue<string>().ShouldBe("asOf");

        var ok = await client.GetAsync(new Uri("/v1/reports/usage-billing?asOf=2026-09-01", UriKind.Relative), Ct);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ok.Content.ReadFromJsonAsync<JsonArray>(Ct))!.ShouldBeEmpty("acme has no paying accounts in this schema");
    }
}

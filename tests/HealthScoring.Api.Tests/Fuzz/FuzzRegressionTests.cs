using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Portfolio;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>One test per 5xx the fuzz run found, named after what broke; each answered 500 (or INTERNAL) before its fix.</summary>
public sealed class FuzzRegressionTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Secret = "whsec_regression_0123456789";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await fixture.Service<StripeSettingsStore>().SetAsync("acme", Secret, null, Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Theory]
    [InlineData("\\u0000", "NUL")]
    [InlineData("a\\u0000b", "NUL")]
    [InlineData("lone \\ud800 high", "unpaired surrogate")]
    [InlineData("\\udc00", "unpaired surrogate")]
    public async Task A_NUL_or_an_unpaired_surrogate_in_any_field_is_a_rejected_item_not_a_500(string escaped, string reason)
    {
        var account = $"acct-{Guid.NewGuid():N}";
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var body = $$"""{"messageId":"m-{{account}}","userId":"u","event":"E","context":{"groupId":"{{account}}"},"properties":{"note":"{{escaped}}"} }""";

        var response = await client.PostAsync("/v1/track", new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain(reason);
        (await fixture.Service<IEventStore>().GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task A_body_that_is_not_UTF8_is_malformed_JSON_not_a_500()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        byte[] body = [.. Encoding.UTF8.GetBytes("{\"messageId\":\"m\",\"userId\":\"u\",\"event\":\"E"), 0xFF, 0xC0, .. Encoding.UTF8.GetBytes("\"}")];

        var response = await client.PostAsync("/v1/track", new ByteArrayContent(body), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString().ShouldBe("The body is not valid UTF-8.");
    }

    [Theory]
    [InlineData("1e999999")]
    [InlineData("1E+2147483648")]
    [InlineData("-1e400")]
    public async Task A_number_beyond_a_double_is_a_rejected_item_not_a_500(string number)
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var body = $$"""{"batch":[{"type":"track","messageId":"m-{{Guid.NewGuid():N}}","userId":"u","event":"E","properties":{"n":{{number}} } }]}""";

        var response = await client.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("outside the range of a 64-bit floating-point number");
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")]
    [InlineData("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00Z", null)]
    public async Task A_timestamp_the_clock_skew_correction_throws_off_the_calendar_is_a_rejected_item_not_a_500(string timestamp, string? sentAt)
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);

        var response = await client.PostAsJsonAsync("/v1/track", new { messageId = $"m-{Guid.NewGuid():N}", userId = "u", @event = "E", timestamp, sentAt }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors")[0].GetProperty("field").GetString().ShouldBe("timestamp");
    }

    [Fact]
    public void A_NUL_in_a_gRPC_Struct_is_an_item_error_not_INTERNAL()
    {
        var key = new Struct { Fields = { ["a\0b"] = Value.ForString("x") } };
        var value = new Struct { Fields = { ["note"] = Value.ForList(Value.ForString("nul\0inside")) } };

        Should.Throw<Exception>(() => IngestGrpcService.Json(key, "properties")).Message.ShouldContain("NUL");
        Should.Throw<Exception>(() => IngestGrpcService.Json(value, "context")).Message.ShouldContain("NUL");
    }

    [Fact]
    public async Task A_NUL_in_an_account_id_is_not_found_and_in_a_filter_or_user_id_is_a_400_not_a_500()
    {
        var queries = fixture.Service<PortfolioQueries>();
        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);

        (await queries.GetAsync("acme", "a\0b", Ct)).ShouldBeNull();
        (await queries.HistoryAsync("acme", "a\0b", null, null, Ct)).ShouldBeNull();
        (await fixture.Service<HealthScoring.Api.Alerts.AlertService>().SetSnoozeAsync("acme", "a\0b", new DateOnly(2099, 1, 1), null, Ct)).ShouldBeFalse();
        var filtered = await client.GetAsync("/v1/accounts?q=a%00b", Ct);
        filtered.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await filtered.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").TryGetProperty("q", out _).ShouldBeTrue();
        (await client.PostAsJsonAsync("/v1/privacy/erase-user", new { userId = "u\0" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/v1/accounts/{id}/usage?to=0001-01-01", "to")]
    [InlineData("/v1/accounts/{id}/billing?from=9999-12-31", "from")]
    [InlineData("/v1/analytics/cohorts?asOf=0001-01-01", "asOf")]
    [InlineData("/v1/analytics/adoption?asOf=9999-12-31", "asOf")]
    [InlineData("/v1/reports/usage-billing?asOf=0001-01-01", "asOf")]
    public async Task A_date_at_the_calendars_end_is_a_400_naming_the_field_not_a_500(string template, string field)
    {
        var account = $"acct-{Guid.NewGuid():N}";
        using var writer = fixture.Client(fixture.AcmeWriteKey);
        (await writer.PostAsJsonAsync("/v1/group", new { messageId = $"g-{account}", userId = "u", groupId = account }, Ct)).EnsureSuccessStatusCode();
        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);

        var response = await client.GetAsync(template.Replace("{id}", account, StringComparison.Ordinal), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("field").GetString().ShouldBe(field);
    }

    [Theory]
    [InlineData("not utf-8")]
    [InlineData("nul")]
    public async Task A_signed_webhook_body_that_cannot_be_stored_is_a_400_not_a_500(string what)
    {
        var text = $$"""{"id":"evt_{{Guid.NewGuid():N}}","object":"event","type":"customer.created","created":1763700000,"data":{"object":{"id":"cus_1","object":"customer","name":"NAME","metadata":{"account_id":"a"} } } }""";
        var body = what == "nul"
            ? Encoding.UTF8.GetBytes(text.Replace("NAME", "\\u0000", StringComparison.Ordinal))
            : [.. Encoding.UTF8.GetBytes(text[..40]), 0xFF, .. Encoding.UTF8.GetBytes(text[40..])];
        using var client = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe/acme") { Content = new ByteArrayContent(body) };
        request.Headers.Add(StripeWebhookSignature.HeaderName, StripeWebhookSignature.Sign(body, Secret, DateTimeOffset.UtcNow));

        var response = await client.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("title").GetString().ShouldBe("Not a Stripe event");
    }

    [Theory]
    [InlineData("percent-encoded NUL")]
    [InlineData("too many fields")]
    [InlineData("value over the form limit")]
    [InlineData("broken multipart")]
    public async Task An_unreadable_sign_in_form_is_a_400_not_a_500(string what)
    {
        using var client = fixture.Client();
        HttpContent content = what switch
        {
            "percent-encoded NUL" => new StringContent("tenant=a%00b&email=x&password=y", Encoding.UTF8, "application/x-www-form-urlencoded"),
            "too many fields" => new StringContent(string.Join('&', Enumerable.Range(0, 2_000).Select(i => $"f{i}=x")), Encoding.UTF8, "application/x-www-form-urlencoded"),
            "value over the form limit" => new StringContent("password=" + new string('p', 5_000_000), Encoding.UTF8, "application/x-www-form-urlencoded"),
            _ => new StringContent("--x\r\nContent-Disposition: form-data; name=\"tenant\"\r\n\r\nacme\r\n--x", Encoding.UTF8),
        };
        if (what == "broken multipart")
        {
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        }

        var response = await client.PostAsync("/dashboard/sign-in", content, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task A_sign_in_with_a_key_and_a_JSON_body_is_a_415_not_a_500()
    {
        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);

        var response = await client.PostAsJsonAsync("/dashboard/sign-in", new { tenant = "acme" }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_taxonomy_with_a_null_item_is_a_400_not_a_500()
    {
        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);

        var response = await client.PutAsync("/v1/taxonomy", new StringContent("[null]", Encoding.UTF8, "application/json"), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}

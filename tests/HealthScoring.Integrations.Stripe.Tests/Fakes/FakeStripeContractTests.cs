using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HealthScoring.Testing.Fakes.Stripe;

namespace HealthScoring.Integrations.Stripe.Tests.Fakes;

/// <summary>The fake holds clients to Stripe's contract, so a client that passes against it follows the contract.</summary>
public sealed class FakeStripeContractTests : IAsyncLifetime
{
    private readonly FakeStripe _fake = new();
    private readonly HttpClient _http = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _fake.StartAsync(Ct);
        _http.BaseAddress = _fake.BaseAddress;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _fake.DisposeAsync();
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string? form = null, string? idempotencyKey = null, bool auth = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (auth)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fake.SecretKey);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (form is not null)
        {
            request.Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");
        }

        return request;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            var response = await _http.SendAsync(request, Ct);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
            return (response.StatusCode, body, response);
        }
    }

    private static string ErrorField(JsonElement body, string name) => body.GetProperty("error").GetProperty(name).GetString()!;

    [Fact]
    public async Task Requests_without_the_key_are_401_and_Basic_auth_with_the_key_as_user_is_accepted()
    {
        var (status, body, _) = await SendAsync(Request(HttpMethod.Get, "/v1/customers", auth: false));
        status.ShouldBe(HttpStatusCode.Unauthorized);
        ErrorField(body, "type").ShouldBe("invalid_request_error");

        var basic = Request(HttpMethod.Get, "/v1/customers", auth: false);
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_fake.SecretKey + ":")));
        (await SendAsync(basic)).Status.ShouldBe(HttpStatusCode.OK);

        var wrong = Request(HttpMethod.Get, "/v1/customers", auth: false);
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_not_the_key");
        (await SendAsync(wrong)).Status.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_JSON_body_is_refused_because_Stripe_takes_forms()
    {
        var customer = _fake.AddCustomer();
        var request = Request(HttpMethod.Post, $"/v1/customers/{customer}");
        request.Content = new StringContent("""{"metadata":{"a":"b"}}""", Encoding.UTF8, "application/json");

        var (status, body, _) = await SendAsync(request);

        status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(body, "message").ShouldContain("x-www-form-urlencoded");
    }

    [Theory]
    [InlineData("/v1/customers?limit=101", "limit")]
    [InlineData("/v1/customers?limit=0", "limit")]
    [InlineData("/v1/customers?colour=red", "colour")]
    [InlineData("/v1/subscriptions?status=happy", "status")]
    [InlineData("/v1/customers?starting_after=cus_x&ending_before=cus_y", "ending_before")]
    [InlineData("/v1/events?ending_before=evt_gone", "ending_before")]
    public async Task Bad_list_parameters_are_400_naming_the_param(string path, string param)
    {
        var (status, body, _) = await SendAsync(Request(HttpMethod.Get, path));

        status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(body, "param").ShouldBe(param);
        ErrorField(body, "type").ShouldBe("invalid_request_error");
    }

    [Fact]
    public async Task Metadata_keys_with_brackets_or_over_40_characters_are_refused()
    {
        var customer = _fake.AddCustomer();

        var (status, body, _) = await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", $"metadata[{new string('k', 41)}]=v"));

        status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(body, "param").ShouldStartWith("metadata[");
    }

    [Fact]
    public async Task The_same_idempotency_key_replays_the_first_response_and_a_different_body_is_an_idempotency_error()
    {
        var customer = _fake.AddCustomer();
        var first = await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", "metadata[health_score]=10", "key-1"));
        await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", "metadata[health_score]=20", "key-2"));

        var replay = await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", "metadata[health_score]=10", "key-1"));
        var clash = await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", "metadata[health_score]=30", "key-1"));

        replay.Status.ShouldBe(HttpStatusCode.OK);
        replay.Response.Headers.GetValues("Idempotent-Replayed").ShouldBe(["true"]);
        replay.Body.GetRawText().ShouldBe(first.Body.GetRawText());
        _fake.CustomerMetadata(customer)["health_score"].ShouldBe("20", "a replay does not execute again");
        clash.Status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(clash.Body, "type").ShouldBe("idempotency_error");
    }

    [Fact]
    public async Task A_metadata_change_is_recorded_as_a_customer_updated_event_with_previous_attributes()
    {
        var customer = _fake.AddCustomer(new Dictionary<string, string> { ["account_id"] = "acme" });

        await SendAsync(Request(HttpMethod.Post, $"/v1/customers/{customer}", "metadata[health_score]=55", "k"));
        var (_, events, _) = await SendAsync(Request(HttpMethod.Get, "/v1/events?type=customer.*"));

        var parsed = StripeEventParser.Parse(events.GetProperty("data")[0]).ShouldBeOfType<ParsedStripeEvent>();
        var fact = parsed.Fact.ShouldBeOfType<CustomerUpdated>();
        fact.Metadata["health_score"].ShouldBe("55");
        var previous = fact.PreviousMetadata.ShouldNotBeNull();
        previous.ContainsKey("health_score").ShouldBeTrue();
        previous["health_score"].ShouldBeNull("the key did not exist before");
    }

    [Fact]
    public async Task Meter_events_are_checked_and_stored_once_per_identifier()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var form = $"event_name=api_calls&payload[stripe_customer_id]=cus_1&payload[value]=5&timestamp={now}&identifier=t:a:2026-11-20";

        (await SendAsync(Request(HttpMethod.Post, "/v1/billing/meter_events", form, "k1"))).Status.ShouldBe(HttpStatusCode.OK);
        var again = await SendAsync(Request(HttpMethod.Post, "/v1/billing/meter_events", form.Replace("value]=5", "value]=7", StringComparison.Ordinal), "k2"));
        var old = await SendAsync(Request(HttpMethod.Post, "/v1/billing/meter_events", $"event_name=api_calls&payload[stripe_customer_id]=cus_1&payload[value]=5&timestamp={now - (36 * 86_400)}", "k3"));
        var fractional = await SendAsync(Request(HttpMethod.Post, "/v1/billing/meter_events", "event_name=api_calls&payload[stripe_customer_id]=cus_1&payload[value]=1.5", "k4"));

        again.Status.ShouldBe(HttpStatusCode.OK);
        again.Body.GetProperty("payload").GetProperty("value").GetString().ShouldBe("5", "Stripe keeps the first event with an identifier");
        _fake.MeterEvents.ShouldHaveSingleItem().Value.ShouldBe(5);
        old.Status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(old.Body, "param").ShouldBe("timestamp");
        fractional.Status.ShouldBe(HttpStatusCode.BadRequest);
        ErrorField(fractional.Body, "param").ShouldBe("payload[value]");
    }
}

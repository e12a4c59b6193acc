using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;

namespace HealthScoring.Api.Tests.Billing;

public sealed class StripeWebhookTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Secret = "whsec_test_0123456789abcdef";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IEventStore Store => fixture.Service<IEventStore>();

    public async ValueTask InitializeAsync() => await fixture.Service<StripeSettingsStore>().SetAsync("acme", Secret, null, Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_correctly_signed_event_is_stored_on_the_linked_accounts_stream()
    {
        var (customer, account) = (NewId("cus"), NewId("acct"));
        var linked = await PostAsync(CustomerCreated(customer, account));
        var failed = await PostAsync(PaymentFailed(customer));

        linked.StatusCode.ShouldBe(HttpStatusCode.OK, await linked.Content.ReadAsStringAsync(Ct));
        failed.StatusCode.ShouldBe(HttpStatusCode.OK);
        var stream = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        stream.Select(e => e.Data?.GetType()).ShouldBe([typeof(CustomerCreated), typeof(InvoicePaymentFailed)]);
        var payment = stream[1].Data.ShouldBeOfType<InvoicePaymentFailed>();
        payment.CustomerId.ShouldBe(customer);
        payment.AmountDueMinor.ShouldBeGreaterThan(0);
        stream[1].Metadata.Source.ShouldBe("stripe-webhook");
    }

    [Fact]
    public async Task A_wrong_secret_a_tampered_body_and_a_stale_timestamp_are_rejected_and_store_nothing()
    {
        var (customer, account) = (NewId("cus"), NewId("acct"));
        var body = CustomerCreated(customer, account);
        var tampered = body.Replace(account, account + "x", StringComparison.Ordinal);

        var wrongSecret = await PostAsync(body, secret: "whsec_not_the_one");
        var tamperedBody = await PostAsync(tampered, signedBody: body);
        var stale = await PostAsync(body, at: DateTimeOffset.UtcNow.AddSeconds(-301));
        var unsigned = await PostAsync(body, sign: false);
        var unknownTenant = await PostAsync(body, tenant: "no-such-tenant");

        foreach (var response in new[] { wrongSecret, tamperedBody, stale, unsigned, unknownTenant })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await response.Content.ReadAsStringAsync(Ct)).ShouldNotContain(Secret);
        }

        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account + "x"), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task The_same_event_by_webhook_and_by_import_is_stored_once()
    {
        var (customer, account) = (NewId("cus"), NewId("acct"));
        var body = CustomerCreated(customer, account);

        (await PostAsync(body)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var imported = await fixture.Service<BillingIngestion>().IngestAsync("acme", [StripeEventParser.Parse(body)], "import", Ct);
        var again = await (await PostAsync(body)).Content.ReadFromJsonAsync<JsonObject>(Ct);

        imported.Stored.ShouldBe(0);
        imported.Duplicates.ShouldBe(1);
        again!["duplicate"]!.GetValue<bool>().ShouldBeTrue();
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
    }

    [Fact]
    public async Task Events_of_a_customer_not_yet_linked_wait_and_reach_the_account_once_linked()
    {
        var (customer, account) = (NewId("cus"), NewId("acct"));

        var early = await fixture.Service<BillingIngestion>().IngestAsync("acme", [StripeEventParser.Parse(PaymentFailed(customer))], "import", Ct);
        early.Unlinked.ShouldBe(1);
        (await PostAsync(CustomerCreated(customer, account))).StatusCode.ShouldBe(HttpStatusCode.OK);

        var stream = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        stream.Select(e => e.Data?.GetType()).ShouldBe([typeof(CustomerCreated), typeof(InvoicePaymentFailed)]);
        stream[1].Metadata.Source.ShouldBe(Attribution.Source);
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string secret = Secret, string? signedBody = null, DateTimeOffset? at = null, bool sign = true, string tenant = "acme")
    {
        using var client = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/stripe/{tenant}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (sign)
        {
            request.Headers.Add(StripeWebhookSignature.HeaderName, StripeWebhookSignature.Sign(Encoding.UTF8.GetBytes(signedBody ?? body), secret, at ?? DateTimeOffset.UtcNow));
        }

        return await client.SendAsync(request, Ct);
    }

    private static string CustomerCreated(string customer, string account)
    {
        var e = Fixture("customer.created.basil.json");
        e["id"] = NewId("evt");
        e["data"]!["object"]!["id"] = customer;
        e["data"]!["object"]!["metadata"] = new JsonObject { ["account_id"] = account };
        return e.ToJsonString();
    }

    private static string PaymentFailed(string customer)
    {
        var e = Fixture("invoice.payment_failed.basil.json");
        e["id"] = NewId("evt");
        e["data"]!["object"]!["customer"] = customer;
        return e.ToJsonString();
    }

    private static JsonNode Fixture(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Billing", "StripeFixtures", name)))!;

    private static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}";
}

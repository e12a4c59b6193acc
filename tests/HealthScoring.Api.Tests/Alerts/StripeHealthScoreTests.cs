using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Integrations.Stripe.Sync;
using HealthScoring.Testing;
using HealthScoring.Testing.Fakes.Stripe;
using Microsoft.AspNetCore.Hosting;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host with its bus on its own vhost and Stripe pointed at the fake.</summary>
public sealed class StripeApiFixture : ApiFixture
{
    public RabbitMqVhost Vhost { get; private set; } = null!;

    public FakeStripe Stripe { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Vhost = await RabbitMqVhost.CreateAsync();
        Stripe = new FakeStripe();
        await Stripe.StartAsync();
        await base.InitializeAsync();
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("RabbitMq:VirtualHost", Vhost.Name);
        web.UseSetting("Stripe:BaseUrl", Stripe.BaseAddress.ToString());
        web.UseSetting("Stripe:SecretKey", Stripe.SecretKey);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Stripe.DisposeAsync();
        await Vhost.DisposeAsync();
    }
}

public sealed class StripeHealthScoreTests(StripeApiFixture fixture) : IClassFixture<StripeApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_score_lands_in_the_linked_customers_metadata_and_an_account_without_a_customer_is_skipped()
    {
        // The customer names our account in its metadata; the sync (billing ingestion) records the link.
        var account = $"acc-{Guid.NewGuid():N}"[..16];
        var customer = fixture.Stripe.AddCustomer(new Dictionary<string, string> { ["account_id"] = account });
        await fixture.Service<StripeSync>().RunAsync("acme", cancellationToken: Ct);
        var other = $"nocus-{Guid.NewGuid():N}"[..16];

        var store = fixture.Service<IEventStore>();
        var asOf = new DateOnly(2026, 9, 1);
        await store.AppendToStreamAsync("acme", IngestionPipeline.AccountStream(other), ExpectedVersion.Any, [Scored(asOf, 80, "healthy")], Ct);
        var scored = Scored(asOf, 24, "at-risk");
        await store.AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.Any, [scored], Ct);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (fixture.Stripe.CustomerMetadata(customer).GetValueOrDefault(StripeHealthScoreExtensions.BandKey) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
        }

        var metadata = fixture.Stripe.CustomerMetadata(customer);
        metadata[StripeHealthScoreExtensions.ScoreKey].ShouldBe("24");
        metadata[StripeHealthScoreExtensions.BandKey].ShouldBe("at-risk");
        metadata["account_id"].ShouldBe(account, "Stripe merges: the link stays");

        // One write, keyed on the stored event's id, so a redelivery would replay it rather than write again.
        await Task.Delay(1000, Ct);
        // (The error-queue test's deleted customer, cus_gone…, is that test's own.)
        var writes = fixture.Stripe.Requests.Where(r => r.Method == "POST" && r.Path.StartsWith("/v1/customers/", StringComparison.Ordinal) && !r.Path.StartsWith("/v1/customers/cus_gone", StringComparison.Ordinal)).ToList();
        writes.ShouldHaveSingleItem().Path.ShouldBe($"/v1/customers/{customer}");
        writes[0].IdempotencyKey.ShouldBe(StripeIdempotencyKeys.For("health-score", scored.EventId.ToString("N"), customer));
    }

    [Fact]
    public async Task A_score_stripe_refuses_lands_in_the_error_queue_with_the_exception_type_and_message()
    {
        // The account was linked to a customer that has since been deleted in Stripe: every attempt gets a 404.
        var account = $"gone-{Guid.NewGuid():N}"[..16];
        var customer = $"cus_gone{Guid.NewGuid():N}"[..20];
        await using (var link = fixture.DataSource.CreateCommand($"insert into {fixture.Schema}.stripe_customers (tenant_id, customer_id, account_id) values ('acme', $1, $2)"))
        {
            link.Parameters.AddWithValue(customer);
            link.Parameters.AddWithValue(account);
            await link.ExecuteNonQueryAsync(Ct);
        }

        var scored = Scored(new DateOnly(2026, 9, 2), 31, "at-risk");
        await fixture.Service<IEventStore>().AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.Any, [scored], Ct);

        var faulted = new List<(IReadOnlyDictionary<string, string> Headers, string Body)>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!faulted.Any(m => m.Body.Contains(account, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500, Ct);
            faulted.AddRange(await fixture.Vhost.GetMessagesAsync("stripe-health-scores_error", 10, Ct));
        }

        var (headers, body) = faulted.Single(m => m.Body.Contains(account, StringComparison.Ordinal));
        headers["MT-Fault-ExceptionType"].ShouldBe(typeof(StripeApiException).FullName);
        headers["MT-Fault-Message"].ShouldContain(customer, Case.Sensitive, "Stripe's own words say which customer");
        headers["MT-Reason"].ShouldBe("fault");
        body.ShouldContain(scored.EventId.ToString(), Case.Insensitive, "the message itself is kept, with its id");
    }

    private static NewEvent Scored(DateOnly asOf, int score, string band) =>
        new(Guid.NewGuid(), new AccountHealthScored(asOf, score, band, 1 - (score / 100.0), null, 1, null, null, [], [], new Dictionary<string, double>()));
}

using HealthScoring.Contracts.Messages;
using HealthScoring.Integrations.Stripe.Client;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.Stripe.Consumers;

/// <summary>Which Stripe customer an account is (the host resolves it from what billing ingestion linked).</summary>
public interface IStripeCustomerResolver
{
    /// <summary>The account's Stripe customer id (<c>cus_…</c>), or null when the account has none.</summary>
    Task<string?> CustomerOfAsync(string tenantId, string accountId, CancellationToken cancellationToken);
}

/// <summary>
/// Score → the Stripe customer's metadata (<c>health_score</c>, <c>health_band</c>). Thin: the idempotency key comes
/// from the message id (the stored event's id), so a redelivered score replays Stripe's first answer instead of
/// writing again. Accounts without a Stripe customer are skipped.
/// </summary>
public sealed partial class StripeHealthScoreConsumer(IStripeClient stripe, IStripeCustomerResolver customers, ILogger<StripeHealthScoreConsumer> logger) : IConsumer<AccountHealthScored>
{
    public async Task Consume(ConsumeContext<AccountHealthScored> context)
    {
        var m = context.Message;
        if (await customers.CustomerOfAsync(m.TenantId, m.AccountId, context.CancellationToken) is not { } customer)
        {
            LogNoCustomer(logger, m.TenantId, m.AccountId);
            return;
        }

        var operation = context.MessageId?.ToString("N") ?? $"{m.TenantId}/{m.AccountId}/{m.AsOf:yyyy-MM-dd}/{m.ScoredAt.ToUnixTimeMilliseconds()}";
        await stripe.UpdateHealthScoreAsync(customer, m.HealthScore, m.Band, operation, context.CancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No Stripe customer for account {AccountId} of tenant {TenantId}; its health score is not written to Stripe")]
    private static partial void LogNoCustomer(ILogger logger, string tenantId, string accountId);
}

/// <summary>
/// The client already retries 429 / 5xx / timeouts within a call; these retries cover a longer Stripe spell, then
/// the retries below; after that the message goes to <c>stripe-health-scores_error</c> with the reason.
/// </summary>
public sealed class StripeHealthScoreConsumerDefinition : ConsumerDefinition<StripeHealthScoreConsumer>
{
    public StripeHealthScoreConsumerDefinition()
    {
        EndpointName = "stripe-health-scores";
        // Stripe allows about 100 writes per second in live mode; a few at a time keeps well under that.
        ConcurrentMessageLimit = 4;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StripeHealthScoreConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // In-consumer retries over about ten minutes, not delayed redelivery: on RabbitMQ that needs the
        // delayed-message-exchange plugin, which Debian's rabbitmq-server does not ship.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Intervals(
                TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30),
                TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5));
            IgnorePermanent(r);
        });
    }

    // A request Stripe refuses as invalid (400, a customer deleted since it was linked) fails the same way every
    // time: it goes straight to the error queue, with Stripe's message as the reason.
    private static void IgnorePermanent(IRetryConfigurator retry)
    {
        retry.Ignore<StripeApiException>(ex => ex.StatusCode is >= 400 and < 500 and not 409 and not 429);
        retry.Ignore<ArgumentException>();
    }
}

/// <summary>Registers the Stripe consumers on a bus (only when the integration has a key).</summary>
public static class StripeConsumerRegistration
{
    public static void AddStripeConsumers(this IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<StripeHealthScoreConsumer, StripeHealthScoreConsumerDefinition>();
    }
}

using System.Globalization;
using HealthScoring.Contracts.Messages;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthScoring.Integrations.HubSpot.Consumers;

// Thin consumers: one message kind each, mapped to one client call. Retry and redelivery live in the definitions
// beside them; the client does the rate limiting, and task creation is idempotent per alert id, so a redelivered
// alert never makes a second task.

/// <summary>Scores → company properties, up to 100 per HubSpot batch call.</summary>
public sealed class AccountHealthScoredConsumer(IHubSpotClient hubSpot, HubSpotPropertySetup setup) : IConsumer<Batch<AccountHealthScored>>
{
    public async Task Consume(ConsumeContext<Batch<AccountHealthScored>> context)
    {
        await setup.EnsureAsync(context.CancellationToken);
        // The newest score per account wins when a batch holds several.
        var updates = context.Message
            .Select(m => m.Message)
            .GroupBy(m => (m.TenantId, m.AccountId))
            .Select(g => g.MaxBy(m => (m.AsOf, m.ScoredAt))!)
            .Select(ToUpdate)
            .ToList();
        await hubSpot.UpdateCompaniesAsync(updates, context.CancellationToken);
    }

    public static CompanyUpdate ToUpdate(AccountHealthScored m) => new(m.AccountId, m.HealthScore, Band(m.Band), m.ScoredAt)
    {
        ChurnRiskPercent = Math.Round(m.ChurnProbability * 100, 1),
        ExpansionLikelihoodPercent = m.ExpansionProbability is { } e ? Math.Round(e * 100, 1) : null,
        TopDrivers = [.. m.Drivers.Where(d => d.Contribution > 0).Take(3).Select(d => d.Text)],
    };

    private static HealthBand Band(string band) => band switch
    {
        "healthy" => HealthBand.Healthy,
        "watch" => HealthBand.Watch,
        _ => HealthBand.AtRisk,
    };
}

/// <summary>At-risk alert → a task for the company owner with the reasons.</summary>
public sealed class AccountBecameAtRiskConsumer(IHubSpotClient hubSpot) : IConsumer<AccountBecameAtRisk>
{
    public Task Consume(ConsumeContext<AccountBecameAtRisk> context)
    {
        var m = context.Message;
        return hubSpot.CreateTaskAsync(new TaskRequest(m.AlertId, m.AccountId,
            string.Create(CultureInfo.InvariantCulture, $"At risk: health {m.HealthScore}/100, churn risk {m.ChurnProbability:P0}"),
            [.. m.Drivers.Where(d => d.Contribution > 0).Select(d => d.Text)])
        {
            Summary = "HealthScoring flagged this account as at risk. Why:",
        }, context.CancellationToken);
    }
}

/// <summary>Expansion signal → a task for the company owner (sales).</summary>
public sealed class ExpansionSignalDetectedConsumer(IHubSpotClient hubSpot) : IConsumer<ExpansionSignalDetected>
{
    public Task Consume(ConsumeContext<ExpansionSignalDetected> context)
    {
        var m = context.Message;
        return hubSpot.CreateTaskAsync(new TaskRequest(m.AlertId, m.AccountId,
            string.Create(CultureInfo.InvariantCulture, $"Expansion signal: {m.ExpansionProbability:P0} likely to grow"),
            [.. m.Drivers.Where(d => d.Contribution > 0).Select(d => d.Text)])
        {
            Summary = "This account looks like it is outgrowing its plan. Signals:",
            Priority = HubSpotTaskPriority.Medium,
        }, context.CancellationToken);
    }
}

/// <summary>Retries (see <see cref="HubSpotRetries"/>): quick ones for blips, then longer waits for an outage (a HubSpot 429 window, a 5xx spell); after that the message goes to the error queue with the reason.</summary>
public sealed class AccountHealthScoredConsumerDefinition : ConsumerDefinition<AccountHealthScoredConsumer>
{
    public AccountHealthScoredConsumerDefinition()
    {
        EndpointName = "hubspot-company-scores";
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AccountHealthScoredConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 200;
        consumerConfigurator.Options<BatchOptions>(batch => batch.SetMessageLimit(100).SetTimeLimit(TimeSpan.FromMilliseconds(200)).SetConcurrencyLimit(1));
        HubSpotRetries.Configure(endpointConfigurator);
    }
}

public sealed class AccountBecameAtRiskConsumerDefinition : ConsumerDefinition<AccountBecameAtRiskConsumer>
{
    public AccountBecameAtRiskConsumerDefinition()
    {
        EndpointName = "hubspot-at-risk-tasks";
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AccountBecameAtRiskConsumer> consumerConfigurator, IRegistrationContext context) =>
        HubSpotRetries.Configure(endpointConfigurator);
}

public sealed class ExpansionSignalDetectedConsumerDefinition : ConsumerDefinition<ExpansionSignalDetectedConsumer>
{
    public ExpansionSignalDetectedConsumerDefinition()
    {
        EndpointName = "hubspot-expansion-tasks";
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ExpansionSignalDetectedConsumer> consumerConfigurator, IRegistrationContext context) =>
        HubSpotRetries.Configure(endpointConfigurator);
}

internal static class HubSpotRetries
{
    /// <summary>
    /// Retries in the consumer, stretched over about ten minutes to ride out a HubSpot outage (the client already
    /// retries single calls), then the <c>…_error</c> queue with the reason. Not delayed redelivery: on RabbitMQ that
    /// needs the delayed-message-exchange plugin, which Debian's rabbitmq-server does not ship. A message held here
    /// is still unacknowledged, so a crash hands it back to the broker.
    /// </summary>
    public static readonly TimeSpan[] Intervals =
    [
        TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15),
        TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5),
    ];

    public static void Configure(IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(r =>
        {
            r.Intervals(Intervals);
            r.Ignore<ArgumentException>();
        });
}

/// <summary>Creates our property group and company properties once per process, before the first update.</summary>
public sealed class HubSpotPropertySetup(IHubSpotClient hubSpot) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _done;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_done)
            {
                await hubSpot.EnsurePropertiesAsync(cancellationToken);
                _done = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}

/// <summary>Registers the HubSpot consumers on a bus (only when the integration has a token).</summary>
public static class HubSpotConsumerRegistration
{
    public static void AddHubSpotConsumers(this IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.TryAddSingleton<HubSpotPropertySetup>();
        bus.AddConsumer<AccountHealthScoredConsumer, AccountHealthScoredConsumerDefinition>();
        bus.AddConsumer<AccountBecameAtRiskConsumer, AccountBecameAtRiskConsumerDefinition>();
        bus.AddConsumer<ExpansionSignalDetectedConsumer, ExpansionSignalDetectedConsumerDefinition>();
    }
}

using HealthScoring.Integrations.HubSpot;
using HealthScoring.Integrations.Stripe.Client;

namespace HealthScoring.Api.Alerts;

/// <summary>
/// Says at start-up, one line per integration, whether HubSpot and Stripe are on: each status logs when it is
/// created, which would otherwise wait for the first use, and an integration that is off is never used.
/// </summary>
internal sealed class IntegrationStatusLog(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<HubSpotIntegrationStatus>();
        _ = services.GetRequiredService<StripeIntegrationStatus>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

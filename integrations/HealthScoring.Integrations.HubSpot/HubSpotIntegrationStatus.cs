using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// Whether the HubSpot integration is on (an access token is configured). Created once per process by the
/// container; creating it logs one line saying which, so an absent token is visible at the first use.
/// </summary>
public sealed class HubSpotIntegrationStatus
{
    public HubSpotIntegrationStatus(IOptions<HubSpotOptions> options, ILogger<HubSpotIntegrationStatus> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var settings = options.Value;
        IsEnabled = settings.IsEnabled;
        if (IsEnabled)
        {
            logger.LogInformation(
                "HubSpot integration is on: {BaseUrl}, at most {Burst} requests per 10 s, companies matched on {Property}.",
                settings.BaseUrl, settings.MaxRequestsPer10Seconds, settings.CompanyIdProperty);
        }
        else
        {
            logger.LogInformation(
                "HubSpot integration is off: no access token configured (set HubSpot:AccessToken or the HubSpot__AccessToken environment variable).");
        }
    }

    public bool IsEnabled { get; }
}

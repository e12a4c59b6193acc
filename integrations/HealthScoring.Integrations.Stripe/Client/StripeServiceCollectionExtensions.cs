using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthScoring.Integrations.Stripe.Client;

public static class StripeServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IStripeClient"/> as a typed <see cref="HttpClient"/> with <see cref="StripeOptions"/> bound
    /// from the <c>Stripe</c> section (<c>Stripe__SecretKey</c> in the environment). Without a key the client is
    /// registered but off, and the first resolution logs that once. Header values are redacted from the
    /// HttpClientFactory's own logs.
    /// </summary>
    public static IHttpClientBuilder AddStripeClient(this IServiceCollection services, IConfiguration configuration, Action<StripeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = services.AddOptions<StripeOptions>().Configure(o => configuration.GetSection(StripeOptions.SectionName).Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<StripeIntegrationStatus>();
        return services
            .AddHttpClient<IStripeClient, StripeClient>((http, sp) =>
            {
                var status = sp.GetRequiredService<StripeIntegrationStatus>();
                return new StripeClient(http, status.Options, sp.GetService<ILogger<StripeClient>>());
            })
            // Each attempt has its own timeout (StripeOptions.RequestTimeout) inside the retry pipeline.
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .RedactLoggedHeaders(_ => true);
    }
}

/// <summary>Whether the Stripe integration is on; says so once in the log when it is first resolved.</summary>
public sealed class StripeIntegrationStatus
{
    public StripeIntegrationStatus(IOptions<StripeOptions> options, ILogger<StripeIntegrationStatus> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        Options = options.Value;
        if (Options.IsEnabled)
        {
            logger.LogInformation("Stripe integration is on ({BaseUrl}, API version {ApiVersion})", Options.BaseUrl, Options.ApiVersion);
        }
        else
        {
            logger.LogWarning("Stripe integration is off: no secret key is configured (set Stripe__SecretKey)");
        }
    }

    public StripeOptions Options { get; }

    public bool IsEnabled => Options.IsEnabled;
}

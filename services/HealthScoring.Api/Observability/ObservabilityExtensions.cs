using HealthScoring.Integrations.HubSpot;
using HealthScoring.Integrations.Stripe.Client;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthScoring.Api.Observability;

public static class ObservabilityExtensions
{
    /// <summary>The instruments (every process: the CLI's imports and scoring record into them too, unexported).</summary>
    public static IHostApplicationBuilder AddHealthScoringMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<HealthScoringMetrics>();
        return builder;
    }

    /// <summary>
    /// The web host's side: the Prometheus exporter and runtime gauges (listening from start-up), subscription lag,
    /// the scrape-token scheme and policy of <c>/metrics</c>, the integrations' call counting, and <c>requestId</c> in
    /// every problem. Call after the integrations' clients are registered, so that counting sits inside their retries.
    /// </summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        builder.AddHealthScoringMetrics();
        builder.Services.Configure<MetricsOptions>(builder.Configuration.GetSection(MetricsOptions.SectionName));
        builder.Services.AddSingleton<PrometheusExporter>();
        builder.Services.AddSingleton<RuntimeMetrics>();
        builder.Services.AddSingleton<SubscriptionLagMonitor>();
        builder.Services.AddHostedService<ListenFromStart>();
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ScrapeTokenAuthenticationHandler>(ScrapeTokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(MetricsEndpoint.Policy, policy => policy.AddAuthenticationSchemes(ScrapeTokenAuthenticationHandler.SchemeName).RequireAuthenticatedUser());

        // The typed clients' names are their types' names; these handlers join the end of each client's chain.
        builder.Services.AddHttpClient(nameof(HubSpotClient))
            .AddHttpMessageHandler(sp => new IntegrationCallMetricsHandler(sp.GetRequiredService<HealthScoringMetrics>(), "hubspot"));
        builder.Services.AddHttpClient(nameof(IStripeClient))
            .AddHttpMessageHandler(sp => new IntegrationCallMetricsHandler(sp.GetRequiredService<HealthScoringMetrics>(), "stripe"));

        builder.Services.Configure<ProblemDetailsOptions>(options =>
        {
            var earlier = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                earlier?.Invoke(context);
                if (context.HttpContext.Features.Get<CorrelationIdFeature>() is { } correlation)
                {
                    context.ProblemDetails.Extensions.TryAdd("requestId", correlation.Id);
                }
            };
        });
        return builder;
    }

    /// <summary>Correlation ids for every request; first in the pipeline, so that everything after logs under it.</summary>
    public static IApplicationBuilder UseCorrelationIds(this IApplicationBuilder app) => app.UseMiddleware<CorrelationIdMiddleware>();

    /// <summary>Creates the exporter and the runtime gauges when the host starts, so that counting begins then, not at the first scrape.</summary>
    private sealed class ListenFromStart(PrometheusExporter exporter, RuntimeMetrics runtime, HealthScoringMetrics metrics, SubscriptionLagMonitor lag) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive((exporter, runtime, metrics, lag));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

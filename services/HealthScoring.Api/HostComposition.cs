using HealthScoring.Integrations.HubSpot;
using HealthScoring.Integrations.HubSpot.Consumers;
using HealthScoring.Integrations.Stripe.Consumers;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Analytics;
using HealthScoring.Api.Dashboard;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Health;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Observability;
using HealthScoring.Api.Portfolio;
using HealthScoring.Api.Privacy;
using HealthScoring.Api.Resilience;

namespace HealthScoring.Api;

/// <summary>The web host's composition, shared by Program.cs and the tests that run it on a real socket.</summary>
public static class HostComposition
{
    public static WebApplicationBuilder AddHealthScoringHost(this WebApplicationBuilder builder)
    {
        // First: its hosted service stops last (see GracefulShutdown for the order of the whole shutdown).
        builder.AddGracefulShutdown();
        builder.Services.AddProblemDetails();
        builder.AddHealthScoringCore();
        builder.AddBackPressure();
        builder.AddAccountsProjection();
        builder.AddPortfolio();
        builder.AddAnalytics();
        builder.AddDashboard();
        // HubSpot is off (one log line) without HubSpot:AccessToken; alerts are still stored and shown.
        builder.Services.AddHubSpot(builder.Configuration);
        var hubSpotOn = !string.IsNullOrWhiteSpace(builder.Configuration["HubSpot:AccessToken"]);
        // Stripe likewise without Stripe:SecretKey (its client is registered by AddBilling, in the core).
        var stripeOn = !string.IsNullOrWhiteSpace(builder.Configuration["Stripe:SecretKey"]);
        builder.AddAlertPublishing(bus =>
        {
            if (hubSpotOn)
            {
                bus.AddHubSpotConsumers();
            }

            if (stripeOn)
            {
                bus.AddStripeConsumers();
            }
        });
        builder.Services.AddHostedService<IntegrationStatusLog>();
        builder.AddUsageMeteringSchedule();
        builder.ConfigureGrpcEndpoint();
        builder.Services.AddGrpcFraming(builder.Configuration);
        builder.AddReadinessChecks();
        builder.AddObservability();
        return builder;
    }

    public static WebApplication MapHealthScoringHost(this WebApplication app)
    {
        app.UseCorrelationIds();
        // A request the framework could not bind (malformed JSON, a body too large) is the caller's error, in
        // every environment: answer its status (400, 413) as problem details, not 500. A request refused for now
        // (rate limit, PostgreSQL unavailable) is answered 429 / 503 with Retry-After by RetryLaterExceptionHandler.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseDashboardSecurity();
        app.UseAuthorization();
        app.UseBackPressure();
        app.MapHealth();
        app.MapMetrics();
        app.MapSegmentIngestion();
        app.MapDataQuality();
        app.MapAccounts();
        app.MapAlertSnooze();
        app.MapPortfolio();
        app.MapAnalytics();
        app.MapDashboard();
        app.MapStripeWebhooks();
        app.MapPrivacy();
        app.MapIngestGrpc();
        app.MapGrpcUnimplementedFallback().AllowAnonymous();
        return app;
    }
}

using HealthScoring.Api.Accounts;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Observability;
using HealthScoring.Api.Privacy;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;

namespace HealthScoring.Api;

/// <summary>The services every process needs, the web host and the CLI alike: the store, tenancy, ingestion, billing, privacy.</summary>
public static class HealthScoringCore
{
    public static IHostApplicationBuilder AddHealthScoringCore(this IHostApplicationBuilder builder)
    {
        builder.AddHealthScoringEventStore(registry =>
        {
            IngestionEventTypes.Register(registry);
            BillingEventTypes.Register(registry);
            ScoringEventTypes.Register(registry);
            AlertEventTypes.Register(registry);
        });
        builder.AddHealthScoringMetrics();
        builder.AddTenancy();
        builder.AddIngestion();
        builder.AddBilling();
        builder.AddPrivacy();
        builder.AddAccounts();
        builder.AddScoring();
        builder.AddAlerts();
        return builder;
    }
}

using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Integrations.Stripe.Metering;
using HealthScoring.Integrations.Stripe.Sync;

namespace HealthScoring.Api.Billing;

public static class BillingExtensions
{
    public static IHostApplicationBuilder AddBilling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(BillingMigrations.Set);
        builder.Services.AddSingleton<StripeSettingsStore>();
        builder.Services.AddSingleton<BillingIngestion>();
        builder.Services.AddSingleton<HealthScoring.Integrations.Stripe.Consumers.IStripeCustomerResolver, StripeCustomerResolver>();

        // Outbound Stripe (sync, customer metadata, meter events): off, with one log line, without Stripe:SecretKey.
        builder.Services.AddStripeClient(builder.Configuration);
        builder.Services.AddSingleton<IStripeSyncCursorStore, PostgresStripeSyncCursorStore>();
        builder.Services.AddSingleton<IBillingFactSink, BillingIngestionSink>();
        builder.Services.AddSingleton(sp => new StripeSync(sp.GetRequiredService<IStripeClient>(), sp.GetRequiredService<IBillingFactSink>(), sp.GetRequiredService<IStripeSyncCursorStore>(), null, sp.GetRequiredService<ILogger<StripeSync>>()));
        builder.Services.Configure<MeteringOptions>(builder.Configuration.GetSection(MeteringOptions.SectionName));
        builder.Services.AddSingleton<IUsageBillingPolicy, ConfiguredUsageBillingPolicy>();
        builder.Services.AddSingleton(sp => new MeterReporter(sp.GetRequiredService<IStripeClient>(), sp.GetRequiredService<IUsageBillingPolicy>(), sp.GetRequiredService<ILogger<MeterReporter>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<UsageMetering>();
        return builder;
    }

    /// <summary>The host's hourly usage reporting to Stripe meters (it does nothing without a Stripe key or metered tenants).</summary>
    public static IHostApplicationBuilder AddUsageMeteringSchedule(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHostedService<UsageMeteringService>();
        return builder;
    }
}

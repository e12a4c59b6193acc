namespace HealthScoring.Api.Billing;

public static class BillingExtensions
{
    public static IHostApplicationBuilder AddBilling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(BillingMigrations.Set);
        builder.Services.AddSingleton<StripeSettingsStore>();
        builder.Services.AddSingleton<BillingIngestion>();
        return builder;
    }
}

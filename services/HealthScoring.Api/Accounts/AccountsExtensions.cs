using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;

namespace HealthScoring.Api.Accounts;

public static class AccountsExtensions
{
    /// <summary>The daily aggregates' tables, projection and reader (every process).</summary>
    public static IHostApplicationBuilder AddAccounts(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<FeatureOptions>(builder.Configuration.GetSection(FeatureOptions.SectionName));
        builder.Services.AddSingleton(AccountsMigrations.Set);
        builder.Services.AddSingleton<AccountDailyProjection>();
        builder.Services.AddSingleton<AccountHistoryReader>();
        builder.Services.AddSingleton<ProjectionRebuilder>();
        builder.Services.AddSingleton<UsageBillingReport>();
        return builder;
    }

    /// <summary>Runs the projection in the background (the web host): the aggregates follow the log.</summary>
    public static IHostApplicationBuilder AddAccountsProjection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddEventStoreSubscription<AccountDailyProjection>(new SubscriptionOptions { Name = AccountDailyProjection.SubscriptionName, BatchSize = 5_000 });
        return builder;
    }

    /// <summary>Finance's usage-versus-revenue report (API keys).</summary>
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder app) => UsageBillingReport.MapUsageBillingReport(app);
}

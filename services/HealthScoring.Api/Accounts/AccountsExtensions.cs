using HealthScoring.EventStore;

namespace HealthScoring.Api.Accounts;

public static class AccountsExtensions
{
    /// <summary>The daily aggregates' tables, projection and reader (every process).</summary>
    public static IHostApplicationBuilder AddAccounts(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<FeatureOptions>(builder.Configuration.GetSection(FeatureOptions.SectionName));
        builder.Services.AddOptions<AccountsOptions>().Bind(builder.Configuration.GetSection(AccountsOptions.SectionName))
            .Validate(o => o.ProjectionShareUnderIngest is > 0 and <= 1, "Accounts:ProjectionShareUnderIngest must be above 0 and at most 1.")
            .Validate(o => o.MaxLagUnderIngest > TimeSpan.Zero, "Accounts:MaxLagUnderIngest must be a positive time span, such as 00:02:00.").ValidateOnStart();
        builder.Services.AddSingleton(AccountsMigrations.Set);
        builder.Services.AddSingleton<AccountDailyProjection>();
        builder.Services.AddSingleton<AccountHistoryReader>();
        builder.Services.AddSingleton<ProjectionRebuilder>();
        builder.Services.AddSingleton<UsageBillingReport>();
        return builder;
    }

    /// <summary>The setting that keeps the projection out of this host (default true: it runs here).</summary>
    public const string RunProjectionKey = "Accounts:RunProjection";

    /// <summary>
    /// Runs the projection in the background (the web host): the aggregates follow the log. Operators who run it
    /// in another process (one host of several, or a dedicated one) set <see cref="RunProjectionKey"/> to false on
    /// ingest-only hosts; the subscription's lead makes only one process run it either way.
    /// </summary>
    public static IHostApplicationBuilder AddAccountsProjection(this IHostApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue(RunProjectionKey, new AccountsOptions().RunProjection))
        {
            return builder;
        }

        builder.Services.AddEventStoreSubscription<AccountDailyProjection>(AccountDailyProjection.SubscriptionOptions);
        return builder;
    }

    /// <summary>Finance's usage-versus-revenue report (API keys).</summary>
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder app) => UsageBillingReport.MapUsageBillingReport(app);
}

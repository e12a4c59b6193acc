namespace HealthScoring.Api.Alerts;

public static class AlertsExtensions
{
    public static IHostApplicationBuilder AddAlerts(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<AlertOptions>(builder.Configuration.GetSection(AlertOptions.SectionName));
        builder.Services.AddSingleton(AlertsMigrations.Set);
        builder.Services.AddSingleton<AlertService>();
        return builder;
    }
}

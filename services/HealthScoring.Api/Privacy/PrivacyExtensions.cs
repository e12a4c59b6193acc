namespace HealthScoring.Api.Privacy;

public static class PrivacyExtensions
{
    public static IHostApplicationBuilder AddPrivacy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(PrivacyMigrations.Set);
        builder.Services.AddSingleton<PersonalDataProtector>();
        builder.Services.AddSingleton<PrivacyService>();
        builder.Services.AddSingleton<RetentionService>();
        return builder;
    }
}

namespace HealthScoring.Api.Scoring;

public static class ScoringExtensions
{
    public static IHostApplicationBuilder AddScoring(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthScoreOptions>()
            .Bind(builder.Configuration.GetSection(HealthScoreOptions.SectionName))
            .Validate(o =>
            {
                o.Default.Validate();
                foreach (var profile in o.Tenants.Values.Concat(o.Segments.Values))
                {
                    profile.Validate();
                }

                return true;
            });
        builder.Services.AddSingleton(ScoringMigrations.Set);
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddSingleton<TrainingService>();
        builder.Services.AddSingleton<HealthScorer>();
        return builder;
    }
}

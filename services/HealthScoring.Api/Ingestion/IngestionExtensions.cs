namespace HealthScoring.Api.Ingestion;

public static class IngestionExtensions
{
    public static IHostApplicationBuilder AddIngestion(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<IngestionOptions>(builder.Configuration.GetSection(IngestionOptions.SectionName));
        builder.Services.AddSingleton(IngestionMigrations.Set);
        builder.Services.AddSingleton<IngestionPipeline>();
        builder.Services.AddSingleton<GroupCommitAppender>();
        builder.Services.AddSingleton<IngestPressure>();
        builder.Services.AddSingleton<EventTaxonomy>();
        builder.Services.AddSingleton<DataQualityReport>();
        builder.Services.AddSingleton<QualityCounters>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QualityCounters>());
        return builder;
    }
}

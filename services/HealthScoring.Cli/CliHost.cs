using HealthScoring.Api;
using HealthScoring.EventStore.Schema;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Cli;

/// <summary>
/// The services the web host has (store, tenancy, ingestion), composed for a command: same configuration keys,
/// defaults that reach what scripts/services.sh starts, the schema migrated before the command runs.
/// </summary>
internal static class CliHost
{
    /// <summary>Runs a command against the composed services, with the CLI's settings and its operator-facing errors.</summary>
    public static async Task<int> RunAsync(Func<IServiceProvider, CliSettings, Task<int>> action, CancellationToken cancellationToken)
    {
        var settings = CliSettings.Load();
        return await CliErrors.RunAsync(settings, async () =>
        {
            using var host = await StartAsync(settings, cancellationToken);
            return await action(host.Services, settings);
        });
    }

    public static async Task<IHost> StartAsync(CliSettings settings, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        // Environment variables configure everything (Ingestion__RetentionDays, ...); the store settings resolved by
        // CliSettings come last, and a command migrates explicitly below rather than through a hosted service.
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true).AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = settings.ConnectionString,
            ["EventStore:Schema"] = settings.EventStore.Schema,
            ["EventStore:MigrateOnStart"] = "false",
        });
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.AddHealthScoringCore();
        var host = builder.Build();
        await host.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(cancellationToken);
        return host;
    }
}

using HealthScoring.EventStore;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace HealthScoring.Cli;

/// <summary>
/// Connection settings for the CLI: appsettings.json beside the binary, then environment variables
/// (ConnectionStrings__EventStore, EventStore__Schema). The defaults reach what scripts/services.sh starts.
/// </summary>
internal sealed class CliSettings
{
    public required string ConnectionString { get; init; }

    public required EventStoreOptions EventStore { get; init; }

    public static CliSettings Load()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var port = Environment.GetEnvironmentVariable("HS_PG_PORT") ?? "55432";
        return new CliSettings
        {
            ConnectionString = configuration.GetConnectionString("EventStore")
                ?? $"Host=127.0.0.1;Port={port};Username=healthscoring;Password=healthscoring;Database=healthscoring",
            EventStore = configuration.GetSection(EventStoreOptions.SectionName).Get<EventStoreOptions>() ?? new EventStoreOptions(),
        };
    }

    /// <summary>The connection string without its password, for messages.</summary>
    public string Describe()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null };
        return $"{builder.Host}:{builder.Port}/{builder.Database} (schema {EventStore.Schema})";
    }
}

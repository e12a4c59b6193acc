using System.CommandLine;
using HealthScoring.EventStore.Schema;
using Npgsql;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore migrate</c>: creates or upgrades the event store schema.</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var command = new Command("migrate", "Create or upgrade the event store schema (safe to run at any time, from several processes at once).");
        command.SetAction(async (_, cancellationToken) =>
        {
            var settings = CliSettings.Load();
            await using var dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
            return await CliErrors.RunAsync(settings, async () =>
            {
                var applied = await new SchemaMigrator(dataSource, settings.EventStore).MigrateAsync(cancellationToken);
                AnsiConsole.MarkupLineInterpolated($"Schema [bold]{settings.EventStore.Schema}[/] on {settings.Describe()}: {applied} migration(s) applied, now at version {SchemaMigrator.EventStore.LatestVersion}.");
                return 0;
            });
        });
        return command;
    }
}

using System.CommandLine;
using HealthScoring.EventStore.Schema;
using Microsoft.Extensions.DependencyInjection;
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
            // CliHost migrates every module before a command runs; report where each one stands.
            return await CliHost.RunAsync(async (services, settings) =>
            {
                var migrator = services.GetRequiredService<SchemaMigrator>();
                var modules = string.Join(", ", migrator.Sets.Select(m => $"{m.Module} {m.LatestVersion}"));
                AnsiConsole.MarkupLineInterpolated($"Schema [bold]{settings.EventStore.Schema}[/] on {settings.Describe()} is up to date: {modules}.");
                return 0;
            }, cancellationToken);
        });
        return command;
    }
}

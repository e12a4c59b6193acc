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
            var settings = CliSettings.Load();
            return await CliErrors.RunAsync(settings, async () =>
            {
                // CliHost migrates every module before a command runs; report where each one stands.
                using var host = await CliHost.StartAsync(settings, cancellationToken);
                var migrator = host.Services.GetRequiredService<SchemaMigrator>();
                var modules = string.Join(", ", migrator.Sets.Select(m => $"{m.Module} {m.LatestVersion}"));
                AnsiConsole.MarkupLineInterpolated($"Schema [bold]{settings.EventStore.Schema}[/] on {settings.Describe()} is up to date: {modules}.");
                return 0;
            });
        });
        return command;
    }
}

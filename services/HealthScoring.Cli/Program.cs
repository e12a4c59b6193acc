using System.CommandLine;
using HealthScoring.Cli;
using HealthScoring.Cli.Demo;
using Spectre.Console;

if (Console.IsOutputRedirected)
{
    // Logs and files are not 80 columns wide and show escape codes as noise.
    AnsiConsole.Profile.Width = 160;
    AnsiConsole.Profile.Capabilities.Ansi = false;
}

var root = new RootCommand("healthscore: the HealthScoring operator's tool.");
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
return await root.Parse(args).InvokeAsync();

using System.CommandLine;
using HealthScoring.Cli;
using HealthScoring.Cli.Demo;
using HealthScoring.Cli.Generate;
using HealthScoring.Cli.Import;
using HealthScoring.Cli.Models;
using Spectre.Console;

if (Console.IsOutputRedirected)
{
    // Logs and files are not 80 columns wide and show escape codes as noise.
    AnsiConsole.Profile.Width = 160;
    AnsiConsole.Profile.Capabilities.Ansi = false;
}

var tenant = new Option<string>("--tenant") { Description = "The tenant (created on first use by the CLI, the local administrator's tool).", DefaultValueFactory = _ => "default" };
var root = new RootCommand("healthscore: the HealthScoring operator's tool.");
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(KeysCommand.Create(tenant));
root.Subcommands.Add(UsersCommand.Create(tenant));
var import = new Command("import", "Import events from files.");
import.Subcommands.Add(ImportEventsCommand.Create(tenant));
import.Subcommands.Add(ImportBillingCommand.Create(tenant));
root.Subcommands.Add(import);
root.Subcommands.Add(StripeCommand.Create(tenant));
root.Subcommands.Add(PrivacyCommand.Create(tenant));
root.Subcommands.Add(DataQualityCommands.Taxonomy(tenant));
root.Subcommands.Add(DataQualityCommands.Report(tenant));
root.Subcommands.Add(ProjectionsCommand.Create());
root.Subcommands.Add(TrainCommand.Create(tenant));
root.Subcommands.Add(ScoreCommand.Create(tenant));
root.Subcommands.Add(ModelCommand.Create(tenant));
root.Subcommands.Add(AlertsCommand.Create(tenant));
return await root.Parse(args).InvokeAsync();

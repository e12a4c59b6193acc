using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace HealthScoring.Cli.Generate;

/// <summary>
/// <c>healthscore generate --accounts N --months M --seed S --out DIR [--end DATE] [--tenant-name NAME]</c>: writes a
/// synthetic SaaS company's usage (Segment calls), billing (Stripe events), taxonomy and ground truth into DIR,
/// ready for <c>taxonomy declare</c>, <c>import events</c> and <c>import billing</c>. Needs no database.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var accounts = new Option<int>("--accounts") { Description = "Accounts (customers) to generate.", DefaultValueFactory = _ => 1_000 };
        var months = new Option<int>("--months") { Description = "Months of history, ending at --end.", DefaultValueFactory = _ => 6 };
        var seed = new Option<int>("--seed") { Description = "Seed: the same arguments give byte-identical files.", DefaultValueFactory = _ => 42 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory to write events.jsonl, billing.jsonl, taxonomy.json and accounts.csv into (created if missing).", Required = true };
        var end = new Option<DateOnly>("--end")
        {
            Description = "Last day of the history (yyyy-MM-dd, UTC). Default: yesterday, so that every event is in the past (ingestion rejects future events).",
            DefaultValueFactory = _ => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1),
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    return date;
                }

                result.AddError($"--end '{text}' is not a date like 2026-06-30.");
                return default;
            },
        };
        var tenantName = new Option<string>("--tenant-name") { Description = "Name of the SaaS company itself: its Stripe account and its account owners' email domain.", DefaultValueFactory = _ => "Orbit Projects" };
        accounts.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > SyntheticSaas.MaxAccounts)
            {
                result.AddError($"--accounts must be between 1 and {SyntheticSaas.MaxAccounts}.");
            }
        });
        months.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > SyntheticSaas.MaxMonths)
            {
                result.AddError($"--months must be between 1 and {SyntheticSaas.MaxMonths}.");
            }
        });

        var command = new Command("generate", "Generate a synthetic SaaS company's usage, billing, taxonomy and ground truth as files to import.")
        {
            accounts, months, seed, output, end, tenantName,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new SyntheticSaas.Options(parse.GetValue(accounts), parse.GetValue(months), parse.GetValue(seed), parse.GetValue(end), parse.GetValue(tenantName)!),
            parse.GetValue(output)!,
            cancellationToken));
        return command;
    }

    internal static async Task<int> RunAsync(SyntheticSaas.Options options, DirectoryInfo directory, CancellationToken cancellationToken)
    {
        SyntheticSaas generator;
        try
        {
            generator = new SyntheticSaas(options);
        }
        catch (ArgumentException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 2;
        }

        AnsiConsole.MarkupLineInterpolated(
            $"Generating [bold]{options.Accounts:N0}[/] accounts, {generator.Start:yyyy-MM-dd} to {options.End:yyyy-MM-dd} ({options.Months} month(s)), seed {options.Seed}, into [bold]{directory.FullName}[/]");
        if (options.End >= DateOnly.FromDateTime(DateTime.UtcNow))
        {
            AnsiConsole.MarkupLine("[yellow]warning:[/] --end is today or later: ingestion rejects events more than an hour in the future.");
        }

        SyntheticSaas.Summary summary;
        try
        {
            summary = await Progress.RunAsync("generating", generator.Days, "days", report => Task.Run(() => generator.Write(directory.FullName, report, cancellationToken), cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] cannot write into {directory.FullName}: {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }

        var files = new Table().Border(TableBorder.Rounded).AddColumns("file", "lines", "size");
        files.AddRow(SyntheticSaas.EventsFile, N(summary.EventLines), Size(directory, SyntheticSaas.EventsFile));
        files.AddRow(SyntheticSaas.BillingFile, N(summary.BillingLines), Size(directory, SyntheticSaas.BillingFile));
        files.AddRow(SyntheticSaas.TaxonomyFile, $"{summary.TaxonomyEvents} events", Size(directory, SyntheticSaas.TaxonomyFile));
        files.AddRow(SyntheticSaas.AccountsFile, $"{N(summary.Accounts)} accounts", Size(directory, SyntheticSaas.AccountsFile));
        AnsiConsole.Write(files);

        var outcomes = new Table().Border(TableBorder.Rounded).Title("Ground truth (accounts.csv)").AddColumns("scenario", "accounts");
        foreach (var (scenario, count) in summary.Scenarios)
        {
            outcomes.AddRow(scenario, N(count));
        }

        AnsiConsole.Write(outcomes);
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Churned within the history: {summary.Churned:N0} ({100.0 * summary.Churned / summary.Accounts:F1}%); expanded: {summary.Expanded:N0} ({100.0 * summary.Expanded / summary.Accounts:F1}%)."));
        AnsiConsole.WriteLine("Load it with:");
        AnsiConsole.WriteLine($"  healthscore taxonomy declare {Path.Combine(directory.FullName, SyntheticSaas.TaxonomyFile)}");
        AnsiConsole.WriteLine($"  healthscore import events {Path.Combine(directory.FullName, SyntheticSaas.EventsFile)}");
        AnsiConsole.WriteLine($"  healthscore import billing {Path.Combine(directory.FullName, SyntheticSaas.BillingFile)}");
        return 0;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Size(DirectoryInfo directory, string file) =>
        string.Create(CultureInfo.InvariantCulture, $"{new FileInfo(Path.Combine(directory.FullName, file)).Length / 1_048_576.0:N1} MB");
}

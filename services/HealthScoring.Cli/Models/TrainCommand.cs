using System.CommandLine;
using System.Globalization;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Scoring;
using HealthScoring.Models.Features;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Models;

/// <summary><c>healthscore train --as-of DATE</c>: snapshots, backtest, register, promote.</summary>
internal static class TrainCommand
{
    public static Command Create(Option<string> tenant)
    {
        var asOf = new Option<DateOnly>("--as-of") { Description = "Train on what was known before this date (YYYY-MM-DD).", Required = true };
        var horizon = new Option<int>("--horizon") { Description = "Days after a snapshot in which churn / expansion counts.", DefaultValueFactory = _ => 90 };
        var interval = new Option<int>("--interval") { Description = "Days between snapshots.", DefaultValueFactory = _ => 14 };
        var kind = new Option<string>("--kind") { Description = "churn, expansion or both.", DefaultValueFactory = _ => "both" };
        kind.AcceptOnlyFromAmong("churn", "expansion", "both");
        var promote = new Option<bool>("--promote") { Description = "Promote the new models even if their backtest is worse than the promoted ones'." };
        var command = new Command("train", "Train churn and expansion models on the tenant's history, backtest them, register and promote if better.") { tenant, asOf, horizon, interval, kind, promote };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var h = parse.GetValue(horizon);
            var every = parse.GetValue(interval);
            if (h is < 1 or > 730 || every is < 1 or > 365)
            {
                AnsiConsole.MarkupLine("[red]error:[/] --horizon must be 1..730 days and --interval 1..365 days.");
                return 2;
            }

            await ProjectionsCommand.CatchUpBeforeUseAsync(services.GetRequiredService<ProjectionRebuilder>(), ct);
            var targets = parse.GetValue(kind) switch
            {
                "churn" => new[] { TargetKind.Churn },
                "expansion" => [TargetKind.Expansion],
                _ => [TargetKind.Churn, TargetKind.Expansion],
            };
            var request = new TrainingRequest(parse.GetValue(tenant)!, parse.GetValue(asOf), h, every, parse.GetValue(promote));
            var outcomes = await services.GetRequiredService<TrainingService>().TrainAsync(request, targets, new Progress<(string Stage, double Fraction)>(p => Console.WriteLine($"  {p.Stage}")), ct);
            Print(outcomes);
            return outcomes.Any(o => o.Registered is not null) ? 0 : 1;
        }, ct));
        return command;
    }

    public static void Print(IReadOnlyList<TrainingOutcome> outcomes)
    {
        foreach (var outcome in outcomes)
        {
            var target = ModelRegistry.Name(outcome.Target);
            AnsiConsole.MarkupLineInterpolated($"[bold]{target}[/]: {outcome.Rows:N0} snapshots, {outcome.Positives:N0} positive ({(outcome.Rows == 0 ? 0 : (double)outcome.Positives / outcome.Rows):P1})");
            if (outcome.Candidates.Count > 0)
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "test dates", "rows", "ROC AUC", "PR AUC", "Brier", "log loss", "top-decile lift");
                foreach (var candidate in outcome.Candidates)
                {
                    var p = candidate.Backtest.Pooled;
                    var dates = string.Join(", ", candidate.Backtest.Periods.Where(x => x.Metrics is not null).Select(x => x.TestDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
                    table.AddRow(candidate.Algorithm, dates, p?.Count.ToString("N0", CultureInfo.InvariantCulture) ?? "-", F(p?.RocAuc), F(p?.PrAuc), F(p?.Brier), F(p?.LogLoss), p is null ? "-" : p.TopDecileLift.ToString("F2", CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(table);
                if (!outcome.LabelCleanBacktest)
                {
                    AnsiConsole.MarkupLine("[yellow]note:[/] history is too short for a label-clean backtest (training snapshots whose whole horizon ends before the test date); the backtest trained on every snapshot before each test date, so it may be optimistic.");
                }
            }

            if (outcome.Registered is { } model)
            {
                AnsiConsole.MarkupLineInterpolated($"backtest ROC AUC ({target}, {model.Algorithm}): {model.Metrics.BacktestRocAuc:F3}");
                AnsiConsole.MarkupLineInterpolated($"Registered {target} model v{model.Version} ({model.Algorithm}, calibrated). {outcome.Message}");
            }
            else
            {
                AnsiConsole.MarkupLineInterpolated($"[yellow]{outcome.Message}[/]");
            }
        }
    }

    private static string F(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "-";
}

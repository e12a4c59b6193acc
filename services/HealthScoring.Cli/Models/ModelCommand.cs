using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HealthScoring.Api.Scoring;
using HealthScoring.Models;
using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Features;
using HealthScoring.Models.Tabular;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Models;

/// <summary><c>healthscore model list|show|promote|evaluate-csv</c>.</summary>
internal static class ModelCommand
{
    public static Command Create(Option<string> tenant)
    {
        var command = new Command("model", "The model registry, and the trainers on any tabular file.");
        command.Subcommands.Add(List(tenant));
        command.Subcommands.Add(Show(tenant));
        command.Subcommands.Add(Promote(tenant));
        command.Subcommands.Add(EvaluateCsv());
        return command;
    }

    private static Option<string> TargetOption() => new Option<string>("--target") { Description = "churn or expansion.", DefaultValueFactory = _ => "churn" }.AcceptOnlyFromAmongFluent("churn", "expansion");

    private static Option<string> AcceptOnlyFromAmongFluent(this Option<string> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    private static TargetKind Target(string name) => name == "expansion" ? TargetKind.Expansion : TargetKind.Churn;

    private static Command List(Option<string> tenant)
    {
        var command = new Command("list", "Every registered model version.") { tenant };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var models = await services.GetRequiredService<ModelRegistry>().ListAsync(parse.GetValue(tenant)!, ct);
            if (models.Count == 0)
            {
                AnsiConsole.MarkupLineInterpolated($"No models for tenant {parse.GetValue(tenant)}. Train one: healthscore train --as-of YYYY-MM-DD");
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("target", "version", "algorithm", "promoted", "backtest AUC", "training window", "as of", "created");
            foreach (var m in models)
            {
                table.AddRow(ModelRegistry.Name(m.Target), $"v{m.Version}", m.Algorithm, m.IsPromoted ? "[green]yes[/]" : "", m.Metrics.BacktestRocAuc.ToString("F3", CultureInfo.InvariantCulture),
                    $"{m.TrainingFrom:yyyy-MM-dd} … {m.TrainingUntil:yyyy-MM-dd}", m.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), m.CreatedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));
        return command;
    }

    private static Command Show(Option<string> tenant)
    {
        var target = TargetOption();
        var version = new Argument<int?>("version") { Description = "The version (default: the promoted one).", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("show", "One model version: options, feature schema, metrics, backtest folds, calibration.") { version, target, tenant };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var registry = services.GetRequiredService<ModelRegistry>();
            var tenantId = parse.GetValue(tenant)!;
            var kind = Target(parse.GetValue(target)!);
            var model = parse.GetValue(version) is { } v ? await registry.GetAsync(tenantId, kind, v, ct) : (await registry.GetPromotedAsync(tenantId, kind, ct))?.Info;
            if (model is null)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] no such {parse.GetValue(target)} model for tenant {tenantId}; see healthscore model list");
                return 1;
            }

            AnsiConsole.MarkupLineInterpolated($"[bold]{ModelRegistry.Name(model.Target)} v{model.Version}[/] ({model.Algorithm}, format v{model.FormatVersion}){(model.IsPromoted ? " [green]promoted[/]" : "")}");
            AnsiConsole.WriteLine($"as of {model.AsOf:yyyy-MM-dd}, horizon {model.HorizonDays} days, snapshots {model.TrainingFrom:yyyy-MM-dd} … {model.TrainingUntil:yyyy-MM-dd}, {model.Metrics.TrainingRows:N0} rows ({model.Metrics.TrainingPositiveRate:P1} positive)");
            AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backtest ({model.Metrics.BacktestRows:N0} rows{(model.Metrics.LabelCleanBacktest ? "" : ", not label-clean")}): ROC AUC {model.Metrics.BacktestRocAuc:F3}, PR AUC {model.Metrics.BacktestPrAuc:F3}, Brier {model.Metrics.BacktestBrier:F4}, log loss {model.Metrics.BacktestLogLoss:F4}, top-decile lift {model.Metrics.BacktestTopDecileLift:F2}"));
            foreach (var fold in model.Metrics.Folds)
            {
                AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  test {fold.TestDate:yyyy-MM-dd}: train {fold.TrainRows:N0}, test {fold.TestRows:N0} ({fold.Positives} positive), AUC {fold.RocAuc:F3}"));
            }

            if (model.Metrics.Calibration is { Count: > 0 } bins)
            {
                var table = new Table().Border(TableBorder.Rounded).Title("calibration (backtest)").AddColumns("bin", "rows", "mean predicted", "observed");
                foreach (var bin in bins.Where(b => b.Count > 0))
                {
                    table.AddRow(string.Create(CultureInfo.InvariantCulture, $"{bin.Lower:F1}–{bin.Upper:F1}"), bin.Count.ToString(CultureInfo.InvariantCulture), bin.MeanPredicted.ToString("P1", CultureInfo.InvariantCulture), bin.ObservedRate.ToString("P1", CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(table);
            }

            AnsiConsole.WriteLine($"options: {model.Options.GetRawText()}");
            AnsiConsole.WriteLine($"features (schema v{model.Schema.Version}, {model.Schema.Columns.Count}): {string.Join(", ", model.Schema.Columns)}");
            return 0;
        }, ct));
        return command;
    }

    private static Command Promote(Option<string> tenant)
    {
        var target = TargetOption();
        var version = new Argument<int>("version") { Description = "The version to promote (promoting an older one is a rollback)." };
        var command = new Command("promote", "Make a version the one scoring uses.") { version, target, tenant };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var ok = await services.GetRequiredService<ModelRegistry>().PromoteAsync(parse.GetValue(tenant)!, Target(parse.GetValue(target)!), parse.GetValue(version), ct);
            if (!ok)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] there is no {parse.GetValue(target)} model v{parse.GetValue(version)}; see healthscore model list");
                return 1;
            }

            AnsiConsole.MarkupLineInterpolated($"Promoted {parse.GetValue(target)} model v{parse.GetValue(version)}.");
            return 0;
        }, ct));
        return command;
    }

    private static Command EvaluateCsv()
    {
        var file = new Argument<FileInfo>("file") { Description = "CSV with a header row, one row per account." };
        file.AcceptExistingOnly();
        var label = new Option<string>("--label") { Description = "The binary label column (Yes/No, True/False, 1/0).", Required = true };
        var id = new Option<string?>("--id") { Description = "An id column to leave out of the features." };
        var folds = new Option<int>("--folds") { Description = "Stratified folds.", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the folds and trainers.", DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "Print {\"models\":[{name, roc_auc, pr_auc, brier, log_loss, top_decile_lift}]} instead of a table." };
        var command = new Command("evaluate-csv", "Cross-validate the boosted trees and logistic regression on a tabular file (categoricals one-hot encoded, blanks missing).") { file, label, id, folds, seed, json };
        command.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            TabularDataset data;
            try
            {
                data = TabularCsv.Load(parse.GetValue(file)!.FullName, parse.GetValue(label)!, parse.GetValue(id));
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }

            var k = parse.GetValue(folds);
            if (k < 2 || k > data.Labels.Length)
            {
                Console.Error.WriteLine($"error: --folds must be between 2 and the number of rows ({data.Labels.Length}).");
                return 2;
            }

            var positives = data.Labels.Count(l => l);
            if (positives < k || data.Labels.Length - positives < k)
            {
                Console.Error.WriteLine($"error: each class needs at least {k} rows for {k} stratified folds ({positives} positive, {data.Labels.Length - positives} negative).");
                return 2;
            }

            if (!asJson)
            {
                Console.WriteLine($"{data.Labels.Length:N0} rows, {data.Features.Columns} features after encoding, {positives:N0} positive ({(double)positives / data.Labels.Length:P1}); {k}-fold stratified cross-validation");
            }

            var s = parse.GetValue(seed);
            var results = CrossValidation.Evaluate(
                [("gbdt", () => TabularTrainers.Trees(s)), ("logistic", () => TabularTrainers.Linear())],
                data.Features, data.Labels, k, s,
                asJson ? null : new Progress<CrossValidationProgress>(p => Console.WriteLine($"  {p.Model}: fold {p.Fold}/{p.Folds}")));
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    models = results.Select(r => new { name = r.Name, roc_auc = r.Pooled.RocAuc, pr_auc = r.Pooled.PrAuc, brier = r.Pooled.Brier, log_loss = r.Pooled.LogLoss, top_decile_lift = r.Pooled.TopDecileLift, mean_fold_roc_auc = r.MeanFoldAuc }),
                }));
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "ROC AUC (pooled)", "ROC AUC (fold mean ± sd)", "PR AUC", "Brier", "log loss", "top-decile lift");
            foreach (var r in results)
            {
                var c = CultureInfo.InvariantCulture;
                table.AddRow(r.Name, r.Pooled.RocAuc.ToString("F4", c), string.Create(c, $"{r.MeanFoldAuc:F4} ± {r.StdFoldAuc:F4}"), r.Pooled.PrAuc.ToString("F4", c), r.Pooled.Brier.ToString("F4", c), r.Pooled.LogLoss.ToString("F4", c), r.Pooled.TopDecileLift.ToString("F2", c));
            }

            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}

/// <summary>The trainers' settings for small tabular files (thousands of rows, tens of columns).</summary>
internal static class TabularTrainers
{
    public static IBinaryTrainer Trees(int seed) => new HealthScoring.Models.Trees.GradientBoostedTreesTrainer(new()
    {
        NumberOfTrees = 400,
        LearningRate = 0.02,
        MaxDepth = 3,
        MinSamplesPerLeaf = 40,
        L2 = 5.0,
        RowSubsample = 0.8,
        FeatureSubsample = 0.8,
        Seed = seed,
    });

    public static IBinaryTrainer Linear() => new HealthScoring.Models.Linear.LogisticRegressionTrainer(new() { C = 1.0 });
}

using System.CommandLine;
using System.Globalization;
using System.Text;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Models;

/// <summary><c>healthscore score --as-of DATE [--out scores.csv]</c>.</summary>
internal static class ScoreCommand
{
    public static Command Create(Option<string> tenant)
    {
        var asOf = new Option<DateOnly>("--as-of") { Description = "Score as of this date (YYYY-MM-DD); default today (UTC).", DefaultValueFactory = _ => DateOnly.FromDateTime(DateTime.UtcNow) };
        var output = new Option<FileInfo?>("--out") { Description = "Write the scores as CSV to this file." };
        var top = new Option<int>("--top") { Description = "How many at-risk and expansion accounts to print.", DefaultValueFactory = _ => 10 };
        var command = new Command("score", "Score every account active at a date with the promoted models; append each score to its account's history.") { tenant, asOf, output, top };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            await ProjectionsCommand.CatchUpBeforeUseAsync(services.GetRequiredService<ProjectionRebuilder>(), ct);
            ScoringRun run;
            try
            {
                run = await services.GetRequiredService<HealthScorer>().ScoreAsync(parse.GetValue(tenant)!, parse.GetValue(asOf), null, ct);
            }
            catch (NoPromotedModelException ex)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
                return 1;
            }

            AnsiConsole.MarkupLineInterpolated($"Scored {run.Scores.Count:N0} accounts as of {run.AsOf:yyyy-MM-dd} with churn model v{run.ChurnModel.Version}{(run.ExpansionModel is null ? " (no expansion model promoted)" : $" and expansion model v{run.ExpansionModel.Version}")}; {run.Appended:N0} new score events.");
            AnsiConsole.MarkupLineInterpolated($"Bands: {string.Join(", ", run.Scores.GroupBy(s => s.Band).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count():N0}"))}");
            AnsiConsole.MarkupLineInterpolated($"Alerts: {(run.Alerts.Count == 0 ? "none" : string.Join(", ", run.Alerts.GroupBy(a => a.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key.Replace('_', ' ')} {g.Count():N0}")))}");
            PrintTop(run.Scores, parse.GetValue(top));
            if (parse.GetValue(output) is { } file)
            {
                await WriteCsvAsync(file.FullName, run.Scores, ct);
                AnsiConsole.MarkupLineInterpolated($"Wrote {file.FullName}");
            }

            return 0;
        }, ct));
        return command;
    }

    public static void PrintTop(IReadOnlyList<AccountScore> scores, int count)
    {
        if (count <= 0)
        {
            return;
        }

        var risk = new Table().Border(TableBorder.Rounded).Title("Top at-risk accounts").AddColumns("account", "score", "band", "churn", "trend", "top drivers");
        foreach (var s in scores.OrderByDescending(s => s.ChurnProbability).Take(count))
        {
            risk.AddRow(Markup.Escape(s.AccountId), s.HealthScore.ToString(CultureInfo.InvariantCulture), s.Band, s.ChurnProbability.ToString("P0", CultureInfo.InvariantCulture), Trend(s), Markup.Escape(string.Join("; ", s.Drivers.Where(d => d.Contribution > 0).Take(3).Select(d => d.Text))));
        }

        AnsiConsole.Write(risk);
        if (scores.Any(s => s.ExpansionProbability is not null))
        {
            var expansion = new Table().Border(TableBorder.Rounded).Title("Top expansion accounts").AddColumns("account", "score", "expansion", "top drivers");
            foreach (var s in scores.OrderByDescending(s => s.ExpansionProbability).Take(count))
            {
                expansion.AddRow(Markup.Escape(s.AccountId), s.HealthScore.ToString(CultureInfo.InvariantCulture), s.ExpansionProbability!.Value.ToString("P0", CultureInfo.InvariantCulture), Markup.Escape(string.Join("; ", s.ExpansionDrivers.Where(d => d.Contribution > 0).Take(3).Select(d => d.Text))));
            }

            AnsiConsole.Write(expansion);
        }
    }

    private static string Trend(AccountScore s) => s.PreviousScore is { } p ? (s.HealthScore - p).ToString("+0;-0;0", CultureInfo.InvariantCulture) : "new";

    /// <summary>CSV columns: account_id, health_score, band, churn_probability, expansion_probability, top_drivers.</summary>
    public static async Task WriteCsvAsync(string path, IReadOnlyList<AccountScore> scores, CancellationToken ct)
    {
        var csv = new StringBuilder("account_id,health_score,band,churn_probability,expansion_probability,top_drivers\n");
        foreach (var s in scores.OrderBy(s => s.AccountId, StringComparer.Ordinal))
        {
            csv.Append(Escape(s.AccountId)).Append(',')
                .Append(s.HealthScore.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(s.Band).Append(',')
                .Append(s.ChurnProbability.ToString("0.####", CultureInfo.InvariantCulture)).Append(',')
                .Append(s.ExpansionProbability?.ToString("0.####", CultureInfo.InvariantCulture) ?? "").Append(',')
                .Append(Escape(string.Join("; ", s.Drivers.Select(d => $"{d.Text} ({(d.Contribution > 0 ? "+" : "-")})")))).Append('\n');
        }

        await File.WriteAllTextAsync(path, csv.ToString(), ct);
    }

    private static string Escape(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}

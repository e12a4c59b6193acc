using System.Globalization;
using Spectre.Console;

namespace HealthScoring.Benchmarks;

/// <summary>Prints results as a table (plain ASCII when stdout is redirected, so CI logs stay readable).</summary>
public static class ResultsTable
{
    public static void Write(IReadOnlyList<BenchmarkResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var table = new Table().Border(Console.IsOutputRedirected ? TableBorder.Ascii : TableBorder.Rounded);
        table.AddColumn("name");
        table.AddColumn(new TableColumn("value").RightAligned());
        table.AddColumn("unit");
        table.AddColumn("reference");
        table.AddColumn(new TableColumn("reference value").RightAligned());
        table.AddColumn(new TableColumn("ratio").RightAligned());
        foreach (var r in results)
        {
            table.AddRow(
                Markup.Escape(r.Name),
                Number(r.Value),
                Markup.Escape(r.Unit),
                Markup.Escape(r.Reference ?? "-"),
                r.ReferenceValue is { } rv ? Number(rv) : "-",
                r.Ratio is { } ratio ? ratio.ToString("F2", CultureInfo.InvariantCulture) : "-");
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
        });

        // Redirected output has no width to measure, and a narrow terminal would break names and numbers over
        // several lines: at least 120 columns keeps each row on one line (a narrow terminal wraps it whole).
        console.Profile.Width = Math.Max(console.Profile.Width, 120);

        console.Write(table);
    }

    // Figures below 1 (AUCs, their differences) need more than one decimal to say anything.
    private static string Number(double value) =>
        value.ToString(value >= 1000 ? "N0" : Math.Abs(value) < 1 ? "N4" : "N1", CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary>
/// Progress for long work: a live bar with rate and ETA on a terminal, and a plain line every 10% when output is
/// redirected (CI logs, files), so both read well.
/// </summary>
internal static class Progress
{
    public static async Task<T> RunAsync<T>(string description, long total, string unit, Func<Action<long>, Task<T>> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            T result = default!;
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(unit), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(description, maxValue: Math.Max(total, 1));
                    result = await work(done => task.Value = Math.Min(done, task.MaxValue));
                    task.Value = task.MaxValue;
                });
            return result;
        }

        var stopwatch = Stopwatch.StartNew();
        var nextTenth = 1;
        Console.WriteLine($"{description}: 0 / {total:N0} {unit}");
        var outcome = await work(done =>
        {
            if (total <= 0 || done * 10 < nextTenth * total)
            {
                return;
            }

            nextTenth = (int)(done * 10 / total) + 1;
            var rate = done / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-3);
            var eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : TimeSpan.Zero;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{description}: {done:N0} / {total:N0} {unit} ({100.0 * done / total:F0}%, {rate:N0} {unit}/s, ETA {eta:mm\\:ss})"));
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{description}: done in {stopwatch.Elapsed.TotalSeconds:F1} s"));
        return outcome;
    }

    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Speed ?? 0:N0} {unit}/s"));
    }
}

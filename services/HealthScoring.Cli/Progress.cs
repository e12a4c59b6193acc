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
    public static Task<T> RunAsync<T>(string description, long total, string unit, Func<Action<long>, Task<T>> work) =>
        RunAsync(description, total, unit, null, report => work(done => report(done, 0)));

    /// <summary>
    /// As <see cref="RunAsync{T}(string, long, string, Func{Action{long}, Task{T}})"/>, where the work also reports how
    /// many <paramref name="itemsUnit"/> (e.g. events) it has handled: the bar and the ETA follow <paramref name="unit"/>
    /// (e.g. a file's bytes, whose total is known up front), the rate shown is the items'.
    /// </summary>
    public static async Task<T> RunAsync<T>(string description, long total, string unit, string? itemsUnit, Func<Action<long, long>, Task<T>> work)
    {
        var items = new ItemCounter();
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            T result = default!;
            ProgressColumn rate = itemsUnit is null ? new RateColumn(unit) : new ItemRateColumn(itemsUnit, items);
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), rate, new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(description, maxValue: Math.Max(total, 1));
                    result = await work((done, handled) =>
                    {
                        items.Set(handled);
                        task.Value = Math.Min(done, task.MaxValue);
                    });
                    task.Value = task.MaxValue;
                });
            return result;
        }

        var nextTenth = 1;
        Console.WriteLine($"{description}: 0 / {total:N0} {unit}");
        var outcome = await work((done, handled) =>
        {
            items.Set(handled);
            if (total <= 0 || done * 10 < nextTenth * total)
            {
                return;
            }

            nextTenth = (int)(done * 10 / total) + 1;
            Console.WriteLine(PlainLine(description, done, total, unit, itemsUnit, items.Value, items.Elapsed));
        });
        var elapsed = items.Elapsed;
        Console.WriteLine(itemsUnit is null
            ? string.Create(CultureInfo.InvariantCulture, $"{description}: done in {elapsed.TotalSeconds:F1} s")
            : string.Create(CultureInfo.InvariantCulture, $"{description}: done in {elapsed.TotalSeconds:F1} s, {items.Value:N0} {itemsUnit} ({PerSecond(items.Value, elapsed):N0} {itemsUnit}/s)"));
        return outcome;
    }

    /// <summary>
    /// One line of progress where output is redirected: <paramref name="done"/> of <paramref name="total"/>
    /// <paramref name="unit"/>, the rate (of the items when <paramref name="itemsUnit"/> is given), and the ETA at
    /// the rate so far.
    /// </summary>
    internal static string PlainLine(string description, long done, long total, string unit, string? itemsUnit, long items, TimeSpan elapsed)
    {
        var rate = PerSecond(done, elapsed);
        var eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : TimeSpan.Zero;
        var speed = itemsUnit is null
            ? string.Create(CultureInfo.InvariantCulture, $"{rate:N0} {unit}/s")
            : string.Create(CultureInfo.InvariantCulture, $"{items:N0} {itemsUnit}, {PerSecond(items, elapsed):N0} {itemsUnit}/s");
        return string.Create(CultureInfo.InvariantCulture, $"{description}: {done:N0} / {total:N0} {unit} ({100.0 * done / total:F0}%, {speed}, ETA {eta:mm\\:ss})");
    }

    private static double PerSecond(long count, TimeSpan elapsed) => count / Math.Max(elapsed.TotalSeconds, 1e-3);

    /// <summary>Items handled so far, and the time since the work started (read by the bar's render thread).</summary>
    private sealed class ItemCounter
    {
        private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public TimeSpan Elapsed => _stopwatch.Elapsed;

        public void Set(long value) => Interlocked.Exchange(ref _value, value);
    }

    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Speed ?? 0:N0} {unit}/s"));
    }

    /// <summary>The items' mean rate since the start (Spectre's own speed column follows the bar's unit).</summary>
    private sealed class ItemRateColumn(string unit, ItemCounter items) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{PerSecond(items.Value, items.Elapsed):N0} {unit}/s"));
    }
}

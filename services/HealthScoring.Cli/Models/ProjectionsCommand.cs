using System.CommandLine;
using HealthScoring.Api.Accounts;
using HealthScoring.EventStore.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Models;

/// <summary><c>healthscore projections rebuild|catch-up</c>: the daily per-account aggregates.</summary>
internal static class ProjectionsCommand
{
    public static Command Create()
    {
        var rebuild = new Command("rebuild", "Empty the daily per-account aggregates and replay the whole log into them (stop the API host first: it runs the same projection).");
        rebuild.SetAction((parse, ct) => RunAsync(rebuild: true, ct));
        var catchUp = new Command("catch-up", "Bring the daily per-account aggregates up to date with the log.");
        catchUp.SetAction((parse, ct) => RunAsync(rebuild: false, ct));
        var command = new Command("projections", "The read models kept from the event log.");
        command.Subcommands.Add(rebuild);
        command.Subcommands.Add(catchUp);
        return command;
    }

    private static Task<int> RunAsync(bool rebuild, CancellationToken ct) => CliHost.RunAsync(async (services, _) =>
    {
        var rebuilder = services.GetRequiredService<ProjectionRebuilder>();
        try
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var count = await CatchUpAsync(rebuilder, rebuild, ct);
            AnsiConsole.MarkupLineInterpolated($"{(rebuild ? "Rebuilt" : "Caught up")} the daily aggregates: {count:N0} events in {started.Elapsed.TotalSeconds:F1} s.");
            return 0;
        }
        catch (InvalidOperationException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 1;
        }
    }, ct);

    /// <summary>
    /// Before training or scoring: brings the aggregates up to date, unless a running API host leads the projection,
    /// in which case it keeps them current and they are used as they are.
    /// </summary>
    public static async Task CatchUpBeforeUseAsync(ProjectionRebuilder rebuilder, CancellationToken ct)
    {
        try
        {
            await CatchUpAsync(rebuilder, rebuild: false, ct);
        }
        catch (SubscriptionBusyException)
        {
            // Reading the aggregates before the host has projected what was just ingested would train or score on a
            // partial history.
            Console.WriteLine("  the running API host keeps the daily aggregates current; waiting for it to reach the end of the log");
            var last = 0L;
            await rebuilder.WaitForLeaderAsync(new Progress<long>(sequence =>
            {
                if (sequence - last >= 200_000)
                {
                    last = sequence;
                    Console.WriteLine($"  the host's projection is at event {sequence:N0} ...");
                }
            }), ct);
        }
    }

    /// <summary>Runs the projection in the foreground with a spinner-like count of events.</summary>
    public static async Task<long> CatchUpAsync(ProjectionRebuilder rebuilder, bool rebuild, CancellationToken ct)
    {
        var last = 0L;
        var progress = new Progress<long>(n =>
        {
            if (n - last >= 200_000)
            {
                last = n;
                Console.WriteLine($"  projected {n:N0} events ...");
            }
        });
        return rebuild ? await rebuilder.RebuildAsync(progress, ct) : await rebuilder.CatchUpAsync(progress, ct);
    }
}

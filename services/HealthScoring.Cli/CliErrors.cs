using System.Net.Sockets;
using HealthScoring.EventStore;
using Npgsql;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary>Turns the failures an operator can act on into one clear line and an exit code.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(CliSettings settings, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (NpgsqlException ex) when (ex.InnerException is SocketException or TimeoutException || ex is PostgresException { SqlState: "28P01" or "3D000" or "57P03" })
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] cannot use PostgreSQL at {settings.Describe()}: {ex.Message}");
            AnsiConsole.MarkupLine("Start the local services with [bold]scripts/services.sh up[/], or set ConnectionStrings__EventStore.");
            return 3;
        }
        catch (ArgumentException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 2;
        }
        catch (EventStoreException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
    }
}

/// <summary>A failure the operator can act on, said in one line (no stack trace).</summary>
internal sealed class CliException(string message) : Exception(message);

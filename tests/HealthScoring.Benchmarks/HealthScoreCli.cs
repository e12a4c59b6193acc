using System.Diagnostics;
using System.Globalization;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// The <c>healthscore</c> CLI's Release build (services/HealthScoring.Cli, built with this project) run as a child
/// process, as an operator or a scheduler runs it: <c>dotnet healthscore.dll ARGS</c> against one schema.
/// </summary>
public sealed class HealthScoreCli
{
    /// <summary>The <c>application_name</c> of the CLI's PostgreSQL sessions.</summary>
    public const string ApplicationName = "healthscoring-bench-cli";

    private const int OutputLines = 40;

    private readonly string _dll;
    private readonly string _connectionString;
    private readonly string _schema;

    public HealthScoreCli(string repoRoot, string connectionString, string schema)
    {
        _dll = Path.Combine(repoRoot, "services", "HealthScoring.Cli", "bin", "Release", "net10.0", "healthscore.dll");
        if (!File.Exists(_dll))
        {
            throw new InvalidOperationException($"The CLI build output {_dll} does not exist: build services/HealthScoring.Cli in Release first.");
        }

        _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = ApplicationName }.ConnectionString;
        _schema = schema;
    }

    /// <summary>What one command did: its exit code, how long the process ran, and its last lines of output.</summary>
    public sealed record Run(int ExitCode, TimeSpan Elapsed, IReadOnlyList<string> Output)
    {
        public string Tail => Output.Count == 0 ? "(no output)" : string.Join(Environment.NewLine, Output);
    }

    /// <summary>
    /// Runs <c>healthscore</c> with <paramref name="args"/> to its end (secrets go in <paramref name="environment"/>,
    /// never in the arguments, which any user of the machine can list); a cancellation kills it.
    /// </summary>
    public async Task<Run> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(_dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ConnectionStrings__EventStore"] = _connectionString;
        start.Environment["EventStore__Schema"] = _schema;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var output = new OutputTail(OutputLines);
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the CLI (dotnet).");
        process.OutputDataReceived += (_, e) => output.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => output.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Also waits for the redirected output to be read to its end.
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new Run(process.ExitCode, sw.Elapsed, output.Lines());
    }

    /// <summary>Runs a set-up command that must succeed; throws with its output otherwise.</summary>
    public async Task<Run> RunCheckedAsync(IReadOnlyList<string> args, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var run = await RunAsync(args, cancellationToken, environment);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"healthscore {string.Join(' ', args)} exited with code {run.ExitCode}. Its last output:{Environment.NewLine}{run.Tail}"));
        }

        return run;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace HealthScoring.Testing;

/// <summary>
/// A PostgreSQL cluster of its own for a test class that must stop and restart the database (the shared one on
/// scripts/services.sh's port serves every other test project in parallel, so it is never restarted). It runs
/// Debian's PostgreSQL 15 binaries the way services.sh does: <c>initdb</c> into a temporary directory (as the
/// <c>postgres</c> user when run as root, since initdb refuses root), password authentication over TCP on a free
/// loopback port, the same <c>healthscoring</c> role and database. <see cref="StopAsync"/> is a fast shutdown (what an
/// operator's restart does: sessions are ended, the data is kept); <see cref="StartAsync"/> starts it again on the same
/// port and data. Disposing stops it and removes the directory. Durability settings are relaxed (fsync off), which a
/// stop-and-start never tests: a clean shutdown writes everything out either way.
/// </summary>
public sealed class PostgresNode : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private const string Host = "127.0.0.1";
    private const string User = "healthscoring";
    private const string Password = "healthscoring";
    private const string Database = "healthscoring";

    private readonly string _directory;
    private bool _running;

    private PostgresNode(string directory)
    {
        _directory = directory;
        Port = LoopbackPorts.Free();
    }

    public int Port { get; }

    /// <summary>True between a start and a stop.</summary>
    public bool IsRunning => _running;

    /// <summary>The connection string of the <c>healthscoring</c> database as the <c>healthscoring</c> role.</summary>
    public string ConnectionString => $"Host={Host};Port={Port};Username={User};Password={Password};Database={Database}";

    private string DataDirectory => Path.Combine(_directory, "data");

    private string LogFile => Path.Combine(_directory, "postgres.log");

    /// <summary>Creates a cluster in a fresh temporary directory, starts it and creates the database.</summary>
    public static async Task<PostgresNode> StartNewAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({Bin}/initdb is missing): run scripts/services.sh up, which installs it.");
        }

        var node = new PostgresNode(Directory.CreateTempSubdirectory("hs-pg-").FullName);
        try
        {
            await node.InitAsync(cancellationToken);
            await node.StartAsync(cancellationToken);
            await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(node.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString);
            await admin.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"create database {Database} owner {User}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the cluster (again) and returns once it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_running)
        {
            return;
        }

        var options = string.Create(CultureInfo.InvariantCulture,
            $"-p {Port} -c listen_addresses={Host} -k {_directory} -c max_connections=100 -c fsync=off -c full_page_writes=off");
        await RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options, "start"], cancellationToken);
        _running = true;
    }

    /// <summary>Stops the cluster with a fast shutdown (open sessions are ended, their transactions rolled back) and waits until it is down.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_running)
        {
            return;
        }

        await RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken);
        _running = false;
    }

    /// <summary>Stops the cluster, waits <paramref name="downtime"/>, and starts it again.</summary>
    public async Task RestartAsync(TimeSpan downtime, CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await Task.Delay(downtime, cancellationToken);
        await StartAsync(cancellationToken);
    }

    /// <summary>The end of the server's log, for a failure message.</summary>
    public string Diagnostics()
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogFile).TakeLast(40));
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_running || File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already stopped (a test stopped it and failed before starting it again).
            }

            _running = false;
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans /tmp eventually.
        }
    }

    private async Task InitAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(_directory, "password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n", cancellationToken);
        if (Environment.IsPrivilegedProcess)
        {
            // The cluster belongs to postgres, as initdb and the server refuse to run as root.
            await RunAsync("chown", ["-R", "postgres:postgres", _directory], cancellationToken, asPostgres: false);
        }

        // The superuser is the application's role, so the tests connect as services.sh's clusters let them.
        await RunAsync(Path.Combine(Bin, "initdb"),
            ["-D", DataDirectory, "-U", User, "--pwfile", passwordFile, "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
            cancellationToken);
    }

    private async Task RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool asPostgres = true)
    {
        var start = new ProcessStartInfo(asPostgres && Environment.IsPrivilegedProcess ? "runuser" : file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        if (asPostgres && Environment.IsPrivilegedProcess)
        {
            foreach (var argument in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        output.Append(await stdout).Append(await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}\n--- server log ---\n{Diagnostics()}");
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace HealthScoring.Testing;

/// <summary>
/// A RabbitMQ node of its own for a test class that must stop and start the broker (the shared one on
/// scripts/services.sh's ports serves other test classes in parallel, so it is never stopped). It runs the same
/// Debian <c>rabbitmq-server</c> scripts services.sh runs, the same way: its own node name, ports, Erlang cookie
/// (HOME), mnesia, logs and config in a temporary directory, and its own epmd on a free port, so nothing it does
/// reaches the shared broker. <see cref="StopAsync"/> really stops the node (its queues, being durable, survive on
/// disk) and <see cref="StartAsync"/> starts it again on the same ports and data. The node and epmd are this
/// fixture's child processes and end with it.
/// </summary>
public sealed class RabbitMqNode : IAsyncDisposable
{
    private const string Bin = "/usr/lib/rabbitmq/bin";
    private const string Host = "127.0.0.1";

    private readonly string _directory;
    private readonly StringBuilder _output = new();
    private Process? _epmd;
    private Process? _server;

    private RabbitMqNode(string directory)
    {
        _directory = directory;
        var id = Guid.NewGuid().ToString("N")[..10];
        NodeName = $"hstest{id}@localhost";
        AmqpPort = LoopbackPorts.Free();
        DistributionPort = LoopbackPorts.Free();
        EpmdPort = LoopbackPorts.Free();
    }

    public string NodeName { get; }

    public int AmqpPort { get; }

    public int DistributionPort { get; }

    public int EpmdPort { get; }

    public static string Username => RabbitMqVhost.Username;

    public static string Password => RabbitMqVhost.Password;

    public bool IsRunning => _server is { HasExited: false };

    /// <summary>Writes the node's config into a fresh temporary directory and starts it.</summary>
    public static async Task<RabbitMqNode> StartNewAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path.Combine(Bin, "rabbitmq-server")))
        {
            throw new InvalidOperationException($"RabbitMQ is not installed ({Bin}/rabbitmq-server is missing): run scripts/services.sh up, which installs rabbitmq-server.");
        }

        var node = new RabbitMqNode(Directory.CreateTempSubdirectory("hs-rabbit-").FullName);
        node.WriteConfig();
        await node.StartAsync(cancellationToken);
        return node;
    }

    /// <summary>Starts the node (again) and waits until it accepts AMQP connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        if (_epmd is null || _epmd.HasExited)
        {
            _epmd = Launch(EpmdBinary(), ["-address", Host, "-port", EpmdPort.ToString(CultureInfo.InvariantCulture)]);
            await WaitAsync(() => PortOpen(EpmdPort), TimeSpan.FromSeconds(10), "epmd to listen", cancellationToken);
        }

        _server = Launch(Path.Combine(Bin, "rabbitmq-server"), []);
        // A loaded 2-core machine boots a node in 5–20 s; the wait command returns once the broker app runs.
        var waited = await RunCtlAsync(["wait", "--timeout", "120", PidFile], TimeSpan.FromSeconds(150), cancellationToken);
        if (waited != 0 || !IsRunning)
        {
            throw new InvalidOperationException($"RabbitMQ node {NodeName} did not start (exit {waited}).\n{Diagnostics()}");
        }

        await WaitAsync(() => PortOpen(AmqpPort), TimeSpan.FromSeconds(30), "AMQP to listen", cancellationToken);
    }

    /// <summary>Stops the node the way an operator would (rabbitmqctl stop), killing it only if that fails; its data stays.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_server is not { } server || server.HasExited)
        {
            return;
        }

        await RunCtlAsync(["stop", PidFile], TimeSpan.FromSeconds(60), cancellationToken);
        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        exited.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await server.WaitForExitAsync(exited.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(cancellationToken);
        }

        // The port is closed once the broker is gone; wait for it so a test's "stopped" is really stopped.
        await WaitAsync(() => !PortOpen(AmqpPort), TimeSpan.FromSeconds(10), "AMQP to close", cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            _server?.Kill(entireProcessTree: true);
        }

        foreach (var process in new[] { _server, _epmd })
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process?.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A straggling Erlang process may still hold a log open; the OS cleans /tmp eventually.
        }
    }

    /// <summary>The node's recent console output and log, for a failure message.</summary>
    public string Diagnostics()
    {
        string log;
        try
        {
            var file = Directory.EnumerateFiles(Path.Combine(_directory, "log"), "*.log").FirstOrDefault();
            log = file is null ? "(no log)" : string.Join('\n', File.ReadLines(file).TakeLast(40));
        }
        catch (IOException ex)
        {
            log = ex.Message;
        }

        lock (_output)
        {
            return $"--- output ---\n{_output}\n--- log ---\n{log}";
        }
    }

    private string PidFile => Path.Combine(_directory, "rabbitmq.pid");

    private void WriteConfig()
    {
        var home = Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName;
        Directory.CreateDirectory(Path.Combine(_directory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(_directory, "log"));
        var cookie = Path.Combine(home, ".erlang.cookie");
        File.WriteAllText(cookie, Convert.ToHexString(Guid.NewGuid().ToByteArray()));
        if (!OperatingSystem.IsWindows())
        {
            // Erlang refuses a cookie file others can read.
            File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        }
        File.WriteAllText(Path.Combine(_directory, "rabbitmq-env.conf"), "");
        File.WriteAllText(Path.Combine(_directory, "enabled_plugins"), "[].\n");
        File.WriteAllText(Path.Combine(_directory, "rabbitmq.conf"), string.Create(CultureInfo.InvariantCulture, $"""
            listeners.tcp.default = {Host}:{AmqpPort}
            loopback_users = none
            default_vhost = /
            default_user = {Username}
            default_pass = {Password}
            default_user_tags.administrator = true
            default_permissions.configure = .*
            default_permissions.read = .*
            default_permissions.write = .*

            """));
    }

    private Process Launch(string file, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = _directory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in NodeEnvironment())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task<int> RunCtlAsync(IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var ctl = Launch(Path.Combine(Bin, "rabbitmqctl"), ["-n", NodeName, .. arguments]);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await ctl.WaitForExitAsync(limit.Token);
            return ctl.ExitCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ctl.Kill(entireProcessTree: true);
            throw new TimeoutException($"rabbitmqctl {string.Join(' ', arguments)} took longer than {timeout}.\n{Diagnostics()}");
        }
    }

    private IEnumerable<(string Name, string Value)> NodeEnvironment() =>
    [
        ("HOME", Path.Combine(_directory, "home")),
        ("RABBITMQ_NODENAME", NodeName),
        ("RABBITMQ_NODE_IP_ADDRESS", Host),
        ("RABBITMQ_NODE_PORT", AmqpPort.ToString(CultureInfo.InvariantCulture)),
        ("RABBITMQ_DIST_PORT", DistributionPort.ToString(CultureInfo.InvariantCulture)),
        ("ERL_EPMD_ADDRESS", Host),
        ("ERL_EPMD_PORT", EpmdPort.ToString(CultureInfo.InvariantCulture)),
        ("RABBITMQ_MNESIA_BASE", Path.Combine(_directory, "mnesia")),
        ("RABBITMQ_LOG_BASE", Path.Combine(_directory, "log")),
        ("RABBITMQ_CONFIG_FILE", Path.Combine(_directory, "rabbitmq.conf")),
        ("RABBITMQ_ADVANCED_CONFIG_FILE", Path.Combine(_directory, "advanced.config")),
        ("RABBITMQ_CONF_ENV_FILE", Path.Combine(_directory, "rabbitmq-env.conf")),
        ("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(_directory, "enabled_plugins")),
        ("RABBITMQ_PID_FILE", PidFile),
        ("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"),
        ("RABBITMQ_CTL_ERL_ARGS", "-dist_listen false"),
        ("ERL_CRASH_DUMP", Path.Combine(_directory, "erl_crash.dump")),
    ];

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Enough to explain a failed start; older lines are dropped.
            if (_output.Length > 20_000)
            {
                _output.Remove(0, 10_000);
            }

            _output.AppendLine(line);
        }
    }

    private async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout} for {what} (node {NodeName}).\n{Diagnostics()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static string EpmdBinary() =>
        File.Exists("/usr/bin/epmd") ? "/usr/bin/epmd"
        : Directory.EnumerateFiles("/usr/lib/erlang", "epmd", SearchOption.AllDirectories).FirstOrDefault()
          ?? throw new InvalidOperationException("epmd not found (is erlang-base installed?)");

    private static bool PortOpen(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(Host, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

}

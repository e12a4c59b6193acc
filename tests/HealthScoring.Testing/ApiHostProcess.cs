using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace HealthScoring.Testing;

/// <summary>
/// The real API host (services/HealthScoring.Api's build output) run as a child process with
/// <c>dotnet HealthScoring.Api.dll</c>, configured by environment variables only: REST on one free loopback port,
/// the HTTP/2-only gRPC endpoint on another. Ready once <c>/health/ready</c> answers 200 (the host migrates the
/// schema on start). Benchmarks run the Release build, tests the build of their own configuration. Disposing
/// stops it (SIGTERM, then SIGKILL after 10 s); <see cref="TerminateAsync"/> and <see cref="Kill"/> are for fault tests.
/// </summary>
public sealed class ApiHostProcess : IAsyncDisposable
{
    private const int OutputLines = 400;

    private readonly Process _process;
    private readonly OutputTail _output = new(OutputLines);
    private bool _stopped;

    private ApiHostProcess(Process process, Uri restUrl, Uri grpcUrl, string schema)
    {
        _process = process;
        Schema = schema;
        RestUrl = restUrl;
        GrpcUrl = grpcUrl;
    }

    /// <summary>The host's REST endpoint (HTTP/1.1), such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri RestUrl { get; }

    /// <summary>The host's gRPC endpoint (h2c).</summary>
    public Uri GrpcUrl { get; }

    public int ProcessId => _process.Id;

    /// <summary>The schema the host reads and writes.</summary>
    public string Schema { get; }

    /// <summary>The <c>application_name</c> of the host's PostgreSQL sessions.</summary>
    public const string ApplicationName = "healthscoring-bench-api";

    /// <summary>
    /// The configuration this assembly was built in ("Debug" or "Release"): a test run's API build output is the
    /// one of the same configuration (`make test` builds the whole solution in Debug first).
    /// </summary>
    public const string OwnConfiguration =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    /// <summary>The API's build output under the repository: <c>services/HealthScoring.Api/bin/{configuration}/net10.0/HealthScoring.Api.dll</c>.</summary>
    public static string DefaultDll(string repoRoot, string configuration = "Release") =>
        Path.Combine(repoRoot, "services", "HealthScoring.Api", "bin", configuration, "net10.0", "HealthScoring.Api.dll");

    /// <summary>
    /// Starts the host on <paramref name="schema"/> and waits until it is ready. <paramref name="settings"/> become
    /// environment variables (<c>Section__Key</c>); <paramref name="applicationName"/> names its PostgreSQL sessions.
    /// </summary>
    public static async Task<ApiHostProcess> StartAsync(
        string dll, string connectionString, string schema, ProgressLog log, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null,
        string applicationName = ApplicationName)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!File.Exists(dll))
        {
            var configuration = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(dll)));
            throw new InvalidOperationException($"The API build output {dll} does not exist: build services/HealthScoring.Api in {configuration} first.");
        }

        var restUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{LoopbackPorts.Free()}/"));
        var grpcUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{LoopbackPorts.Free()}/"));
        var start = new ProcessStartInfo("dotnet")
        {
            // The content root (appsettings.json) is the working directory.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        // Named, so that the PostgreSQL CPU of the host's own backends can be told from other sessions'.
        start.Environment["ConnectionStrings__EventStore"] = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString;
        start.Environment["EventStore__Schema"] = schema;
        start.Environment["ASPNETCORE_URLS"] = restUrl.GetLeftPart(UriPartial.Authority);
        start.Environment["Grpc__Url"] = grpcUrl.GetLeftPart(UriPartial.Authority);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the API host (dotnet).");
        var host = new ApiHostProcess(process, restUrl, grpcUrl, schema);
        process.OutputDataReceived += (_, e) => host._output.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host._output.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.WaitUntilReadyAsync(log, cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>The host's last lines of output (warnings and errors: it logs at Warning unless told otherwise).</summary>
    public string OutputTail() => _output.ToString();

    /// <summary>Throws when the host has exited (it must live through the whole run).</summary>
    public void EnsureRunning()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"The API host exited with code {_process.ExitCode}. Its last output:{Environment.NewLine}{OutputTail()}");
        }
    }

    /// <summary>True once the host process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Sends SIGTERM, as a process manager does to stop a service: the host stops taking connections, finishes the
    /// requests in flight and its background work, then exits (with 0 when all went well).
    /// </summary>
    public async Task TerminateAsync()
    {
        using var term = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("Could not run kill -TERM.");
        await term.WaitForExitAsync(CancellationToken.None);
    }

    /// <summary>Sends SIGKILL (<c>kill -9</c>): the host dies at once, with whatever it had in flight.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    /// <summary>Waits until the host has exited and returns its exit code (137 after <see cref="Kill"/>).</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            if (!_process.HasExited)
            {
                // Graceful first (the host drains its requests), then forced.
                await TerminateAsync();
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }

        _process.Dispose();
    }

    private async Task WaitUntilReadyAsync(ProgressLog log, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = RestUrl, Timeout = TimeSpan.FromSeconds(5) };
        var last = "no answer yet";
        while (sw.Elapsed < TimeSpan.FromSeconds(90))
        {
            EnsureRunning();
            try
            {
                using var response = await client.GetAsync(new Uri("health/ready", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    log.Info(string.Create(CultureInfo.InvariantCulture,
                        $"  API host: pid {ProcessId}, REST {RestUrl.GetLeftPart(UriPartial.Authority)}, gRPC {GrpcUrl.GetLeftPart(UriPartial.Authority)}, ready in {sw.Elapsed.TotalSeconds:F1}s"));
                    return;
                }

                last = $"/health/ready answered {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "/health/ready timed out";
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"The API host did not become ready within 90 s ({last}). Its last output:{Environment.NewLine}{OutputTail()}");
    }
}

/// <summary>
/// Samples a process's resident set (<c>/proc/PID/status</c> VmRSS) at a fixed interval and keeps the peak; also
/// reads the kernel's own high-water mark (VmHWM), which catches peaks between samples.
/// </summary>
public sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peakKb;
    private int _samples;

    private RssSampler(int pid, TimeSpan interval)
    {
        _pid = pid;
        Sample();
        _loop = Task.Run(() => LoopAsync(interval));
    }

    /// <summary>Starts sampling <paramref name="pid"/> every <paramref name="interval"/>.</summary>
    public static RssSampler Start(int pid, TimeSpan interval) => new(pid, interval);

    /// <summary>The highest VmRSS sampled so far, in MB (2^20 bytes).</summary>
    public double PeakMegabytes => Interlocked.Read(ref _peakKb) / 1024.0;

    public int Samples => Volatile.Read(ref _samples);

    /// <summary>A <c>kB</c> field of <c>/proc/PID/status</c> (VmRSS, VmHWM, …) in MB; null when unreadable.</summary>
    public static double? ReadStatusMegabytes(int pid, string field)
    {
        var kb = ReadStatusKb(pid, field);
        return kb is null ? null : kb.Value / 1024.0;
    }

    /// <summary>Resets the kernel's high-water mark VmHWM of <paramref name="pid"/> to its current RSS (Linux ≥ 4.0, same user or root).</summary>
    public static bool TryResetHighWaterMark(int pid)
    {
        try
        {
            File.WriteAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/clear_refs"), "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Stops sampling (after one last sample) and returns the peak in MB.</summary>
    public async Task<double> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
            Sample();
        }

        return PeakMegabytes;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private void Sample()
    {
        if (ReadStatusKb(_pid, "VmRSS") is { } kb)
        {
            Interlocked.Increment(ref _samples);
            long seen;
            while (kb > (seen = Interlocked.Read(ref _peakKb)) && Interlocked.CompareExchange(ref _peakKb, kb, seen) != seen)
            {
            }
        }
    }

    private static long? ReadStatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/status")))
            {
                if (line.StartsWith(field, StringComparison.Ordinal) && line.Length > field.Length && line[field.Length] == ':')
                {
                    var text = line[(field.Length + 1)..].Trim();
                    var space = text.IndexOf(' ', StringComparison.Ordinal);
                    return long.Parse(space < 0 ? text : text[..space], NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process is gone.
        }

        return null;
    }
}

using System.Globalization;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>CPU time from <c>/proc</c> (Linux), to tell where a run's time went: the API, PostgreSQL, or this process.</summary>
public static class CpuTime
{
    // USER_HZ: 100 on every Linux the runtime supports.
    private const double TicksPerSecond = 100.0;

    /// <summary>User + system CPU seconds of <paramref name="pid"/> so far; null when unreadable.</summary>
    public static double? OfProcess(int pid) => Read(pid) is { } t ? t.Own : null;

    /// <summary>
    /// User + system CPU seconds of the PostgreSQL server so far: every live <c>postgres</c> process plus what its
    /// exited children used (counted into the postmaster). All databases, so other sessions' work counts too.
    /// </summary>
    /// <summary>
    /// CPU-seconds of the process's threads whose name starts with <paramref name="threadName"/> (Linux truncates
    /// thread names to 15 characters); 0 when there are none.
    /// </summary>
    public static double OfThreads(int pid, string threadName)
    {
        var total = 0.0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task")))
            {
                if (Read(task) is { } t && t.Name.StartsWith(threadName, StringComparison.Ordinal))
                {
                    total += t.Own;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process is gone.
        }

        return total;
    }

    public static double OfPostgres()
    {
        var total = 0.0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Read(pid) is { Name: "postgres" } t)
            {
                total += t.Own + t.Children;
            }
        }

        return total;
    }

    /// <summary>
    /// Starts following the CPU time of the PostgreSQL backends whose <c>application_name</c> is
    /// <paramref name="applicationName"/>: one process's (or psql's) own sessions, unlike <see cref="OfPostgres"/>,
    /// which also counts every other session on a shared server. PostgreSQL runs on this machine (loopback), so
    /// the backends' <c>/proc</c> entries are readable.
    /// </summary>
    public static Task<BackendCpuSampler> FollowBackendsAsync(NpgsqlDataSource dataSource, string applicationName, CancellationToken cancellationToken) =>
        BackendCpuSampler.StartAsync(dataSource, applicationName, cancellationToken);

    internal static (string Name, double Own, double Children)? Read(int pid) => Read(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));

    private static (string Name, double Own, double Children)? Read(string procDirectory)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDirectory, "stat"));
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            // After "pid (comm) ": state is field 3; utime, stime, cutime, cstime are fields 14-17.
            var fields = stat[(close + 2)..].Split(' ');
            double Field(int n) => double.Parse(fields[n - 3], NumberStyles.Float, CultureInfo.InvariantCulture) / TicksPerSecond;
            return (stat[(open + 1)..close], Field(14) + Field(15), Field(16) + Field(17));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>
/// The CPU seconds the backends of one application name used since this sampler started. Their pids are looked up
/// twice a second (a pool may open backends during the run) and their <c>/proc</c> times read every 50 ms, so a
/// backend that exits (psql's, at its end) loses at most its last 50 ms. Backends that existed before the start
/// count only their time after it.
/// </summary>
public sealed class BackendCpuSampler : IAsyncDisposable
{
    private static readonly TimeSpan ReadInterval = TimeSpan.FromMilliseconds(50);
    private const int LookupEvery = 10;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _applicationName;
    private readonly Dictionary<int, (double Start, double Last)> _backends = [];
    private readonly HashSet<int> _before = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private BackendCpuSampler(NpgsqlDataSource dataSource, string applicationName)
    {
        _dataSource = dataSource;
        _applicationName = applicationName;
    }

    internal static async Task<BackendCpuSampler> StartAsync(NpgsqlDataSource dataSource, string applicationName, CancellationToken cancellationToken)
    {
        var sampler = new BackendCpuSampler(dataSource, applicationName);
        sampler._before.UnionWith(await sampler.LookUpAsync(cancellationToken));
        sampler.Track(sampler._before);
        sampler._loop = Task.Run(sampler.LoopAsync, CancellationToken.None);
        return sampler;
    }

    /// <summary>Stops (after one last reading) and returns the CPU seconds used since the start.</summary>
    public async Task<double> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
            Track(_backends.Keys.ToList());
        }

        lock (_backends)
        {
            return _backends.Values.Sum(b => b.Last - b.Start);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var tick = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ReadInterval, _stop.Token);
                Track(tick++ % LookupEvery == 0 ? [.. _backends.Keys, .. await LookUpAsync(_stop.Token)] : _backends.Keys.ToList());
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<List<int>> LookUpAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("select pid from pg_stat_activity where application_name = $1");
        command.Parameters.AddWithValue(_applicationName);
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    private void Track(IEnumerable<int> pids)
    {
        lock (_backends)
        {
            foreach (var pid in pids)
            {
                // A pid that no longer reads as postgres has exited (or been reused): keep its last reading.
                if (CpuTime.Read(pid) is not { Name: "postgres" } t)
                {
                    continue;
                }

                if (_backends.TryGetValue(pid, out var known))
                {
                    _backends[pid] = (known.Start, Math.Max(known.Last, t.Own));
                }
                else
                {
                    // Seen first during the run: all its time is the run's (it started after the sampler did).
                    _backends[pid] = (_before.Contains(pid) ? t.Own : 0, t.Own);
                }
            }
        }
    }
}

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
    public static Task<CpuSampler> FollowBackendsAsync(NpgsqlDataSource dataSource, string applicationName, CancellationToken cancellationToken) =>
        CpuSampler.ForBackendsAsync(dataSource, applicationName, cancellationToken);

    /// <summary>Starts following the CPU time of process <paramref name="pid"/>'s threads whose name starts with <paramref name="threadName"/>.</summary>
    public static Task<CpuSampler> FollowThreadsAsync(int pid, string threadName, CancellationToken cancellationToken) =>
        CpuSampler.ForThreadsAsync(pid, threadName, cancellationToken);

    internal static (string Name, double Own, double Children)? Read(int pid) => Read(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));

    internal static (string Name, double Own, double Children)? Read(string procDirectory)
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
/// The CPU seconds some processes or threads used since this sampler started: PostgreSQL's backends of one
/// application name, or one process's threads of one name. They are looked up twice a second (a pool may open
/// backends during the run; the runtime starts and ends its compiling thread as work comes and goes) and their
/// <c>/proc</c> times read every 50 ms, so one that exits (psql's backend, at its end) loses at most its last
/// 50 ms. Those that existed before the start count only their time after it.
/// </summary>
public sealed class CpuSampler : IAsyncDisposable
{
    private static readonly TimeSpan ReadInterval = TimeSpan.FromMilliseconds(50);
    private const int LookupEvery = 10;

    private readonly Func<CancellationToken, Task<List<string>>> _lookUp;
    private readonly Func<string, bool> _isOne;
    private readonly Dictionary<string, (double Start, double Last)> _seen = [];
    private readonly HashSet<string> _before = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private CpuSampler(Func<CancellationToken, Task<List<string>>> lookUp, Func<string, bool> isOne)
    {
        _lookUp = lookUp;
        _isOne = isOne;
    }

    /// <summary>Follows the backends whose <c>application_name</c> is <paramref name="applicationName"/>.</summary>
    internal static Task<CpuSampler> ForBackendsAsync(NpgsqlDataSource dataSource, string applicationName, CancellationToken cancellationToken) =>
        StartAsync(
            async ct =>
            {
                await using var command = dataSource.CreateCommand("select pid from pg_stat_activity where application_name = $1");
                command.Parameters.AddWithValue(applicationName);
                var directories = new List<string>();
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    directories.Add(string.Create(CultureInfo.InvariantCulture, $"/proc/{reader.GetInt32(0)}"));
                }

                return directories;
            },
            name => name == "postgres",
            cancellationToken);

    /// <summary>Follows the threads of process <paramref name="pid"/> whose name starts with <paramref name="threadName"/> (Linux keeps 15 characters).</summary>
    internal static Task<CpuSampler> ForThreadsAsync(int pid, string threadName, CancellationToken cancellationToken) =>
        StartAsync(
            _ =>
            {
                try
                {
                    return Task.FromResult(Directory.EnumerateDirectories(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task")).ToList());
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return Task.FromResult(new List<string>());
                }
            },
            name => name.StartsWith(threadName, StringComparison.Ordinal),
            cancellationToken);

    private static async Task<CpuSampler> StartAsync(Func<CancellationToken, Task<List<string>>> lookUp, Func<string, bool> isOne, CancellationToken cancellationToken)
    {
        var sampler = new CpuSampler(lookUp, isOne);
        sampler._before.UnionWith(await lookUp(cancellationToken));
        sampler.Track(sampler._before);
        sampler._loop = Task.Run(sampler.LoopAsync, CancellationToken.None);
        return sampler;
    }

    /// <summary>The CPU seconds used since the start, as of a reading now (the sampler goes on).</summary>
    public double Read()
    {
        lock (_seen)
        {
            Track(_seen.Keys.ToList());
        }

        return Sum();
    }

    /// <summary>Stops (after one last reading) and returns the CPU seconds used since the start.</summary>
    public async Task<double> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
            Track(_seen.Keys.ToList());
        }

        return Sum();
    }

    private double Sum()
    {
        lock (_seen)
        {
            return _seen.Values.Sum(b => b.Last - b.Start);
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
                Track(tick++ % LookupEvery == 0 ? [.. _seen.Keys, .. await _lookUp(_stop.Token)] : _seen.Keys.ToList());
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Track(IEnumerable<string> directories)
    {
        lock (_seen)
        {
            foreach (var directory in directories)
            {
                // One that no longer reads as what it was has exited (or its id was reused): keep its last reading.
                if (CpuTime.Read(directory) is not { } t || !_isOne(t.Name))
                {
                    continue;
                }

                if (_seen.TryGetValue(directory, out var known))
                {
                    _seen[directory] = (known.Start, Math.Max(known.Last, t.Own));
                }
                else
                {
                    // Seen first during the run: all its time is the run's (it started after the sampler did).
                    _seen[directory] = (_before.Contains(directory) ? t.Own : 0, t.Own);
                }
            }
        }
    }
}

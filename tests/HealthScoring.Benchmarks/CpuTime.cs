using System.Globalization;

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

    private static (string Name, double Own, double Children)? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
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

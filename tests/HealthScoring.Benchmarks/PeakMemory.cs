using System.Diagnostics;

namespace HealthScoring.Benchmarks;

/// <summary>The process's peak working set (Linux: VmHWM), resettable so that each benchmark gets its own peak.</summary>
public static class PeakMemory
{
    /// <summary>
    /// Resets the high-water mark to the current working set (Linux ≥ 4.0: writing 5 to clear_refs). Returns
    /// false where that is not possible; the peak is then the process's peak so far.
    /// </summary>
    public static bool TryReset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>The peak working set in MB (1 MB = 2^20 bytes).</summary>
    public static double PeakMegabytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}

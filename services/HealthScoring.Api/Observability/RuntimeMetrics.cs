using System.Diagnostics.Metrics;

namespace HealthScoring.Api.Observability;

/// <summary>
/// The runtime's own figures as gauges and counters on a meter of their own (<c>HealthScoring.Runtime</c>), read when
/// scraped: resident memory, CPU time, GC heap, allocations and collections, thread-pool threads and queue.
/// </summary>
public sealed class RuntimeMetrics
{
    public const string MeterName = HealthScoringMetrics.MeterName + ".Runtime";

    public RuntimeMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("process.resident_memory", () => Environment.WorkingSet, "By", "Resident set size (working set) of the process.");
        meter.CreateObservableCounter("process.cpu", () => Environment.CpuUsage.TotalTime.TotalSeconds, "s", "CPU time of the process, user and system.");
        meter.CreateObservableGauge("dotnet.gc.heap_size", () => GC.GetGCMemoryInfo().HeapSizeBytes, "By", "Size of the GC heap (all generations, fragmentation included) at the last collection.");
        meter.CreateObservableGauge("dotnet.gc.committed", () => GC.GetGCMemoryInfo().TotalCommittedBytes, "By", "Memory the GC has committed.");
        meter.CreateObservableCounter("dotnet.gc.allocated", () => GC.GetTotalAllocatedBytes(), "By", "Bytes allocated on the GC heap since the process started.");
        meter.CreateObservableCounter("dotnet.gc.collections", () => Enumerable.Range(0, GC.MaxGeneration + 1)
            .Select(g => new Measurement<long>(GC.CollectionCount(g), new KeyValuePair<string, object?>("generation", $"gen{g}"))), "{collection}", "Garbage collections, per generation.");
        meter.CreateObservableGauge("dotnet.thread_pool.threads", () => ThreadPool.ThreadCount, "{thread}", "Thread-pool threads.");
        meter.CreateObservableGauge("dotnet.thread_pool.queue_length", () => ThreadPool.PendingWorkItemCount, "{work_item}", "Work items queued to the thread pool, not yet started.");
        meter.CreateObservableCounter("dotnet.thread_pool.completed", () => ThreadPool.CompletedWorkItemCount, "{work_item}", "Work items the thread pool has completed.");
    }
}

using System.Diagnostics;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Whether this host's ingest is saturated: the group-commit writer found requests waiting after a commit, so
/// events arrive faster than one commit at a time takes them. Background read models (the daily aggregates) use it
/// to give way: an acknowledgement is what a sender waits for, while an aggregate a few seconds or minutes behind
/// the log costs nobody anything, and catching up later in larger batches costs less per event.
/// </summary>
public sealed class IngestPressure
{
    /// <summary>How long after the last sign of a backlog ingest still counts as saturated.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private long _lastBacklog = long.MinValue;

    /// <summary>Records that requests were waiting behind a commit.</summary>
    public void Backlogged() => Volatile.Write(ref _lastBacklog, Stopwatch.GetTimestamp());

    /// <summary>True while a backlog was seen within <see cref="Window"/>.</summary>
    public bool IsSaturated
    {
        get
        {
            var last = Volatile.Read(ref _lastBacklog);
            return last != long.MinValue && Stopwatch.GetElapsedTime(last) < Window;
        }
    }
}

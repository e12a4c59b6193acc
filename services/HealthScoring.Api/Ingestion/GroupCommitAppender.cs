using System.Diagnostics;
using System.Threading.Channels;
using HealthScoring.Api.Observability;
using HealthScoring.EventStore;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Group commit for ingestion. Each append reserves the versions of the streams it touches and holds those row
/// locks through its COPY and commit, so concurrent requests for overlapping accounts would queue on each other
/// one transaction at a time. Instead, requests hand their events to one writer, which appends everything waiting
/// (per tenant, up to <see cref="MaxEventsPerCommit"/>) in a single <see cref="IEventStore.BulkAppendAsync"/>: one
/// reservation, one COPY, one commit for many requests, with up to <see cref="MaxGroupsInFlight"/> such appends
/// overlapping. A request's task completes only after its group's commit, so an acknowledgement still means durable.
/// </summary>
/// <remarks>
/// A failed group commit is retried request by request, so one request's poison fails that request alone; when the
/// database itself is unavailable (<see cref="TransientStoreFailure"/>) every request of the group fails at once.
/// Duplicates are attributed per request exactly as the store would have reported them to each request appending
/// alone, in arrival order.
/// </remarks>
public sealed partial class GroupCommitAppender : IAsyncDisposable
{
    /// <summary>The most events one commit takes (requests are never split; one larger request is taken whole).</summary>
    public const int MaxEventsPerCommit = 25_000;

    private readonly IEventStore _store;
    private readonly IngestPressure _pressure;
    private readonly ILogger<GroupCommitAppender> _logger;
    private readonly HealthScoringMetrics _metrics;
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(4_096) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;

    public GroupCommitAppender(IEventStore store, IngestPressure pressure, ILogger<GroupCommitAppender> logger, HealthScoringMetrics metrics)
    {
        _store = store;
        _pressure = pressure;
        _logger = logger;
        _metrics = metrics;
        _writer = Task.Run(WriteLoopAsync);
    }

    private sealed record Pending(string TenantId, IReadOnlyList<StreamEvent> Events, TaskCompletionSource<BulkAppendResult> Done);

    /// <summary>Appends <paramref name="events"/> in the next group commit; completes once they are durable.</summary>
    public async Task<BulkAppendResult> AppendAsync(string tenantId, IReadOnlyList<StreamEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return new BulkAppendResult(0, [], new Dictionary<string, long>());
        }

        var pending = new Pending(tenantId, events, new TaskCompletionSource<BulkAppendResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(GroupCommitAppender), "The host is stopping; the events were not appended.");
        }

        // Once queued, the events may be committed whatever the caller does; waiting is all it can cancel.
        return await pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Group commits in flight at once: while one commits (its stream rows locked, then the WAL flushed), the next
    /// can already COPY its events, as the store numbers them before locking the rows (see
    /// <see cref="IEventStore.BulkAppendAsync"/>). More would only take CPU from the two.
    /// </summary>
    public const int MaxGroupsInFlight = 2;

    private async Task WriteLoopAsync()
    {
        var group = new List<Pending>();
        var inFlight = new List<Task>(MaxGroupsInFlight);
        Pending? carried = null;
        while (carried is not null || await _queue.Reader.WaitToReadAsync())
        {
            group.Clear();
            var count = 0;
            if (carried is not null)
            {
                group.Add(carried);
                count = carried.Events.Count;
                carried = null;
            }

            while (_queue.Reader.TryRead(out var next))
            {
                if (group.Count > 0 && count + next.Events.Count > MaxEventsPerCommit)
                {
                    carried = next;
                    break;
                }

                group.Add(next);
                count += next.Events.Count;
            }

            foreach (var byTenant in group.GroupBy(p => p.TenantId, StringComparer.Ordinal))
            {
                await FreeSlotAsync(inFlight);
                inFlight.Add(CommitAsync(byTenant.Key, [.. byTenant]));
            }

            if (carried is not null || _queue.Reader.Count > 0)
            {
                _pressure.Backlogged();
            }

            // Both slots taken: what arrives meanwhile goes into one group when a slot frees, not many small ones;
            // requests that had to wait for it mean the writer is the bottleneck.
            if (await FreeSlotAsync(inFlight) && _queue.Reader.Count > 0)
            {
                _pressure.Backlogged();
            }
        }

        await Task.WhenAll(inFlight);
    }

    /// <summary>Waits for a group commit in flight to end when all <see cref="MaxGroupsInFlight"/> slots are taken; true if it had to.</summary>
    private static async Task<bool> FreeSlotAsync(List<Task> inFlight)
    {
        if (inFlight.Count < MaxGroupsInFlight)
        {
            return false;
        }

        inFlight.Remove(await Task.WhenAny(inFlight));
        return true;
    }

    private async Task CommitAsync(string tenantId, IReadOnlyList<Pending> requests)
    {
        if (requests.Count == 1)
        {
            await CommitAloneAsync(tenantId, requests[0]);
            return;
        }

        BulkAppendResult result;
        try
        {
            result = await TimedAppendAsync(tenantId, [.. requests.SelectMany(r => r.Events)]);
        }
        catch (Exception ex) when (TransientStoreFailure.Is(ex))
        {
            // The database is away: no request is to blame, and each alone would fail the same way. Nothing was
            // acknowledged; the callers answer "retry later" (the outage is logged once, where they answer).
            foreach (var request in requests)
            {
                request.Done.TrySetException(ex);
            }

            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            LogGroupFailed(_logger, requests.Count, ex.GetType().Name);
            foreach (var request in requests)
            {
                await CommitAloneAsync(tenantId, request);
            }

            return;
        }
        catch (OperationCanceledException ex)
        {
            foreach (var request in requests)
            {
                request.Done.TrySetException(ex);
            }

            return;
        }

        foreach (var (request, own) in requests.Zip(Split(requests.Select(r => r.Events).ToList(), result.DuplicateEventIds)))
        {
            request.Done.TrySetResult(new BulkAppendResult(request.Events.Count - own.Count, own, result.StreamVersions));
        }
    }

    private async Task CommitAloneAsync(string tenantId, Pending request)
    {
        try
        {
            request.Done.TrySetResult(await TimedAppendAsync(tenantId, request.Events));
        }
        catch (Exception ex)
        {
            request.Done.TrySetException(ex);
        }
    }

    /// <summary>One append to the store, timed for <c>healthscoring_append_duration_seconds</c>.</summary>
    private async Task<BulkAppendResult> TimedAppendAsync(string tenantId, IReadOnlyList<StreamEvent> events)
    {
        var started = Stopwatch.GetTimestamp();
        var ok = false;
        try
        {
            var result = await _store.BulkAppendAsync(tenantId, events, _stopping.Token);
            ok = true;
            return result;
        }
        finally
        {
            _metrics.RecordAppend(started, events.Count, ok);
            _pressure.Committed(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// Splits one group's duplicate report into each request's own: an id stored by this commit counts as stored
    /// for its first occurrence in arrival order; every other occurrence is a duplicate of the request it is in.
    /// </summary>
    internal static List<List<Guid>> Split(IReadOnlyList<IReadOnlyList<StreamEvent>> requests, IReadOnlyList<Guid> duplicateIds)
    {
        var reported = new Dictionary<Guid, int>();
        foreach (var id in duplicateIds)
        {
            reported[id] = reported.GetValueOrDefault(id) + 1;
        }

        var occurrences = new Dictionary<Guid, int>();
        foreach (var e in requests.SelectMany(r => r))
        {
            occurrences[e.Event.EventId] = occurrences.GetValueOrDefault(e.Event.EventId) + 1;
        }

        // Ids the commit wrote once: the first occurrence is the stored copy.
        var storedPending = new HashSet<Guid>(occurrences.Where(o => o.Value > reported.GetValueOrDefault(o.Key)).Select(o => o.Key));
        var result = new List<List<Guid>>(requests.Count);
        foreach (var request in requests)
        {
            var own = new List<Guid>();
            foreach (var e in request)
            {
                if (!storedPending.Remove(e.Event.EventId))
                {
                    own.Add(e.Event.EventId);
                }
            }

            result.Add(own);
        }

        return result;
    }

    /// <summary>Stops taking requests, commits everything already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(TimeSpan.FromSeconds(30));
            _stopping.Dispose();
        }
        catch (TimeoutException)
        {
            // The writer still holds the token; cancelling fails its commit, whose requests were not acknowledged.
            await _stopping.CancelAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Requests} requests failed ({Error}); retrying each request alone.")]
    private static partial void LogGroupFailed(ILogger logger, int requests, string error);
}

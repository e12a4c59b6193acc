using System.Collections.Concurrent;

namespace HealthScoring.Integrations.Stripe.Sync;

/// <summary>Where a sync is: which stage, and how far into it.</summary>
public enum StripeSyncStage
{
    Customers,
    Subscriptions,
    Invoices,

    /// <summary>Caught up: only events after <see cref="StripeSyncCursor.LastEventId"/> remain.</summary>
    Events,
}

/// <summary>A tenant's sync position, saved after every page so a stopped sync resumes where it was.</summary>
public sealed record StripeSyncCursor
{
    public required StripeSyncStage Stage { get; init; }

    /// <summary>In a listing stage: the last object already stored (the list resumes after it).</summary>
    public string? StartingAfter { get; init; }

    /// <summary>
    /// The last event handled. While the snapshot runs it is the newest event from before the snapshot started, so the
    /// events that happened during the snapshot are read afterwards. Null when the account had no events then.
    /// </summary>
    public string? LastEventId { get; init; }

    public DateTimeOffset? SnapshotStartedAt { get; init; }

    public DateTimeOffset? SnapshotCompletedAt { get; init; }
}

/// <summary>Persists <see cref="StripeSyncCursor"/>s, one per tenant.</summary>
public interface IStripeSyncCursorStore
{
    Task<StripeSyncCursor?> GetAsync(string tenantId, CancellationToken cancellationToken);

    Task SaveAsync(string tenantId, StripeSyncCursor cursor, CancellationToken cancellationToken);

    /// <summary>Forgets the tenant's position: the next sync starts with a full snapshot.</summary>
    Task ResetAsync(string tenantId, CancellationToken cancellationToken);
}

/// <summary>Cursors in memory, for tests and single-process tools.</summary>
public sealed class InMemoryStripeSyncCursorStore : IStripeSyncCursorStore
{
    private readonly ConcurrentDictionary<string, StripeSyncCursor> _cursors = new(StringComparer.Ordinal);

    public Task<StripeSyncCursor?> GetAsync(string tenantId, CancellationToken cancellationToken) =>
        Task.FromResult(_cursors.TryGetValue(tenantId, out var cursor) ? cursor : null);

    public Task SaveAsync(string tenantId, StripeSyncCursor cursor, CancellationToken cancellationToken)
    {
        _cursors[tenantId] = cursor;
        return Task.CompletedTask;
    }

    public Task ResetAsync(string tenantId, CancellationToken cancellationToken)
    {
        _cursors.TryRemove(tenantId, out _);
        return Task.CompletedTask;
    }
}

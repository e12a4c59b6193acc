namespace HealthScoring.EventStore;

/// <summary>
/// The append-only event log: per-tenant, per-stream, with one global order. Shaped after Marten's
/// <c>IEventStore</c> operations (append with expected version, fetch stream, read all) so that it can be
/// swapped for Marten where that library is available.
/// </summary>
public interface IEventStore
{
    /// <summary>
    /// Appends to one stream if it is at <paramref name="expectedVersion"/>; events whose ids are already
    /// stored are skipped and reported. All-or-nothing.
    /// </summary>
    /// <exception cref="ConcurrencyException">The stream was not at the expected version; nothing was written.</exception>
    /// <exception cref="UnregisteredEventTypeException">An event's type is not registered; nothing was written.</exception>
    /// <exception cref="EventSerializationException">An event could not be serialized; nothing was written.</exception>
    Task<AppendResult> AppendToStreamAsync(string tenantId, string streamId, ExpectedVersion expectedVersion, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends many events across many streams of one tenant in one transaction through binary COPY, whatever
    /// each stream's version. Events whose ids are already stored are skipped and reported. All-or-nothing.
    /// Concurrent calls may overlap: a call numbers and writes its events before it locks its streams, so one call
    /// can write while another on the same streams commits; each stream's versions still run 1..n without gaps.
    /// </summary>
    /// <exception cref="UnregisteredEventTypeException">An event's type is not registered; nothing was written.</exception>
    /// <exception cref="EventSerializationException">An event could not be serialized; nothing was written.</exception>
    Task<BulkAppendResult> BulkAppendAsync(string tenantId, IReadOnlyList<StreamEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Reads one stream forward, optionally only up to a version or a point in time.</summary>
    IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string tenantId, string streamId, ReadStreamOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The stream's current version, or null when it does not exist.</summary>
    Task<long?> GetStreamVersionAsync(string tenantId, string streamId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="maxCount"/> events after <paramref name="after"/> in global order, only as far
    /// as every earlier transaction has finished (so a later read never finds an event before a position
    /// already passed). Pass <paramref name="tenantId"/> to read one tenant only; null reads all tenants (for
    /// system subscriptions, which keep tenants apart themselves). <paramref name="omit"/> names data fields the
    /// caller never reads.
    /// </summary>
    Task<LogPage> ReadAllAsync(LogPosition after, int maxCount, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads like <see cref="ReadAllAsync"/>, but returns only events of the given CLR types (stored under their
    /// registered names, or under older names that upcast to them); the rest are skipped in the database, never
    /// read. The page's <see cref="LogPage.LastPosition"/> moves past the skipped events too, so a subscription
    /// that wants a few rare types does not scan the others again.
    /// </summary>
    Task<LogPage> ReadAllOfTypesAsync(LogPosition after, int maxCount, IReadOnlyCollection<Type> eventTypes, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Retention: deletes a tenant's events of the given types that occurred before <paramref name="occurredBefore"/>,
    /// but never one that some subscription has not processed yet (so read models built from them stay whole).
    /// Stream versions are kept: a purged stream simply starts later. Returns how many events were deleted.
    /// </summary>
    Task<long> PurgeAsync(string tenantId, IReadOnlyCollection<string> eventTypes, DateTimeOffset occurredBefore, CancellationToken cancellationToken = default);
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace HealthScoring.EventStore;

/// <summary>What the caller believes about a stream's version before appending to it.</summary>
public readonly record struct ExpectedVersion
{
    private ExpectedVersion(long value) => Value = value;

    /// <summary>The raw value: a version ≥ 0, or one of the negative markers.</summary>
    public long Value { get; }

    /// <summary>Append whatever the stream's version is.</summary>
    public static ExpectedVersion Any { get; } = new(-2);

    /// <summary>Append only if the stream does not exist yet.</summary>
    public static ExpectedVersion NoStream { get; } = new(-1);

    /// <summary>Append only if the stream's current version is exactly <paramref name="version"/> (the first event is version 1).</summary>
    public static ExpectedVersion Exactly(long version) =>
        version >= 1 ? new ExpectedVersion(version) : throw new ArgumentOutOfRangeException(nameof(version), version, "Stream versions start at 1; use NoStream for a new stream.");

    /// <inheritdoc />
    public override string ToString() => Value switch
    {
        -2 => "any",
        -1 => "no stream",
        _ => Value.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>Correlation and provenance carried beside an event's data.</summary>
/// <param name="CorrelationId">Ties together everything caused by one outside request.</param>
/// <param name="CausationId">The id of the message or event that caused this one.</param>
/// <param name="Source">Where the event came from, such as <c>http</c>, <c>grpc</c>, <c>import</c> or <c>stripe</c>.</param>
/// <param name="Headers">Any further string pairs worth keeping.</param>
public sealed record EventMetadata(
    string? CorrelationId = null,
    string? CausationId = null,
    string? Source = null,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>True when nothing would be stored.</summary>
    public bool IsEmpty => CorrelationId is null && CausationId is null && Source is null && (Headers is null || Headers.Count == 0);
}

/// <summary>An event to append.</summary>
/// <param name="EventId">Unique per tenant. Appending an id that is already stored is skipped and reported as a duplicate.</param>
/// <param name="Data">The event; its CLR type must be registered in the <see cref="EventTypeRegistry"/>.</param>
/// <param name="Metadata">Optional correlation and provenance.</param>
/// <param name="OccurredAt">When it happened in the outside world; defaults to the time of the append.</param>
public sealed record NewEvent(Guid EventId, object Data, EventMetadata? Metadata = null, DateTimeOffset? OccurredAt = null);

/// <summary>An event addressed to a stream, for bulk appends across many streams.</summary>
/// <param name="StreamId">The stream (for HealthScoring: one per account).</param>
/// <param name="Event">The event.</param>
public sealed record StreamEvent(string StreamId, NewEvent Event);

/// <summary>
/// A position in the global log: the writing transaction's id, then the event's sequence number. The log is
/// read in this order; see the project README for why this never skips a late-committing event.
/// </summary>
/// <param name="TransactionId">The <c>xid8</c> of the transaction that wrote the event.</param>
/// <param name="Sequence">The event's global sequence number.</param>
public readonly record struct LogPosition(ulong TransactionId, long Sequence) : IComparable<LogPosition>
{
    /// <summary>Before the first event.</summary>
    public static LogPosition Start { get; } = new(0, 0);

    /// <inheritdoc />
    public int CompareTo(LogPosition other)
    {
        var byTx = TransactionId.CompareTo(other.TransactionId);
        return byTx != 0 ? byTx : Sequence.CompareTo(other.Sequence);
    }

    /// <summary>Orders positions.</summary>
    public static bool operator <(LogPosition left, LogPosition right) => left.CompareTo(right) < 0;

    /// <summary>Orders positions.</summary>
    public static bool operator >(LogPosition left, LogPosition right) => left.CompareTo(right) > 0;

    /// <summary>Orders positions.</summary>
    public static bool operator <=(LogPosition left, LogPosition right) => left.CompareTo(right) <= 0;

    /// <summary>Orders positions.</summary>
    public static bool operator >=(LogPosition left, LogPosition right) => left.CompareTo(right) >= 0;

    /// <summary>Formats as <c>transaction/sequence</c>, the form <see cref="Parse"/> reads.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{TransactionId}/{Sequence}");

    /// <summary>Reads the <c>transaction/sequence</c> form.</summary>
    public static LogPosition Parse(string text) =>
        TryParse(text, out var position) ? position : throw new FormatException($"'{text}' is not a log position (expected 'transaction/sequence').");

    /// <summary>Reads the <c>transaction/sequence</c> form.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out LogPosition position)
    {
        position = default;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash < 0)
        {
            return false;
        }

        if (!ulong.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var tx)
            || !long.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        position = new LogPosition(tx, seq);
        return true;
    }
}

/// <summary>An event as stored.</summary>
/// <param name="Position">Its place in the global log.</param>
/// <param name="TenantId">The tenant that owns the stream.</param>
/// <param name="StreamId">The stream.</param>
/// <param name="StreamVersion">Its version within the stream, from 1.</param>
/// <param name="EventId">Its unique id within the tenant.</param>
/// <param name="EventType">The registered type name, after any upcasting.</param>
/// <param name="Data">The deserialized event, or null when <see cref="IsUnknownType"/>.</param>
/// <param name="Json">The event's JSON as stored (before upcasting).</param>
/// <param name="Metadata">Correlation and provenance.</param>
/// <param name="OccurredAt">When it happened.</param>
/// <param name="RecordedAt">When it was committed to the log.</param>
public sealed record RecordedEvent(
    LogPosition Position,
    string TenantId,
    string StreamId,
    long StreamVersion,
    Guid EventId,
    string EventType,
    object? Data,
    string Json,
    EventMetadata Metadata,
    DateTimeOffset OccurredAt,
    DateTimeOffset RecordedAt)
{
    /// <summary>True when the log holds a type name that this process has not registered; the event is surfaced, not dropped.</summary>
    public bool IsUnknownType => Data is null;
}

/// <summary>The outcome of appending to one stream.</summary>
/// <param name="StreamVersion">The stream's version after the append.</param>
/// <param name="AppendedCount">How many events were written.</param>
/// <param name="DuplicateEventIds">Events skipped because their id was already stored (or repeated in the call).</param>
public sealed record AppendResult(long StreamVersion, int AppendedCount, IReadOnlyList<Guid> DuplicateEventIds);

/// <summary>The outcome of a bulk append.</summary>
/// <param name="AppendedCount">How many events were written.</param>
/// <param name="DuplicateEventIds">Events skipped because their id was already stored (or repeated in the call).</param>
/// <param name="StreamVersions">Each touched stream's version after the append.</param>
public sealed record BulkAppendResult(int AppendedCount, IReadOnlyList<Guid> DuplicateEventIds, IReadOnlyDictionary<string, long> StreamVersions);

/// <summary>A page of the global log.</summary>
/// <param name="Events">The events, in log order.</param>
/// <param name="LastPosition">The position to read after next time (the last event's, or the requested one when empty).</param>
public sealed record LogPage(IReadOnlyList<RecordedEvent> Events, LogPosition LastPosition);

/// <summary>Limits for reading one stream.</summary>
/// <param name="FromVersion">The first version to return (default 1).</param>
/// <param name="ToVersion">The last version to return, if any.</param>
/// <param name="OccurredUntil">Only events that occurred at or before this instant.</param>
/// <param name="RecordedUntil">Only events recorded at or before this instant: the stream as it was known then.</param>
public sealed record ReadStreamOptions(long FromVersion = 1, long? ToVersion = null, DateTimeOffset? OccurredUntil = null, DateTimeOffset? RecordedUntil = null);

/// <summary>
/// Top-level JSON fields (as stored, e.g. <c>context</c>) of some event types that a reader of the whole log never
/// looks at: the database leaves them out, so neither it nor the reader spends time on them. The events come back
/// with those members unset (and <see cref="RecordedEvent.Json"/> without them). Upcasters of the types' older
/// names must not need the omitted fields.
/// </summary>
public sealed record DataOmission(IReadOnlyCollection<Type> EventTypes, IReadOnlyCollection<string> Fields);

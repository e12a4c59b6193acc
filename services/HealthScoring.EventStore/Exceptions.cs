namespace HealthScoring.EventStore;

/// <summary>Base of the store's own errors.</summary>
public class EventStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventStoreException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A stream was not at the version the caller expected; nothing was written.</summary>
public sealed class ConcurrencyException : EventStoreException
{
    /// <summary>Creates the exception.</summary>
    public ConcurrencyException(string tenantId, string streamId, ExpectedVersion expected, long? actual)
        : base($"Stream '{streamId}' of tenant '{tenantId}' is at version {(actual is null ? "none (it does not exist)" : actual.Value)}, expected {expected}. Nothing was written.")
    {
        TenantId = tenantId;
        StreamId = streamId;
        Expected = expected;
        ActualVersion = actual;
    }

    /// <summary>The tenant.</summary>
    public string TenantId { get; }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>What the caller expected.</summary>
    public ExpectedVersion Expected { get; }

    /// <summary>The stream's version when the append was refused, or null if it did not exist.</summary>
    public long? ActualVersion { get; }
}

/// <summary>An event's CLR type has no registered name; nothing of the call was written.</summary>
public sealed class UnregisteredEventTypeException : EventStoreException
{
    /// <summary>Creates the exception.</summary>
    public UnregisteredEventTypeException(Guid eventId, Type type)
        : base($"Event {eventId} is of type {type.FullName}, which is not registered in the EventTypeRegistry. Nothing was written.")
    {
        EventId = eventId;
        ClrType = type;
    }

    /// <summary>The offending event.</summary>
    public Guid EventId { get; }

    /// <summary>Its CLR type.</summary>
    public Type ClrType { get; }
}

/// <summary>An event's data could not be serialized to JSON; nothing of the call was written.</summary>
public sealed class EventSerializationException : EventStoreException
{
    /// <summary>Creates the exception.</summary>
    public EventSerializationException(Guid eventId, string eventType, Exception inner)
        : base($"Event {eventId} ({eventType}) could not be serialized: {inner.Message} Nothing was written.", inner)
    {
        EventId = eventId;
        EventType = eventType;
    }

    /// <summary>The offending event.</summary>
    public Guid EventId { get; }

    /// <summary>Its registered type name.</summary>
    public string EventType { get; }
}

using System.Text.Json.Nodes;

namespace HealthScoring.Api.Ingestion;

public enum MessageType
{
    Track,
    Identify,
    Group,
}

/// <summary>One Segment call as received, from HTTP JSON or gRPC, before validation.</summary>
public sealed record IncomingMessage
{
    public required MessageType Type { get; init; }

    public string? MessageId { get; init; }

    public string? UserId { get; init; }

    public string? AnonymousId { get; init; }

    /// <summary>track: the account (top-level groupId or context.groupId); group: the account being joined.</summary>
    public string? GroupId { get; init; }

    public string? Event { get; init; }

    public JsonObject? Properties { get; init; }

    public JsonObject? Traits { get; init; }

    public JsonObject? Context { get; init; }

    public DateTimeOffset? Timestamp { get; init; }

    public DateTimeOffset? OriginalTimestamp { get; init; }

    public DateTimeOffset? SentAt { get; init; }

    /// <summary>Bytes of the message as received, for the per-message size limit.</summary>
    public int Size { get; init; }
}

/// <summary>A rejected item: which one, which field, and why.</summary>
public sealed record ItemError(int Index, string Field, string Reason);

/// <summary>An item of a request: the message when it could be read, and what is wrong with it.</summary>
public sealed record ParsedItem(int Index, IncomingMessage? Message, IReadOnlyList<ItemError> Errors)
{
    public bool IsValid => Message is not null && Errors.Count == 0;
}

/// <summary>What an ingest call did.</summary>
public sealed record IngestOutcome(int Accepted, int Duplicates, int Unassigned, IReadOnlyList<ItemError> Errors)
{
    public static IngestOutcome Empty { get; } = new(0, 0, 0, []);

    public IngestOutcome Add(IngestOutcome other) =>
        new(Accepted + other.Accepted, Duplicates + other.Duplicates, Unassigned + other.Unassigned, [.. Errors, .. other.Errors]);
}

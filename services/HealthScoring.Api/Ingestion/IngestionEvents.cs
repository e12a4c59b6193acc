using System.Text.Json.Nodes;

namespace HealthScoring.Api.Ingestion;

// The usage events as stored in the log, one stream per account (or per user while unassigned). Segment's
// shape is kept, except that a user's personal data (identify traits, context.traits, context.ip) is held only
// in Personal, encrypted under that user's own key (see Privacy/PersonalDataProtector): erasing the user
// deletes the key, and the log itself is never rewritten.

/// <summary>A Segment <c>track</c> call: a user did something in the product.</summary>
public sealed record TrackRecorded(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    string Event,
    JsonObject? Properties,
    JsonObject? Context,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? SentAt,
    string? Personal = null);

/// <summary>A Segment <c>identify</c> call: who a user is. All its traits are the user's personal data, so they are only in <see cref="Personal"/>.</summary>
public sealed record UserIdentified(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    JsonObject? Context,
    DateTimeOffset ReceivedAt,
    string? Personal = null);

/// <summary>A Segment <c>group</c> call: a user belongs to an account (the group), with the account's traits.</summary>
public sealed record UserGrouped(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    string GroupId,
    JsonObject? Traits,
    JsonObject? Context,
    DateTimeOffset ReceivedAt,
    string? Personal = null);


internal static class IngestionEventTypes
{
    /// <summary>The raw usage events that retention may purge.</summary>
    public static IReadOnlyList<string> RawUsage { get; } = ["segment.track", "segment.identify", "segment.group"];

    public static void Register(HealthScoring.EventStore.EventTypeRegistry registry) => registry
        .Register<TrackRecorded>("segment.track")
        .Register<UserIdentified>("segment.identify")
        .Register<UserGrouped>("segment.group");
}

using System.Text.Json.Nodes;

namespace HealthScoring.Api.Ingestion;

// The usage events as stored in the log, one stream per account (or per user while unassigned). Segment's
// shape is kept: what the sender sent stays readable, and nothing is dropped.

/// <summary>A Segment <c>track</c> call: a user did something in the product.</summary>
public sealed record TrackRecorded(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    string Event,
    JsonObject? Properties,
    JsonObject? Context,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? SentAt);

/// <summary>A Segment <c>identify</c> call: who a user is (traits such as plan or role).</summary>
public sealed record UserIdentified(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    JsonObject? Traits,
    JsonObject? Context,
    DateTimeOffset ReceivedAt);

/// <summary>A Segment <c>group</c> call: a user belongs to an account (the group), with the account's traits.</summary>
public sealed record UserGrouped(
    string MessageId,
    string? UserId,
    string? AnonymousId,
    string GroupId,
    JsonObject? Traits,
    JsonObject? Context,
    DateTimeOffset ReceivedAt);


internal static class IngestionEventTypes
{
    public static void Register(HealthScoring.EventStore.EventTypeRegistry registry) => registry
        .Register<TrackRecorded>("segment.track")
        .Register<UserIdentified>("segment.identify")
        .Register<UserGrouped>("segment.group");
}

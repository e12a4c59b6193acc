namespace HealthScoring.Api.Ingestion;

/// <summary>The rules every Segment call must meet, whichever door it came through.</summary>
public static class MessageValidator
{
    public static IReadOnlyList<ItemError> Validate(int index, IncomingMessage m, IngestionOptions options)
    {
        var errors = new List<ItemError>();
        if (m.Size > options.MaxMessageBytes)
        {
            errors.Add(new ItemError(index, "", $"message is {m.Size:N0} bytes; the limit is {options.MaxMessageBytes:N0}"));
        }

        if (string.IsNullOrWhiteSpace(m.MessageId))
        {
            errors.Add(new ItemError(index, "messageId", "is required"));
        }

        if (string.IsNullOrWhiteSpace(m.UserId) && string.IsNullOrWhiteSpace(m.AnonymousId))
        {
            errors.Add(new ItemError(index, "userId", "userId or anonymousId is required"));
        }

        if (m.Type == MessageType.Track && string.IsNullOrWhiteSpace(m.Event))
        {
            errors.Add(new ItemError(index, "event", "is required for track"));
        }

        if (m.Type == MessageType.Group && string.IsNullOrWhiteSpace(m.GroupId))
        {
            errors.Add(new ItemError(index, "groupId", "is required for group"));
        }

        foreach (var (field, value) in new[] { ("messageId", m.MessageId), ("userId", m.UserId), ("anonymousId", m.AnonymousId), ("groupId", m.GroupId), ("event", m.Event) })
        {
            if (value is not null && value.Length > options.MaxIdLength)
            {
                errors.Add(new ItemError(index, field, $"is longer than {options.MaxIdLength} characters"));
            }
            else if (value is not null && value.Any(char.IsControl))
            {
                errors.Add(new ItemError(index, field, "contains control characters"));
            }
        }

        return errors;
    }

    /// <summary>The earliest time an event may have happened: older ones are a sender's bug (or a hostile one), not usage.</summary>
    public static readonly DateTimeOffset EarliestOccurredAt = DateTimeOffset.UnixEpoch;

    /// <summary>
    /// When the event happened on our clock. Segment's rule: the sender's timestamp, shifted by the skew between
    /// the sender's clock (sentAt) and ours (receivedAt) when sentAt is known; receipt time when none is given.
    /// Null when the correction leaves the calendar (a timestamp and a sentAt thousands of years apart).
    /// </summary>
    public static DateTimeOffset? OccurredAt(IncomingMessage m, DateTimeOffset receivedAt, DateTimeOffset? batchSentAt)
    {
        var stamped = m.Timestamp ?? m.OriginalTimestamp;
        if (stamped is null)
        {
            return receivedAt;
        }

        var sentAt = m.SentAt ?? batchSentAt;
        if (sentAt is null)
        {
            return stamped.Value.ToUniversalTime();
        }

        var skew = receivedAt - sentAt.Value;
        var utc = stamped.Value.UtcDateTime;
        return skew > DateTime.MaxValue - utc || skew < DateTime.MinValue - utc ? null : new DateTimeOffset(utc + skew, TimeSpan.Zero);
    }
}

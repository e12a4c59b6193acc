namespace HealthScoring.Api.Ingestion;

/// <summary>Limits and tolerances of ingestion (configuration section <c>Ingestion</c>).</summary>
public sealed class IngestionOptions
{
    public const string SectionName = "Ingestion";

    /// <summary>Largest single message, as Segment's HTTP API (32 KB).</summary>
    public int MaxMessageBytes { get; set; } = 32 * 1024;

    /// <summary>Largest batch request, as Segment's HTTP API (500 KB).</summary>
    public int MaxBatchBytes { get; set; } = 500 * 1024;

    /// <summary>An event stamped further than this past receipt (after clock-skew correction) is rejected.</summary>
    public TimeSpan FutureTolerance { get; set; } = TimeSpan.FromHours(1);

    /// <summary>An event that happened longer than this before it was received counts as late in the data-quality report.</summary>
    public TimeSpan LateAfter { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long raw usage events (Segment track / identify / group) are kept; null keeps them for ever. Applied by
    /// <c>healthscore privacy apply-retention</c> (run it daily, e.g. from cron). Billing events and aggregates stay.
    /// </summary>
    public int? RetentionDays { get; set; }

    /// <summary>Longest id (messageId, userId, anonymousId, groupId) and event name accepted.</summary>
    public int MaxIdLength { get; set; } = 256;
}

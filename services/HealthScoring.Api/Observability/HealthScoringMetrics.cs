using System.Diagnostics;
using System.Diagnostics.Metrics;
using HealthScoring.Api.Ingestion;

namespace HealthScoring.Api.Observability;

/// <summary>
/// The service's own instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> made by the host's
/// <see cref="IMeterFactory"/> (so two hosts in one process keep apart). Labels are bounded and never carry tenant
/// ids, user ids, keys or personal data: <c>source</c> (http, grpc, import), <c>reason</c> (the rejected field, from a
/// fixed set), <c>integration</c> (hubspot, stripe), <c>status_class</c>, <c>outcome</c>, <c>message</c>, <c>subscription</c>.
/// </summary>
public sealed class HealthScoringMetrics
{
    public const string MeterName = "HealthScoring";

    /// <summary>Seconds: from a millisecond up to a minute (appends, HTTP calls).</summary>
    internal static readonly IReadOnlyList<double> LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Seconds: a scoring run's model work, from 10 ms to 10 minutes.</summary>
    internal static readonly IReadOnlyList<double> ScoringBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>The reject reasons a label may take: the Segment fields a message is checked on; anything else is <c>other</c>.</summary>
    private static readonly HashSet<string> RejectFields = new(StringComparer.Ordinal)
    {
        "type", "messageId", "userId", "anonymousId", "event", "groupId", "timestamp", "sentAt", "originalTimestamp",
        "receivedAt", "context", "properties", "traits", "integrations", "call",
    };

    private readonly Counter<long> _received;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _appendDuration;
    private readonly Counter<long> _appendedEvents;
    private readonly Counter<long> _published;
    private readonly Counter<long> _integrationCalls;
    private readonly Counter<long> _integrationErrors;
    private readonly Histogram<double> _integrationDuration;
    private readonly Histogram<double> _scoringDuration;
    private readonly Counter<long> _accountsScored;

    public HealthScoringMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(MeterName);
        _received = Meter.CreateCounter<long>("healthscoring.ingest.received", "{event}", "Usage events received, per source (http, grpc, import).");
        _accepted = Meter.CreateCounter<long>("healthscoring.ingest.accepted", "{event}", "Usage events stored in the log, per source.");
        _duplicates = Meter.CreateCounter<long>("healthscoring.ingest.duplicates", "{event}", "Usage events already stored (same messageId), per source.");
        _rejected = Meter.CreateCounter<long>("healthscoring.ingest.rejected", "{event}", "Usage events rejected, per source and reason (the field that failed; message: unreadable or too large).");
        _appendDuration = Meter.CreateHistogram<double>("healthscoring.append.duration", "s", "Time of one ingest append to the event log (a group commit: reserve, COPY, commit).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _appendedEvents = Meter.CreateCounter<long>("healthscoring.append.events", "{event}", "Events handed to ingest appends, per outcome (ok, error).");
        _published = Meter.CreateCounter<long>("healthscoring.alerts.published", "{message}", "Score and alert messages published to RabbitMQ, per message type.");
        _integrationCalls = Meter.CreateCounter<long>("healthscoring.integration.calls", "{call}", "HTTP requests to HubSpot and Stripe (each attempt), per integration and status class.");
        _integrationErrors = Meter.CreateCounter<long>("healthscoring.integration.errors", "{call}", "HTTP requests to HubSpot and Stripe that failed (4xx, 5xx or no answer), per integration and status class.");
        _integrationDuration = Meter.CreateHistogram<double>("healthscoring.integration.duration", "s", "Time of one HTTP request to HubSpot or Stripe, per integration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _scoringDuration = Meter.CreateHistogram<double>("healthscoring.model.scoring.duration", "s", "Model time of one scoring run: features, probabilities and explanations of every active account.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ScoringBuckets });
        _accountsScored = Meter.CreateCounter<long>("healthscoring.model.accounts_scored", "{account}", "Accounts scored by the models.");
    }

    /// <summary>The meter; gauges of other parts of the host (subscription lag) are created on it.</summary>
    public Meter Meter { get; }

    /// <summary>Counts one ingest call's items: received, stored, duplicates and each rejected item under its first error's field.</summary>
    public void RecordIngest(string source, int received, int accepted, int duplicates, IEnumerable<ItemError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var sourceTag = new KeyValuePair<string, object?>("source", Source(source));
        _received.Add(received, sourceTag);
        if (accepted > 0)
        {
            _accepted.Add(accepted, sourceTag);
        }

        if (duplicates > 0)
        {
            _duplicates.Add(duplicates, sourceTag);
        }

        foreach (var reason in errors.GroupBy(e => e.Index).Select(g => RejectReason(g.First().Field)).GroupBy(r => r))
        {
            _rejected.Add(reason.Count(), sourceTag, new KeyValuePair<string, object?>("reason", reason.Key));
        }
    }

    /// <summary>Records one append of <paramref name="events"/> events that took from <paramref name="startedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void RecordAppend(long startedAt, int events, bool ok)
    {
        var outcome = new KeyValuePair<string, object?>("outcome", ok ? "ok" : "error");
        _appendDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, outcome);
        _appendedEvents.Add(events, outcome);
    }

    /// <summary>Counts one message published to the bus, by its type's name (a fixed set: scores and four alert kinds).</summary>
    public void RecordPublished(Type messageType)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        _published.Add(1, new KeyValuePair<string, object?>("message", messageType.Name));
    }

    /// <summary>Records one HTTP request to an integration: its status (null when no answer came) and duration.</summary>
    public void RecordIntegrationCall(string integration, int? status, long startedAt)
    {
        var statusClass = status is { } code and >= 100 and < 600 ? $"{code / 100}xx" : "none";
        KeyValuePair<string, object?>[] tags = [new("integration", integration), new("status_class", statusClass)];
        _integrationCalls.Add(1, tags);
        if (status is null or >= 400)
        {
            _integrationErrors.Add(1, tags);
        }

        _integrationDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, new KeyValuePair<string, object?>("integration", integration));
    }

    /// <summary>Records a scoring run's model time (from <paramref name="startedAt"/>, a <see cref="Stopwatch"/> timestamp) and how many accounts it scored.</summary>
    public void RecordScoring(long startedAt, int accounts)
    {
        _scoringDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);
        _accountsScored.Add(accounts);
    }

    /// <summary>The label of a source: the pipeline's own names; anything else is <c>other</c>.</summary>
    private static string Source(string source) => source is "http" or "grpc" or "import" ? source : "other";

    /// <summary>
    /// The label of a rejected field: its first segment (<c>properties.plan</c> is <c>properties</c>, as the property
    /// names are the tenant's own) when it is one of Segment's fields; <c>message</c> for the message as a whole.
    /// </summary>
    internal static string RejectReason(string field)
    {
        if (string.IsNullOrEmpty(field))
        {
            return "message";
        }

        var end = field.AsSpan().IndexOfAny('.', '[');
        var head = end < 0 ? field : field[..end];
        return RejectFields.Contains(head) ? head : "other";
    }
}

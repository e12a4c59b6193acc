using HealthScoring.Api.Observability;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using MassTransit;
using M = HealthScoring.Contracts.Messages;

namespace HealthScoring.Api.Alerts;

/// <summary>
/// Publishes scores and alerts from the event log to RabbitMQ: the log is the outbox. A subscription hands this
/// handler each batch; it publishes every message (with publisher confirms) before the checkpoint moves, so a
/// crash or a broker outage means the batch is published again from the checkpoint: at least once, never lost.
/// Each message's id is the stored event's id, so consumers recognise redeliveries.
/// </summary>
public sealed partial class AlertPublisher(IBus bus, ILogger<AlertPublisher> logger, HealthScoringMetrics metrics) : ISubscriptionHandler
{
    public const string SubscriptionName = "alerts-publisher";

    public async Task HandleAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        var published = 0;
        foreach (var e in events)
        {
            var message = ToMessage(e);
            if (message is null)
            {
                continue;
            }

            await bus.Publish(message, message.GetType(), context => context.MessageId = e.EventId, cancellationToken);
            metrics.RecordPublished(message.GetType());
            published++;
        }

        if (published > 0)
        {
            LogPublished(logger, published);
        }
    }

    /// <summary>
    /// The event types <see cref="ToMessage"/> publishes: the subscription reads only these (usage events, the bulk
    /// of the log, are skipped in the database). Keep in step with <see cref="ToMessage"/>.
    /// </summary>
    public static IReadOnlyCollection<Type> PublishedTypes { get; } =
        [typeof(AccountHealthScored), typeof(AccountBecameAtRisk), typeof(AccountRecovered), typeof(ExpansionSignalDetected), typeof(ChurnRiskJumped)];

    /// <summary>The bus message for a stored event, or null for events that are not published.</summary>
    public static object? ToMessage(RecordedEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!e.StreamId.StartsWith(Ingestion.IngestionPipeline.AccountStreamPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var account = e.StreamId[Ingestion.IngestionPipeline.AccountStreamPrefix.Length..];
        return e.Data switch
        {
            AccountHealthScored s => new M.AccountHealthScored(e.TenantId, account, s.AsOf, s.HealthScore, s.Band, s.ChurnProbability, s.ExpansionProbability, s.PreviousScore, Drivers(s.Drivers), e.RecordedAt),
            AccountBecameAtRisk a => new M.AccountBecameAtRisk(e.TenantId, account, a.AlertId, a.AsOf, a.HealthScore, a.ChurnProbability, a.Owner, Drivers(a.Drivers)),
            AccountRecovered r => new M.AccountRecovered(e.TenantId, account, r.AlertId, r.AsOf, r.HealthScore, r.Band, r.Owner),
            ExpansionSignalDetected x => new M.ExpansionSignalDetected(e.TenantId, account, x.AlertId, x.AsOf, x.ExpansionProbability, x.HealthScore, x.Owner, Drivers(x.Drivers)),
            ChurnRiskJumped j => new M.ChurnRiskJumped(e.TenantId, account, j.AlertId, j.AsOf, j.ChurnProbability, j.PreviousChurnProbability, j.Owner, Drivers(j.Drivers)),
            _ => null,
        };
    }

    private static M.ScoreDriverMessage[] Drivers(IReadOnlyList<ScoreDriver> drivers) => [.. drivers.Select(d => new M.ScoreDriverMessage(d.Feature, d.Text, d.Contribution))];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Published {Count} score and alert messages")]
    private static partial void LogPublished(ILogger logger, int count);
}

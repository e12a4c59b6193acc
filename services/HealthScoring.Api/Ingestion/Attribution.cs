using HealthScoring.EventStore;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Copies events that waited in a holding stream (a user with no account yet, a Stripe customer not yet linked)
/// into the account's stream once the account is known. The log is never rewritten: each copy is a new event of
/// the same type and data, with the original's occurred-at, its id derived from the original's (so copying twice
/// stores it once) and the original as its causation.
/// </summary>
public static class Attribution
{
    public const string Source = "attribution";

    public static async Task<int> CopyAsync(IEventStore store, string tenantId, string fromStream, string toStream, Func<RecordedEvent, bool> include, CancellationToken cancellationToken)
    {
        if (await store.GetStreamVersionAsync(tenantId, fromStream, cancellationToken) is null)
        {
            return 0;
        }

        var copies = new List<StreamEvent>();
        await foreach (var e in store.ReadStreamAsync(tenantId, fromStream, cancellationToken: cancellationToken))
        {
            if (e.Data is not null && include(e))
            {
                copies.Add(new StreamEvent(toStream, new NewEvent(
                    EventIds.Derive(Source, $"{e.EventId:N}"),
                    e.Data,
                    new EventMetadata(e.Metadata.CorrelationId, CausationId: e.EventId.ToString(), Source: Source),
                    e.OccurredAt)));
            }
        }

        return copies.Count == 0 ? 0 : (await store.BulkAppendAsync(tenantId, copies, cancellationToken)).AppendedCount;
    }
}

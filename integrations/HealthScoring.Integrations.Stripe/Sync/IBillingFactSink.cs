namespace HealthScoring.Integrations.Stripe.Sync;

/// <summary>
/// Where <see cref="StripeSync"/> hands billing facts, page by page. The shape is that of the host's
/// <c>BillingIngestion.IngestAsync(tenantId, results, source, cancellationToken)</c>, which stores each fact under an id
/// derived from <see cref="StripeEventEnvelope.Id"/>, so a fact seen twice is stored once; the host adapts it in one line.
/// </summary>
public interface IBillingFactSink
{
    /// <param name="tenantId">The tenant the Stripe account belongs to.</param>
    /// <param name="events">Facts with their envelopes: real <c>evt_…</c> ids from the events API, or <c>sync:…</c> ids for listed objects (see <see cref="StripeSyncKeys"/>).</param>
    /// <param name="source">For the stored metadata, for example <c>stripe-sync</c>.</param>
    /// <param name="cancellationToken">Stops the hand-over; the sync then resumes from its last saved cursor.</param>
    Task StoreAsync(string tenantId, IReadOnlyList<ParsedStripeEvent> events, string source, CancellationToken cancellationToken);
}

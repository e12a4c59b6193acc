using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;
using Npgsql;

namespace HealthScoring.Api.Billing;

/// <summary>What a billing ingest did.</summary>
public sealed record BillingOutcome(int Stored, int Duplicates, int Ignored, int Unlinked);

/// <summary>
/// Appends Stripe billing facts (from webhooks, a file import or a sync) to the account's stream. A customer
/// is linked to an account by a metadata key (default <c>account_id</c>); facts of a customer not linked yet
/// wait in a <c>stripe-customer:</c> stream and are copied to the account when a customer event links it.
/// Event ids derive from Stripe's <c>evt_</c> ids, so the same event by webhook and by import is stored once.
/// </summary>
public sealed class BillingIngestion(IEventStore store, NpgsqlDataSource dataSource, EventStoreOptions options, StripeSettingsStore settings)
{
    private readonly string _s = options.Schema;

    public const string CustomerStreamPrefix = "stripe-customer:";

    public static Guid EventIdOf(string stripeEventId) => EventIds.Derive("stripe", stripeEventId);

    public async Task<BillingOutcome> IngestAsync(string tenantId, IReadOnlyList<StripeEventParseResult> results, string source, CancellationToken cancellationToken)
    {
        var link = new StripeCustomerLink((await settings.GetAsync(tenantId, cancellationToken)).CustomerMetadataKey);
        var facts = results.OfType<ParsedStripeEvent>().ToList();
        var ignored = results.Count - facts.Count;

        // Links known before this call, then those this call's own customer facts make (in order).
        var linked = await LinkedAccountsAsync(tenantId, facts.Select(f => f.Fact.CustomerId).OfType<string>(), cancellationToken);
        var newLinks = new Dictionary<string, string>(StringComparer.Ordinal);
        var events = new List<StreamEvent>(facts.Count);
        var unlinked = 0;
        foreach (var (envelope, fact) in facts)
        {
            var account = link.AccountIdFrom(fact);
            if (account is not null && fact.CustomerId is not null)
            {
                linked[fact.CustomerId] = account;
                newLinks[fact.CustomerId] = account;
            }

            account ??= fact.CustomerId is null ? null : linked.GetValueOrDefault(fact.CustomerId);
            var stream = account is not null ? IngestionPipeline.AccountStream(account) : CustomerStreamPrefix + (fact.CustomerId ?? "unknown");
            unlinked += account is null ? 1 : 0;
            events.Add(new StreamEvent(stream, new NewEvent(EventIdOf(envelope.Id), fact, new EventMetadata(CorrelationId: envelope.Id, Source: source), envelope.Created)));
        }

        var result = events.Count == 0 ? new BulkAppendResult(0, [], new Dictionary<string, long>()) : await store.BulkAppendAsync(tenantId, events, cancellationToken);
        if (newLinks.Count > 0)
        {
            await SaveLinksAsync(tenantId, newLinks, cancellationToken);
            foreach (var (customer, account) in newLinks)
            {
                await Attribution.CopyAsync(store, tenantId, CustomerStreamPrefix + customer, IngestionPipeline.AccountStream(account), _ => true, cancellationToken);
            }
        }

        return new BillingOutcome(result.AppendedCount, result.DuplicateEventIds.Count, ignored, unlinked);
    }

    private async Task<Dictionary<string, string>> LinkedAccountsAsync(string tenantId, IEnumerable<string> customers, CancellationToken cancellationToken)
    {
        var ids = customers.Distinct(StringComparer.Ordinal).ToArray();
        var linked = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return linked;
        }

        await using var command = dataSource.CreateCommand($"select customer_id, account_id from {_s}.stripe_customers where tenant_id = $1 and customer_id = any($2)");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(ids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            linked[reader.GetString(0)] = reader.GetString(1);
        }

        return linked;
    }

    private async Task SaveLinksAsync(string tenantId, Dictionary<string, string> links, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.stripe_customers as c (tenant_id, customer_id, account_id)
            select $1, k, a from unnest($2::text[], $3::text[]) as x(k, a)
            on conflict (tenant_id, customer_id) do update set account_id = excluded.account_id, updated_at = now()
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(links.Keys.ToArray());
        command.Parameters.AddWithValue(links.Values.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

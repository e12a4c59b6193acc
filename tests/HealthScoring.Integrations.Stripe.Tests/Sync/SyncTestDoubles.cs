using System.Collections.Concurrent;
using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Integrations.Stripe.Sync;

namespace HealthScoring.Integrations.Stripe.Tests.Sync;

/// <summary>Stores facts by event id, as BillingIngestion does (its stream event id derives from the Stripe event id).</summary>
internal sealed class DedupingSink : IBillingFactSink
{
    private readonly ConcurrentDictionary<string, ParsedStripeEvent> _stored = new(StringComparer.Ordinal);
    private int _batches;

    public IReadOnlyDictionary<string, ParsedStripeEvent> Stored => _stored;

    public IReadOnlyList<StripeBillingFact> Facts => [.. _stored.Values.Select(e => e.Fact)];

    public int Duplicates { get; private set; }

    public List<string> Sources { get; } = [];

    /// <summary>Throws on this batch number (1-based), once.</summary>
    public int? FailOnBatch { get; set; }

    public Task StoreAsync(string tenantId, IReadOnlyList<ParsedStripeEvent> events, string source, CancellationToken cancellationToken)
    {
        if (++_batches == FailOnBatch)
        {
            FailOnBatch = null;
            throw new InvalidOperationException("The store is down.");
        }

        Sources.Add(source);
        foreach (var stripeEvent in events)
        {
            if (!_stored.TryAdd(stripeEvent.Envelope.Id, stripeEvent))
            {
                Duplicates++;
            }
        }

        return Task.CompletedTask;
    }
}

internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

internal sealed class ListProgress<T> : IProgress<T>
{
    public List<T> Reports { get; } = [];

    public void Report(T value) => Reports.Add(value);
}

/// <summary>Runs test code at chosen points of a sync, to change Stripe while the snapshot is being taken.</summary>
internal sealed class HookedStripeClient(IStripeClient inner) : IStripeClient
{
    public Action? AfterLatestEvent { get; set; }

    public Action? BeforeInvoices { get; set; }

    public bool IsEnabled => inner.IsEnabled;

    public IAsyncEnumerable<StripeObject> ListCustomersAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default) =>
        inner.ListCustomersAsync(options, cancellationToken);

    public IAsyncEnumerable<StripeObject> ListSubscriptionsAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default) =>
        inner.ListSubscriptionsAsync(options, cancellationToken);

    public IAsyncEnumerable<StripeObject> ListInvoicesAsync(StripeListOptions? options = null, CancellationToken cancellationToken = default)
    {
        BeforeInvoices?.Invoke();
        return inner.ListInvoicesAsync(options, cancellationToken);
    }

    public IAsyncEnumerable<StripeObject> ListEventsAsync(string? after, StripeEventListOptions? options = null, CancellationToken cancellationToken = default) =>
        inner.ListEventsAsync(after, options, cancellationToken);

    public async Task<StripeObject?> GetLatestEventAsync(StripeEventListOptions? options = null, CancellationToken cancellationToken = default)
    {
        var latest = await inner.GetLatestEventAsync(options, cancellationToken);
        AfterLatestEvent?.Invoke();
        return latest;
    }

    public Task<StripeObject> UpdateCustomerMetadataAsync(string customerId, IReadOnlyDictionary<string, string?> metadata, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        inner.UpdateCustomerMetadataAsync(customerId, metadata, idempotencyKey, cancellationToken);

    public Task<StripeMeterEvent> CreateMeterEventAsync(string eventName, string customerId, long value, DateTimeOffset timestamp, string identifier, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        inner.CreateMeterEventAsync(eventName, customerId, value, timestamp, identifier, idempotencyKey, cancellationToken);
}

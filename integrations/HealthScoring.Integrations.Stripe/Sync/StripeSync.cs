using HealthScoring.Integrations.Stripe.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthScoring.Integrations.Stripe.Sync;

public sealed record StripeSyncOptions
{
    /// <summary>The customer metadata key naming our account (the tenant's <c>StripeCustomerLink</c> key).</summary>
    public string CustomerMetadataKey { get; init; } = StripeCustomerLink.DefaultMetadataKey;

    /// <summary>Objects or events per page, and per hand-over to the sink; 1–100.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>List only invoices created since then (<c>created[gte]</c>); null for all.</summary>
    public DateTimeOffset? InvoicesCreatedFrom { get; init; }

    /// <summary>The event types read after the snapshot (<c>types[]</c>, at most 20).</summary>
    public IReadOnlyList<string> EventTypes { get; init; } = StripeEventParser.HandledEventTypes;

    /// <summary>Passed to the sink with every batch.</summary>
    public string Source { get; init; } = "stripe-sync";
}

/// <summary>What a sync run did, so far. Counts are for this run.</summary>
public sealed record StripeSyncReport
{
    public required string TenantId { get; init; }

    /// <summary>True when the run did nothing because the Stripe integration is off.</summary>
    public bool Disabled { get; init; }

    public StripeSyncStage Stage { get; init; }

    public int CustomersListed { get; init; }

    public int SubscriptionsListed { get; init; }

    public int InvoicesListed { get; init; }

    public int EventsListed { get; init; }

    /// <summary>Facts handed to the sink (it may still find some already stored).</summary>
    public int FactsStored { get; init; }

    /// <summary>Listed objects or events no health fact describes (draft invoices, event types not used).</summary>
    public int Ignored { get; init; }

    /// <summary>Objects or events the parser could not read; logged with the field at fault.</summary>
    public int Invalid { get; init; }

    /// <summary>Events from the snapshot window whose effect the snapshot had already reported.</summary>
    public int CoveredBySnapshot { get; init; }

    /// <summary>The cursor event had gone from Stripe (older than about 30 days), so the snapshot ran again.</summary>
    public bool SnapshotRestarted { get; init; }

    public string? LastEventId { get; init; }
}

/// <summary>
/// Pulls a tenant's Stripe billing into facts, for tenants without webhooks. The first run takes a snapshot: it notes
/// the newest event, then pages customers, subscriptions and invoices (each turned into the fact its webhook would
/// give, under a synthetic id; see <see cref="StripeSyncKeys"/>); then, and on every later run, it reads the events
/// after the noted one, oldest first, which carry the same <c>evt_…</c> ids webhooks do. The cursor is saved after
/// every page, so a stopped run resumes. Events from the snapshot window are not stored twice: one that happened
/// before its object was listed is dropped when the listing already reported it (for states, anything up to the
/// listing; for invoice occurrences, the same occurrence).
/// </summary>
public sealed class StripeSync
{
    private static readonly StripeSyncStage[] ListingStages = [StripeSyncStage.Customers, StripeSyncStage.Subscriptions, StripeSyncStage.Invoices];

    private readonly IStripeClient _client;
    private readonly IBillingFactSink _sink;
    private readonly IStripeSyncCursorStore _cursors;
    private readonly StripeSyncOptions _options;
    private readonly StripeCustomerLink _link;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;

    public StripeSync(
        IStripeClient client,
        IBillingFactSink sink,
        IStripeSyncCursorStore cursors,
        StripeSyncOptions? options = null,
        ILogger<StripeSync>? logger = null,
        TimeProvider? clock = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _cursors = cursors ?? throw new ArgumentNullException(nameof(cursors));
        _options = options ?? new StripeSyncOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.BatchSize, 100, nameof(options));
        _link = new StripeCustomerLink(_options.CustomerMetadataKey);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
    }

    public async Task<StripeSyncReport> RunAsync(string tenantId, IProgress<StripeSyncReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        var run = new Run(tenantId, progress);
        if (!_client.IsEnabled)
        {
            _logger.LogInformation("Stripe sync for tenant {Tenant} skipped: the Stripe integration is off", tenantId);
            return run.Report with { Disabled = true };
        }

        var cursor = await _cursors.GetAsync(tenantId, cancellationToken);
        while (true)
        {
            if (cursor is null)
            {
                // Noted before listing, so whatever changes while the listing runs is read as events afterwards.
                var newest = await _client.GetLatestEventAsync(new StripeEventListOptions { Types = _options.EventTypes }, cancellationToken);
                cursor = new StripeSyncCursor { Stage = StripeSyncStage.Customers, LastEventId = newest?.Id, SnapshotStartedAt = _clock.GetUtcNow() };
                await _cursors.SaveAsync(tenantId, cursor, cancellationToken);
                _logger.LogInformation("Stripe sync for tenant {Tenant}: snapshot starts after event {EventId}", tenantId, cursor.LastEventId ?? "(none)");
            }

            if (cursor.Stage != StripeSyncStage.Events)
            {
                cursor = await SnapshotAsync(run, cursor, cancellationToken);
            }

            try
            {
                await EventsAsync(run, cursor, cancellationToken);
                break;
            }
            catch (StripeApiException ex) when (IsMissingCursor(ex) && !run.Restarted)
            {
                _logger.LogWarning(
                    "Stripe sync for tenant {Tenant}: event {EventId} is no longer at Stripe; taking a new snapshot (unchanged objects keep their ids)",
                    tenantId,
                    cursor.LastEventId);
                run.Restarted = true;
                run.Snapshot.Clear();
                cursor = null;
            }
        }

        _logger.LogInformation(
            "Stripe sync for tenant {Tenant} done: {Customers} customers, {Subscriptions} subscriptions, {Invoices} invoices, {Events} events listed; {Facts} facts stored, {Covered} covered by the snapshot, {Invalid} invalid",
            tenantId,
            run.Customers,
            run.Subscriptions,
            run.Invoices,
            run.Events,
            run.Facts,
            run.Covered,
            run.Invalid);
        return run.Report;
    }

    private static bool IsMissingCursor(StripeApiException ex) =>
        ex.StatusCode is 400 or 404 && (ex.Param == "ending_before" || ex.Code == "resource_missing");

    // ---- Snapshot --------------------------------------------------------------------------------------------

    private async Task<StripeSyncCursor> SnapshotAsync(Run run, StripeSyncCursor cursor, CancellationToken cancellationToken)
    {
        foreach (var stage in ListingStages.SkipWhile(s => s != cursor.Stage))
        {
            run.Stage = stage;
            try
            {
                cursor = await ListStageAsync(run, cursor with { Stage = stage }, cancellationToken);
            }
            catch (StripeApiException ex) when (ex.Param == "starting_after" && cursor.StartingAfter is not null)
            {
                // The object we stopped after is gone (a deleted customer): list the stage again; stored facts keep their ids.
                _logger.LogWarning("Stripe sync for tenant {Tenant}: {Stage} resume point {Id} is gone; listing the stage again", run.TenantId, stage, cursor.StartingAfter);
                cursor = await ListStageAsync(run, cursor with { Stage = stage, StartingAfter = null }, cancellationToken);
            }

            var next = stage == StripeSyncStage.Invoices ? StripeSyncStage.Events : stage + 1;
            cursor = cursor with { Stage = next, StartingAfter = null, SnapshotCompletedAt = next == StripeSyncStage.Events ? _clock.GetUtcNow() : null };
            await _cursors.SaveAsync(run.TenantId, cursor, cancellationToken);
        }

        return cursor;
    }

    private async Task<StripeSyncCursor> ListStageAsync(Run run, StripeSyncCursor cursor, CancellationToken cancellationToken)
    {
        var list = new StripeListOptions
        {
            StartingAfter = cursor.StartingAfter,
            PageSize = _options.BatchSize,
            CreatedFrom = cursor.Stage == StripeSyncStage.Invoices ? _options.InvoicesCreatedFrom : null,
        };
        var items = cursor.Stage switch
        {
            StripeSyncStage.Customers => _client.ListCustomersAsync(list, cancellationToken),
            StripeSyncStage.Subscriptions => _client.ListSubscriptionsAsync(list, cancellationToken),
            _ => _client.ListInvoicesAsync(list, cancellationToken),
        };

        var batch = new List<StripeObject>(_options.BatchSize);
        var observedAt = DateTimeOffset.MinValue;
        await foreach (var item in items)
        {
            if (batch.Count == 0)
            {
                // The page has just arrived: its objects are as they were about now.
                observedAt = _clock.GetUtcNow();
            }

            batch.Add(item);
            if (batch.Count == _options.BatchSize)
            {
                cursor = await StoreListedAsync(run, cursor, batch, observedAt, cancellationToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            cursor = await StoreListedAsync(run, cursor, batch, observedAt, cancellationToken);
        }

        return cursor;
    }

    private async Task<StripeSyncCursor> StoreListedAsync(Run run, StripeSyncCursor cursor, List<StripeObject> batch, DateTimeOffset observedAt, CancellationToken cancellationToken)
    {
        var facts = new List<ParsedStripeEvent>(batch.Count);
        foreach (var item in batch)
        {
            var result = cursor.Stage switch
            {
                StripeSyncStage.Customers => StripeSnapshotEvents.FromCustomer(item, _link),
                StripeSyncStage.Subscriptions => StripeSnapshotEvents.FromSubscription(item),
                _ => StripeSnapshotEvents.FromInvoice(item),
            };
            switch (result)
            {
                case ParsedStripeEvent parsed:
                    facts.Add(parsed);
                    if (StripeSyncKeys.StateOf(parsed.Fact, _link) is { } state)
                    {
                        run.Snapshot[state.ObjectId] = new Observed(state, observedAt);
                    }

                    break;
                case InvalidStripeEvent invalid:
                    run.Invalid++;
                    _logger.LogWarning("Stripe sync for tenant {Tenant}: {Object} {Id} unreadable at {Field}: {Message}", run.TenantId, item.ObjectType, item.Id, invalid.Error.Field, invalid.Error.Message);
                    break;
                default:
                    run.Ignored++;
                    break;
            }
        }

        if (facts.Count > 0)
        {
            await _sink.StoreAsync(run.TenantId, facts, _options.Source, cancellationToken);
        }

        run.Facts += facts.Count;
        switch (cursor.Stage)
        {
            case StripeSyncStage.Customers:
                run.Customers += batch.Count;
                break;
            case StripeSyncStage.Subscriptions:
                run.Subscriptions += batch.Count;
                break;
            default:
                run.Invoices += batch.Count;
                break;
        }

        cursor = cursor with { StartingAfter = batch[^1].Id };
        await _cursors.SaveAsync(run.TenantId, cursor, cancellationToken);
        run.ReportProgress();
        return cursor;
    }

    // ---- Events ----------------------------------------------------------------------------------------------

    private async Task EventsAsync(Run run, StripeSyncCursor cursor, CancellationToken cancellationToken)
    {
        run.Stage = StripeSyncStage.Events;
        run.LastEventId = cursor.LastEventId;
        var options = new StripeEventListOptions { Types = _options.EventTypes, PageSize = _options.BatchSize };
        var batch = new List<StripeObject>(_options.BatchSize);
        await foreach (var item in _client.ListEventsAsync(cursor.LastEventId, options, cancellationToken))
        {
            batch.Add(item);
            if (batch.Count == _options.BatchSize)
            {
                cursor = await StoreEventsAsync(run, cursor, batch, cancellationToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await StoreEventsAsync(run, cursor, batch, cancellationToken);
        }
    }

    private async Task<StripeSyncCursor> StoreEventsAsync(Run run, StripeSyncCursor cursor, List<StripeObject> batch, CancellationToken cancellationToken)
    {
        var facts = new List<ParsedStripeEvent>(batch.Count);
        foreach (var item in batch)
        {
            switch (item.ParseEvent())
            {
                case ParsedStripeEvent parsed when CoveredBySnapshot(run, parsed):
                    run.Covered++;
                    break;
                case ParsedStripeEvent parsed:
                    facts.Add(parsed);
                    break;
                case InvalidStripeEvent invalid:
                    run.Invalid++;
                    _logger.LogWarning("Stripe sync for tenant {Tenant}: event {Id} unreadable at {Field}: {Message}", run.TenantId, item.Id, invalid.Error.Field, invalid.Error.Message);
                    break;
                default:
                    run.Ignored++;
                    break;
            }
        }

        if (facts.Count > 0)
        {
            await _sink.StoreAsync(run.TenantId, facts, _options.Source, cancellationToken);
        }

        run.Facts += facts.Count;
        run.Events += batch.Count;
        cursor = cursor with { LastEventId = batch[^1].Id };
        run.LastEventId = cursor.LastEventId;
        await _cursors.SaveAsync(run.TenantId, cursor, cancellationToken);
        run.ReportProgress();
        return cursor;
    }

    /// <summary>
    /// Whether an event is already reported by this run's snapshot: it happened no later than its object was listed, and
    /// either it is a state (the listing shows that state or a later one) or it is the very occurrence the listing
    /// reported (an invoice paid); an earlier, different occurrence (a failed attempt before the payment) is kept.
    /// </summary>
    private bool CoveredBySnapshot(Run run, ParsedStripeEvent parsed)
    {
        if (run.Snapshot.Count == 0
            || StripeSyncKeys.StateOf(parsed.Fact, _link) is not { } state
            || !run.Snapshot.TryGetValue(state.ObjectId, out var observed)
            || parsed.Envelope.Created > observed.At)
        {
            return false;
        }

        return state.Kind == StripeFactKind.State || state.Key == observed.State.Key;
    }

    private sealed record Observed(StripeFactState State, DateTimeOffset At);

    private sealed class Run(string tenantId, IProgress<StripeSyncReport>? progress)
    {
        public string TenantId { get; } = tenantId;

        /// <summary>What this run's snapshot listed, by object id.</summary>
        public Dictionary<string, Observed> Snapshot { get; } = new(StringComparer.Ordinal);

        public StripeSyncStage Stage { get; set; }

        public int Customers { get; set; }

        public int Subscriptions { get; set; }

        public int Invoices { get; set; }

        public int Events { get; set; }

        public int Facts { get; set; }

        public int Ignored { get; set; }

        public int Invalid { get; set; }

        public int Covered { get; set; }

        public bool Restarted { get; set; }

        public string? LastEventId { get; set; }

        public StripeSyncReport Report => new()
        {
            TenantId = TenantId,
            Stage = Stage,
            CustomersListed = Customers,
            SubscriptionsListed = Subscriptions,
            InvoicesListed = Invoices,
            EventsListed = Events,
            FactsStored = Facts,
            Ignored = Ignored,
            Invalid = Invalid,
            CoveredBySnapshot = Covered,
            SnapshotRestarted = Restarted,
            LastEventId = LastEventId,
        };

        public void ReportProgress() => progress?.Report(Report);
    }
}

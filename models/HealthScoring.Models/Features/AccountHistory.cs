namespace HealthScoring.Models.Features;

/// <summary>One account's usage on one UTC day, as the daily projection keeps it.</summary>
/// <param name="Day">The UTC day.</param>
/// <param name="EventCounts">Track events per event name.</param>
/// <param name="Users">The distinct users active that day.</param>
/// <param name="FeatureUses">Uses per product feature (from the tenant's taxonomy).</param>
/// <param name="Sessions">Sessions started.</param>
/// <param name="ApiCalls">API calls (volume, not events).</param>
/// <param name="Errors">Errors seen by users.</param>
/// <param name="SupportTickets">Support tickets opened.</param>
/// <param name="InvoicesPaid">Invoices paid.</param>
/// <param name="PaymentFailures">Failed invoice payments.</param>
public sealed record DailyActivity(
    DateOnly Day,
    IReadOnlyDictionary<string, int> EventCounts,
    IReadOnlyCollection<string> Users,
    IReadOnlyDictionary<string, int> FeatureUses,
    int Sessions,
    long ApiCalls,
    int Errors,
    int SupportTickets,
    int InvoicesPaid,
    int PaymentFailures)
{
    /// <summary>All track events of the day.</summary>
    public int Events => EventCounts.Values.Sum();
}

/// <summary>A subscription's state from <see cref="At"/> on (until its next change).</summary>
/// <param name="At">When the state began.</param>
/// <param name="SubscriptionId">The subscription.</param>
/// <param name="Status">Stripe's status: <c>active</c>, <c>trialing</c>, <c>past_due</c>, <c>canceled</c>, …</param>
/// <param name="MrrMinor">Monthly recurring revenue in minor units (0 when unknown or canceled).</param>
/// <param name="Seats">Licensed seats (the subscription's quantity).</param>
/// <param name="Plan">The plan (price) id, when known.</param>
public sealed record SubscriptionState(DateTimeOffset At, string SubscriptionId, string Status, long MrrMinor, long Seats, string? Plan)
{
    /// <summary>The statuses in which the customer is still subscribed (paying, trialing or behind on payment).</summary>
    public static IReadOnlySet<string> LiveStatuses { get; } = System.Collections.Frozen.FrozenSet.Create(StringComparer.Ordinal, "active", "trialing", "past_due", "unpaid", "incomplete", "paused");

    /// <summary>Whether the customer is still subscribed in this state: its status is one of <see cref="LiveStatuses"/>.</summary>
    public bool IsLive => LiveStatuses.Contains(Status);
}

/// <summary>An account's billing position at one instant: the sum over its live subscriptions.</summary>
/// <param name="IsCustomer">At least one live subscription.</param>
/// <param name="MrrMinor">Total MRR in minor units.</param>
/// <param name="Seats">Total licensed seats.</param>
/// <param name="Plan">The plan of the largest live subscription.</param>
/// <param name="Since">When the first subscription began (tenure), if ever.</param>
public sealed record BillingPosition(bool IsCustomer, long MrrMinor, long Seats, string? Plan, DateTimeOffset? Since);

/// <summary>
/// Everything known about one account, as far as the loader read it. Every query takes an as-of instant and looks
/// only before it, so the same history can serve snapshots at many dates without leaking later facts.
/// </summary>
public sealed class AccountHistory
{
    private readonly DailyActivity[] _days;
    private readonly SubscriptionState[] _billing;

    /// <summary>Creates the history; days and billing states may come in any order.</summary>
    public AccountHistory(string accountId, IEnumerable<DailyActivity> days, IEnumerable<SubscriptionState> billing)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        AccountId = accountId;
        _days = [.. days.OrderBy(d => d.Day)];
        _billing = [.. billing.OrderBy(b => b.At)];
    }

    /// <summary>The account.</summary>
    public string AccountId { get; }

    /// <summary>Daily activity, in day order.</summary>
    public IReadOnlyList<DailyActivity> Days => _days;

    /// <summary>Subscription states, in time order.</summary>
    public IReadOnlyList<SubscriptionState> Billing => _billing;

    /// <summary>The days in [<paramref name="from"/>, <paramref name="until"/>), in order.</summary>
    public ReadOnlySpan<DailyActivity> DaysBetween(DateOnly from, DateOnly until)
    {
        var start = LowerBound(from);
        var end = LowerBound(until);
        return end > start ? _days.AsSpan(start, end - start) : [];
    }

    /// <summary>The first day with activity or the first subscription, whichever is earlier, before <paramref name="asOf"/>.</summary>
    public DateOnly? FirstSeen(DateOnly asOf)
    {
        DateOnly? first = _days.Length > 0 && _days[0].Day < asOf ? _days[0].Day : null;
        var asOfInstant = Instant(asOf);
        if (_billing.Length > 0 && _billing[0].At < asOfInstant)
        {
            var billed = DateOnly.FromDateTime(_billing[0].At.UtcDateTime);
            first = first is null || billed < first ? billed : first;
        }

        return first;
    }

    /// <summary>The billing position just before <paramref name="at"/>.</summary>
    public BillingPosition BillingAt(DateTimeOffset at)
    {
        var latest = new Dictionary<string, SubscriptionState>(StringComparer.Ordinal);
        DateTimeOffset? since = null;
        foreach (var state in _billing)
        {
            if (state.At >= at)
            {
                break;
            }

            since ??= state.At;
            latest[state.SubscriptionId] = state;
        }

        var live = latest.Values.Where(s => s.IsLive).ToList();
        return live.Count == 0
            ? new BillingPosition(false, 0, 0, null, since)
            : new BillingPosition(true, live.Sum(s => s.MrrMinor), live.Sum(s => s.Seats), live.MaxBy(s => s.MrrMinor)!.Plan, since);
    }

    /// <summary>The start of <paramref name="day"/> (UTC).</summary>
    public static DateTimeOffset Instant(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));

    private int LowerBound(DateOnly day)
    {
        int lo = 0, hi = _days.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_days[mid].Day < day)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}

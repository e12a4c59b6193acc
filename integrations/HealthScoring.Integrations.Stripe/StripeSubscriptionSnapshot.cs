namespace HealthScoring.Integrations.Stripe;

/// <summary>A subscription as one event carried it, reduced to what churn and expansion scoring needs.</summary>
public sealed record StripeSubscriptionSnapshot
{
    public required string SubscriptionId { get; init; }

    /// <summary><c>trialing</c>, <c>active</c>, <c>past_due</c>, <c>unpaid</c>, <c>canceled</c>, <c>incomplete</c>, <c>incomplete_expired</c> or <c>paused</c>.</summary>
    public required string Status { get; init; }

    public string? Currency { get; init; }

    public required IReadOnlyList<StripeSubscriptionItemSnapshot> Items { get; init; }

    /// <summary>False when the embedded item list was cut short (<c>items.has_more</c>); MRR is then unknown.</summary>
    public required bool ItemsComplete { get; init; }

    /// <summary>The distinct price ids of the items, in item order.</summary>
    public IReadOnlyList<string> PriceIds => [.. Items.Select(i => i.PriceId).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>Seats: the sum of the licensed items' quantities (an absent quantity counts as Stripe's default, 1).</summary>
    public long Quantity => StripeMrr.Quantity(Items);

    /// <summary>
    /// Monthly recurring revenue in minor units at list price: each licensed item's unit amount × quantity,
    /// normalized to a month (day × 365/12, week × 52/12, year ÷ 12, divided by <c>interval_count</c>), summed and
    /// rounded half away from zero. Discounts, tax and metered (usage-based) items are not included. Null when an
    /// item's amount cannot be known from the payload (tiered prices, an unknown interval, a truncated item list).
    /// </summary>
    public long? MonthlyRecurringRevenueMinor => StripeMrr.MonthlyMinor(Items, ItemsComplete);

    /// <summary>
    /// The subscription's <c>current_period_start</c> (before 2025-03-31.basil) or, when that is absent, that of the
    /// item whose period ends first (Basil moved the period onto each item).
    /// </summary>
    public DateTimeOffset? CurrentPeriodStart { get; init; }

    /// <summary>As <see cref="CurrentPeriodStart"/>, for <c>current_period_end</c>.</summary>
    public DateTimeOffset? CurrentPeriodEnd { get; init; }

    public required bool CancelAtPeriodEnd { get; init; }

    public DateTimeOffset? CancelAt { get; init; }

    public DateTimeOffset? CanceledAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public DateTimeOffset? TrialStart { get; init; }

    public DateTimeOffset? TrialEnd { get; init; }

    /// <summary><c>pause_collection.behavior</c> when payment collection is paused (status stays <c>active</c>); otherwise null.</summary>
    public string? PauseCollectionBehavior { get; init; }

    public DateTimeOffset? PauseCollectionResumesAt { get; init; }
}

/// <summary>One subscription item: its price and quantity.</summary>
public sealed record StripeSubscriptionItemSnapshot
{
    public string? ItemId { get; init; }

    public string? PriceId { get; init; }

    public string? ProductId { get; init; }

    /// <summary>Null for metered items, which have no quantity.</summary>
    public long? Quantity { get; init; }

    /// <summary><c>unit_amount</c>, or <c>unit_amount_decimal</c> for sub-unit prices; null for tiered prices.</summary>
    public decimal? UnitAmountMinor { get; init; }

    public string? Currency { get; init; }

    /// <summary><c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>.</summary>
    public string? Interval { get; init; }

    public long IntervalCount { get; init; } = 1;

    /// <summary><c>licensed</c> or <c>metered</c>.</summary>
    public string? UsageType { get; init; }

    public bool IsMetered => string.Equals(UsageType, "metered", StringComparison.Ordinal);

    /// <summary><c>transform_quantity.divide_by</c> (package pricing): the unit amount is per package of this many.</summary>
    public long? DivideBy { get; init; }

    /// <summary><c>transform_quantity.round</c>: <c>up</c> or <c>down</c>.</summary>
    public string? Round { get; init; }

    /// <summary>The item's own period (since 2025-03-31.basil; later also on older versions).</summary>
    public DateTimeOffset? CurrentPeriodStart { get; init; }

    public DateTimeOffset? CurrentPeriodEnd { get; init; }

    /// <summary>This item's list price per month in minor units, unrounded; null if metered or not computable.</summary>
    public decimal? MonthlyAmountMinor => StripeMrr.ItemMonthly(this);
}

/// <summary>What <c>previous_attributes</c> of a <c>customer.subscription.updated</c> tells about the subscription before the change. Null means "not in the payload".</summary>
public sealed record StripeSubscriptionPreviousValues
{
    public string? Status { get; init; }

    public bool? CancelAtPeriodEnd { get; init; }

    /// <summary>
    /// The items before the change, when <c>previous_attributes.items</c> was sent. Since Basil Stripe sends the
    /// items on every renewal too (their periods changed), so these may equal the current items.
    /// </summary>
    public IReadOnlyList<StripeSubscriptionItemSnapshot>? Items { get; init; }

    public IReadOnlyList<string>? PriceIds { get; init; }

    public long? Quantity { get; init; }

    public long? MonthlyRecurringRevenueMinor { get; init; }

    public DateTimeOffset? CurrentPeriodEnd { get; init; }

    public static StripeSubscriptionPreviousValues None { get; } = new();
}

internal static class StripeMrr
{
    /// <summary>Saturates instead of overflowing: a payload cannot make reading a property throw.</summary>
    public static long Quantity(IReadOnlyList<StripeSubscriptionItemSnapshot> items)
    {
        var total = 0m;
        foreach (var item in items.Where(i => !i.IsMetered))
        {
            total += item.Quantity ?? 1;
        }

        return total >= long.MaxValue ? long.MaxValue : total <= long.MinValue ? long.MinValue : (long)total;
    }

    public static decimal? ItemMonthly(StripeSubscriptionItemSnapshot item)
    {
        if (item.IsMetered || item.UnitAmountMinor is not { } unitAmount || item.IntervalCount <= 0)
        {
            return null;
        }

        try
        {
            return ItemMonthly(item, unitAmount);
        }
        catch (OverflowException)
        {
            // Only absurd amounts or quantities get here; an unknown MRR is the honest answer.
            return null;
        }
    }

    private static decimal? ItemMonthly(StripeSubscriptionItemSnapshot item, decimal unitAmount)
    {
        decimal quantity = item.Quantity ?? 1;
        if (item.DivideBy is > 0)
        {
            var packages = quantity / item.DivideBy.Value;
            quantity = string.Equals(item.Round, "down", StringComparison.Ordinal) ? decimal.Floor(packages) : decimal.Ceiling(packages);
        }

        var perInterval = unitAmount * quantity;
        return item.Interval switch
        {
            "month" => perInterval / item.IntervalCount,
            "year" => perInterval / (12m * item.IntervalCount),
            "week" => perInterval * 52m / (12m * item.IntervalCount),
            "day" => perInterval * 365m / (12m * item.IntervalCount),
            _ => null,
        };
    }

    public static long? MonthlyMinor(IReadOnlyList<StripeSubscriptionItemSnapshot> items, bool complete)
    {
        if (!complete)
        {
            return null;
        }

        try
        {
            var total = 0m;
            foreach (var item in items.Where(i => !i.IsMetered))
            {
                if (ItemMonthly(item) is not { } monthly)
                {
                    return null;
                }

                total += monthly;
            }

            return (long)decimal.Round(total, 0, MidpointRounding.AwayFromZero);
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}

namespace HealthScoring.Models.Features;

/// <summary>What a model predicts.</summary>
public enum TargetKind
{
    /// <summary>The subscription ends within the horizon.</summary>
    Churn,

    /// <summary>MRR rises (seats or plan) within the horizon.</summary>
    Expansion,
}

/// <summary>One training example: an account as of a snapshot date, with what happened within the horizon after it.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Date">The snapshot date (features see only days before it).</param>
/// <param name="Label">Whether the target happened in [Date, Date + horizon).</param>
public sealed record Snapshot(string AccountId, DateOnly Date, bool Label);

/// <summary>
/// Snapshots and labels from billing. A snapshot is taken every <c>interval</c> days for each account that is a
/// paying customer at that date; the churn label says its last live subscription ended within the horizon after
/// it, the expansion label that its MRR rose above the snapshot's within the horizon. Churned accounts are not
/// customers at later dates, so they leave later snapshots. Only snapshots whose whole horizon lies before
/// <c>asOf</c> are labelled (the outcome must be known).
/// </summary>
public static class Snapshots
{
    /// <summary>The snapshot dates: every <paramref name="intervalDays"/> days back from <c>asOf − horizon</c>, no earlier than <paramref name="earliest"/>; oldest first.</summary>
    public static IReadOnlyList<DateOnly> Dates(DateOnly earliest, DateOnly asOf, int horizonDays, int intervalDays)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(intervalDays, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(horizonDays);
        var dates = new List<DateOnly>();
        for (var date = asOf.AddDays(-horizonDays); date >= earliest; date = date.AddDays(-intervalDays))
        {
            dates.Add(date);
        }

        dates.Reverse();
        return dates;
    }

    /// <summary>The labelled snapshots of every account at every date.</summary>
    public static IReadOnlyList<Snapshot> Build(IEnumerable<AccountHistory> accounts, IReadOnlyList<DateOnly> dates, int horizonDays, TargetKind target)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        ArgumentNullException.ThrowIfNull(dates);
        var snapshots = new List<Snapshot>();
        foreach (var account in accounts)
        {
            foreach (var date in dates)
            {
                var at = AccountHistory.Instant(date);
                var position = account.BillingAt(at);
                if (!position.IsCustomer)
                {
                    continue;
                }

                var end = at.AddDays(horizonDays);
                snapshots.Add(new Snapshot(account.AccountId, date, target == TargetKind.Churn ? Churned(account, at, end) : Expanded(account, position, at, end)));
            }
        }

        return snapshots;
    }

    /// <summary>Whether the account stopped being a customer at some instant in [<paramref name="from"/>, <paramref name="until"/>).</summary>
    public static bool Churned(AccountHistory account, DateTimeOffset from, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(account);
        foreach (var state in account.Billing)
        {
            if (state.At < from || state.At >= until || state.IsLive)
            {
                continue;
            }

            if (!account.BillingAt(state.At.AddTicks(1)).IsCustomer)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the account's MRR rose above <paramref name="start"/>'s at some instant in [<paramref name="from"/>, <paramref name="until"/>).</summary>
    public static bool Expanded(AccountHistory account, BillingPosition start, DateTimeOffset from, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(start);
        foreach (var state in account.Billing)
        {
            if (state.At < from || state.At >= until)
            {
                continue;
            }

            var after = account.BillingAt(state.At.AddTicks(1));
            if (after.IsCustomer && after.MrrMinor > start.MrrMinor)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The feature matrix of <paramref name="snapshots"/> (one row each, in order).</summary>
    public static FeatureMatrix Features(FeatureExtractor extractor, IReadOnlyDictionary<string, AccountHistory> accounts, IReadOnlyList<Snapshot> snapshots)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(accounts);
        ArgumentNullException.ThrowIfNull(snapshots);
        var matrix = FeatureMatrix.Create(snapshots.Count, extractor.Columns);
        Parallel.For(0, snapshots.Count, i => extractor.Compute(accounts[snapshots[i].AccountId], snapshots[i].Date, matrix.RowSpan(i)));
        return matrix;
    }
}

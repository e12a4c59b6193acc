using System.Globalization;

namespace HealthScoring.Models.Features;

/// <summary>One reason behind a score: a feature, its value, how much it moved the risk, and the same in plain words.</summary>
/// <param name="Feature">The feature's column name.</param>
/// <param name="Value">The account's value (NaN when missing).</param>
/// <param name="Contribution">Its contribution to the risk in log-odds: positive raises the risk.</param>
/// <param name="Text">Plain words, e.g. "active users down 45% vs the previous 4 weeks".</param>
public sealed record Driver(string Feature, double Value, double Contribution, string Text)
{
    /// <summary>"raises risk" or "lowers risk".</summary>
    public string Direction => Contribution > 0 ? "raises risk" : "lowers risk";
}

/// <summary>Turns feature contributions into the top drivers in plain words.</summary>
public static class Drivers
{
    /// <summary>
    /// The <paramref name="count"/> features with the largest absolute contributions, described in words. Features
    /// that moved the risk by less than <paramref name="minimum"/> log-odds are left out.
    /// </summary>
    public static IReadOnlyList<Driver> Top(IReadOnlyList<string> columns, ReadOnlySpan<float> values, FeatureContributions contributions, int count = 5, double minimum = 0.01)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(contributions);
        var order = Enumerable.Range(0, columns.Count)
            .Where(i => Math.Abs(contributions.Contributions[i]) >= minimum)
            .OrderByDescending(i => Math.Abs(contributions.Contributions[i]))
            .ThenBy(i => i)
            .Take(count)
            .ToList();
        var drivers = new List<Driver>(order.Count);
        foreach (var i in order)
        {
            drivers.Add(new Driver(columns[i], values[i], contributions.Contributions[i], Describe(columns[i], values[i])));
        }

        return drivers;
    }

    /// <summary>A feature's value in plain words.</summary>
    public static string Describe(string feature, double value)
    {
        ArgumentNullException.ThrowIfNull(feature);
        var c = CultureInfo.InvariantCulture;
        if (double.IsNaN(value))
        {
            return feature switch
            {
                "days_since_last_activity" => "no activity recorded yet",
                "mrr" or "seats" or "mrr_per_seat" or "active_users_per_seat" => "no live subscription",
                _ => $"{Humanize(feature)} unknown",
            };
        }

        if (feature.StartsWith("count_", StringComparison.Ordinal))
        {
            // count_28d[Report Viewed]
            var open = feature.IndexOf('[', StringComparison.Ordinal);
            var days = feature[6..(open - 1)];
            return string.Create(c, $"{Number(value)} × \"{feature[(open + 1)..^1]}\" in the last {days} days");
        }

        if (feature.StartsWith("plan[", StringComparison.Ordinal))
        {
            var plan = feature[5..^1];
            return value > 0 ? $"on the {plan} plan" : $"not on the {plan} plan";
        }

        return feature switch
        {
            "events_change_28d" => Change("usage", value),
            "active_users_change_28d" => Change("active users", value),
            "sessions_change_28d" => Change("sessions", value),
            "features_used_change_28d" => Change("features used", value),
            "api_calls_change_28d" => Change("API calls", value),
            "mrr_change_90d" => string.Create(c, $"MRR {(value >= 0 ? "up" : "down")} {Math.Abs(value):P0} vs 90 days ago"),
            "days_since_last_activity" => value < 1 ? "active yesterday" : string.Create(c, $"no activity for {Number(value)} days"),
            "active_users_per_seat" => string.Create(c, $"{value:P0} of licensed seats active in the last 4 weeks"),
            "dau_mau_28d" => string.Create(c, $"stickiness (DAU/MAU) {value:P0}"),
            "tenure_days" => string.Create(c, $"customer for {Number(value)} days"),
            "payment_failures_60d" => value == 0 ? "no payment failures in 60 days" : string.Create(c, $"{Number(value)} payment failure(s) in the last 60 days"),
            "support_tickets_28d" => string.Create(c, $"{Number(value)} support ticket(s) in the last 4 weeks"),
            "support_tickets_90d" => string.Create(c, $"{Number(value)} support ticket(s) in the last 90 days"),
            "seat_limit_hits_28d" => value == 0 ? "never hit the seat limit in 4 weeks" : string.Create(c, $"hit the seat limit {Number(value)} time(s) in 4 weeks"),
            "upgrade_signals_28d" => value == 0 ? "no upgrade interest in 4 weeks" : string.Create(c, $"{Number(value)} upgrade signal(s) (pricing page, upgrade clicks) in 4 weeks"),
            "features_used_28d" => string.Create(c, $"used {Number(value)} feature(s) in the last 4 weeks"),
            "features_used_90d" => string.Create(c, $"used {Number(value)} feature(s) in the last 90 days"),
            "mrr" => string.Create(c, $"MRR {value:N0}"),
            "seats" => string.Create(c, $"{Number(value)} licensed seats"),
            "events_7d" => string.Create(c, $"{Number(value)} events in the last 7 days"),
            "events_28d" => string.Create(c, $"{Number(value)} events in the last 4 weeks"),
            "events_90d" => string.Create(c, $"{Number(value)} events in the last 90 days"),
            "events_per_active_user_28d" => string.Create(c, $"{Number(value)} events per active user in 4 weeks"),
            "active_users_7d" => string.Create(c, $"{Number(value)} active users in the last 7 days"),
            "active_users_28d" => string.Create(c, $"{Number(value)} active users in the last 4 weeks"),
            "active_users_prev_28d" => string.Create(c, $"{Number(value)} active users in the 4 weeks before"),
            "days_active_28d" => string.Create(c, $"active on {Number(value)} of the last 28 days"),
            "sessions_28d" => string.Create(c, $"{Number(value)} sessions in the last 4 weeks"),
            "sessions_per_user_28d" => string.Create(c, $"{Number(value)} sessions per active user in 4 weeks"),
            "uses_per_feature_28d" => string.Create(c, $"{Number(value)} uses per feature used in 4 weeks"),
            "api_calls_28d" => string.Create(c, $"{Number(value)} API calls in the last 4 weeks"),
            "errors_28d" => string.Create(c, $"{Number(value)} errors in the last 4 weeks"),
            "errors_per_session_28d" => string.Create(c, $"{Number(value)} errors per session in 4 weeks"),
            "invoices_paid_90d" => string.Create(c, $"{Number(value)} invoice(s) paid in the last 90 days"),
            "mrr_per_seat" => string.Create(c, $"MRR per seat {value:N0}"),
            _ => string.Create(c, $"{Humanize(feature)}: {Number(value)}"),
        };
    }

    private static string Change(string what, double value) =>
        Math.Abs(value) < 0.005
            ? $"{what} flat vs the previous 4 weeks"
            : string.Create(CultureInfo.InvariantCulture, $"{what} {(value > 0 ? "up" : "down")} {Math.Abs(value):P0} vs the previous 4 weeks");

    private static string Number(double value) =>
        Math.Abs(value - Math.Round(value)) < 1e-6 ? Math.Round(value).ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Humanize(string feature)
    {
        var words = feature.Replace("_28d", " (4 weeks)", StringComparison.Ordinal).Replace("_90d", " (90 days)", StringComparison.Ordinal)
            .Replace("_7d", " (7 days)", StringComparison.Ordinal).Replace("_60d", " (60 days)", StringComparison.Ordinal).Replace('_', ' ');
        return words;
    }
}

using HealthScoring.Models.Features;

namespace HealthScoring.Models.Tests.Features;

public class FeatureExtractorTests
{
    private static readonly DateOnly AsOf = new(2026, 6, 1);

    private static DailyActivity Day(DateOnly day, int reports = 0, string[]? users = null, int sessions = 0, int tickets = 0, int failures = 0, string? feature = "reporting") => new(
        day,
        new Dictionary<string, int> { ["Report Viewed"] = reports },
        users ?? [],
        feature is null || reports == 0 ? new Dictionary<string, int>() : new Dictionary<string, int> { [feature] = reports },
        sessions, 0, 0, tickets, 0, failures);

    private static SubscriptionState Sub(DateOnly day, string status, long mrr, long seats, string plan = "growth") =>
        new(AccountHistory.Instant(day), "sub_1", status, mrr, seats, plan);

    private static float Value(FeatureExtractor extractor, AccountHistory history, string column, DateOnly? asOf = null)
    {
        var values = new float[extractor.Columns.Count];
        extractor.Compute(history, asOf ?? AsOf, values);
        return values[extractor.Columns.ToList().IndexOf(column)];
    }

    [Fact]
    public void Nothing_on_or_after_the_as_of_date_changes_the_features()
    {
        var before = Enumerable.Range(1, 100).Select(i => Day(AsOf.AddDays(-i), reports: i % 7, users: [$"u{i % 3}"], sessions: 1, tickets: i % 11 == 0 ? 1 : 0)).ToList();
        var billing = new[] { Sub(AsOf.AddDays(-120), "active", 10_000, 10) };
        var after = Enumerable.Range(0, 30).Select(i => Day(AsOf.AddDays(i), reports: 50, users: ["late"], sessions: 9, tickets: 3, failures: 1));
        var laterBilling = new[] { Sub(AsOf, "canceled", 0, 0), Sub(AsOf.AddDays(3), "active", 99_000, 99, "enterprise") };
        var schema = new FeatureSchema(FeatureSchema.CurrentVersion, ["Report Viewed"], ["enterprise", "growth"]);
        var extractor = new FeatureExtractor(schema);
        var clean = new float[schema.Columns.Count];
        var leaky = new float[schema.Columns.Count];

        extractor.Compute(new AccountHistory("a", before, billing), AsOf, clean);
        extractor.Compute(new AccountHistory("a", before.Concat(after), billing.Concat(laterBilling)), AsOf, leaky);

        leaky.ShouldBe(clean);
        clean[schema.Columns.ToList().IndexOf("mrr")].ShouldBe(100f);
    }

    [Fact]
    public void Windows_count_the_days_before_the_as_of_date()
    {
        var days = new[]
        {
            Day(AsOf.AddDays(-1), reports: 1, users: ["a"]),
            Day(AsOf.AddDays(-7), reports: 2, users: ["a", "b"]),
            Day(AsOf.AddDays(-8), reports: 4, users: ["c"]),
            Day(AsOf.AddDays(-28), reports: 8, users: ["a"]),
            Day(AsOf.AddDays(-29), reports: 16, users: ["d"]),
            Day(AsOf.AddDays(-90), reports: 32),
            Day(AsOf.AddDays(-91), reports: 64),
        };
        var history = new AccountHistory("a", days, [Sub(AsOf.AddDays(-365), "active", 5_000, 4)]);
        var extractor = new FeatureExtractor(new FeatureSchema(FeatureSchema.CurrentVersion, ["Report Viewed"], []));

        Value(extractor, history, "events_7d").ShouldBe(3);
        Value(extractor, history, "events_28d").ShouldBe(15);
        Value(extractor, history, "events_90d").ShouldBe(63);
        Value(extractor, history, FeatureSchema.EventCount("Report Viewed", 7)).ShouldBe(3);
        Value(extractor, history, "active_users_7d").ShouldBe(2);
        Value(extractor, history, "active_users_28d").ShouldBe(3);
        Value(extractor, history, "days_since_last_activity").ShouldBe(1);
        Value(extractor, history, "active_users_per_seat").ShouldBe(0.75f);
        Value(extractor, history, "tenure_days").ShouldBe(365);
    }

    [Fact]
    public void Change_compares_the_last_four_weeks_with_the_four_before()
    {
        var days = Enumerable.Range(1, 56).Select(i => Day(AsOf.AddDays(-i), reports: i <= 28 ? 1 : 2, users: i <= 28 ? ["a"] : ["a", "b"]));
        var history = new AccountHistory("a", days, []);
        var extractor = new FeatureExtractor(new FeatureSchema(FeatureSchema.CurrentVersion, [], []));

        Value(extractor, history, "events_change_28d").ShouldBe(-0.5f);
        Value(extractor, history, "active_users_change_28d").ShouldBe(-0.5f);
        Value(extractor, history, "mrr").ShouldBe(float.NaN, "no subscription is missing, not zero");
        Drivers.Describe("active_users_change_28d", -0.45).ShouldBe("active users down 45 % vs the previous 4 weeks");
    }

    [Fact]
    public void A_young_accounts_four_week_counts_are_scaled_to_a_full_window()
    {
        var days = Enumerable.Range(1, 7).Select(i => Day(AsOf.AddDays(-i), reports: 1, users: ["a"]));
        var extractor = new FeatureExtractor(new FeatureSchema(FeatureSchema.CurrentVersion, [], []));

        Value(extractor, new AccountHistory("a", days, []), "events_28d").ShouldBe(28f, "7 events in 7 days of tenure");
    }

    [Fact]
    public void Snapshots_label_churn_within_the_horizon_and_churned_accounts_leave_later_snapshots()
    {
        var start = new DateOnly(2026, 1, 1);
        var churner = new AccountHistory("churner", [], [Sub(start, "active", 100, 1), Sub(start.AddDays(50), "canceled", 0, 0)]);
        var stayer = new AccountHistory("stayer", [], [Sub(start, "active", 100, 1), new SubscriptionState(AccountHistory.Instant(start.AddDays(40)), "sub_1", "active", 300, 3, "growth")]);
        DateOnly[] dates = [start.AddDays(14), start.AddDays(28), start.AddDays(56)];

        var churn = Snapshots.Build([churner, stayer], dates, 30, TargetKind.Churn);
        var expansion = Snapshots.Build([churner, stayer], dates, 30, TargetKind.Expansion);

        churn.Where(s => s.AccountId == "churner").Select(s => (s.Date, s.Label)).ShouldBe([(dates[0], false), (dates[1], true)], "churn on day 50 is 36 days after day 14; gone by day 56");
        churn.Where(s => s.AccountId == "stayer").ShouldAllBe(s => !s.Label);
        expansion.Where(s => s.AccountId == "stayer").Select(s => s.Label).ShouldBe([true, true, false], "the MRR rise on day 40 is within 30 days of days 14 and 28");
        Snapshots.Dates(start, start.AddDays(100), 30, 14).ShouldBe([start, start.AddDays(14), start.AddDays(28), start.AddDays(42), start.AddDays(56), start.AddDays(70)], "back from as-of minus horizon, every 14 days, down to the earliest");
    }

    [Fact]
    public void Top_drivers_are_the_largest_contributions_in_plain_words()
    {
        string[] columns = ["days_since_last_activity", "payment_failures_60d", "seats"];
        float[] values = [23, 2, 10];
        var drivers = Drivers.Top(columns, values, new FeatureContributions(-2, [0.9, -0.2, 0.001]), count: 5);

        drivers.Select(d => d.Text).ShouldBe(["no activity for 23 days", "2 payment failure(s) in the last 60 days"]);
        drivers[0].Direction.ShouldBe("raises risk");
        drivers[1].Direction.ShouldBe("lowers risk");
    }
}

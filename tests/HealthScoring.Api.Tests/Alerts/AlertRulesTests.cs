using HealthScoring.Api.Alerts;
using HealthScoring.Api.Scoring;

namespace HealthScoring.Api.Tests.Alerts;

public class AlertRulesTests
{
    private static readonly DateOnly Day0 = new(2026, 9, 1);
    private static readonly AlertRules Rules = new();

    private static AccountScore Score(int score, double churn = 0.5, double? expansion = null) =>
        new("acc", score, score >= 70 ? "healthy" : score < 40 ? "at-risk" : "watch", churn, expansion, null, [], [], new Dictionary<string, double>());

    /// <summary>Runs the rules over a sequence of daily scores; returns the alert kinds raised per day.</summary>
    private static List<(int Day, string Kind)> Run(IEnumerable<AccountScore> days, AlertRules? rules = null, Func<string?, bool>? capacity = null, AlertState? start = null)
    {
        var state = start ?? AlertState.New;
        var raised = new List<(int, string)>();
        var day = 0;
        foreach (var score in days)
        {
            var (decisions, next) = AlertRulesEngine.Evaluate("t", "acc", "owner@x", score, Day0.AddDays(day), state, rules ?? Rules, capacity ?? (_ => true));
            raised.AddRange(decisions.Select(d => (day, d.Kind)));
            state = next;
            day++;
        }

        return raised;
    }

    [Fact]
    public void Ten_consecutive_runs_at_risk_raise_one_alert() =>
        Run(Enumerable.Repeat(Score(30), 10)).ShouldBe([(0, "became_at_risk")]);

    [Fact]
    public void A_recovery_then_a_relapse_alerts_again_even_within_the_cooldown() =>
        Run([Score(30), Score(35), Score(60), Score(30)]).ShouldBe([(0, "became_at_risk"), (2, "recovered"), (3, "became_at_risk")]);

    [Fact]
    public void Within_the_cooldown_only_a_clearly_worse_score_realerts_and_after_it_a_reminder_goes_out()
    {
        Run([Score(38), Score(30), Score(22)]).ShouldBe([(0, "became_at_risk"), (2, "became_at_risk")], "22 is 16 below 38");
        Run(Enumerable.Repeat(Score(30), 15)).ShouldBe([(0, "became_at_risk"), (14, "became_at_risk")], "cooldown of 14 days");
    }

    [Fact]
    public void Expansion_fires_when_crossing_the_threshold_from_below_and_rearms_only_after_falling_clearly_back() =>
        Run([Score(80, 0.1, 0.3), Score(80, 0.1, 0.65), Score(80, 0.1, 0.7), Score(80, 0.1, 0.55), Score(80, 0.1, 0.62), Score(80, 0.1, 0.4), Score(80, 0.1, 0.61)])
            .ShouldBe([(1, "expansion_signal"), (6, "expansion_signal")]);

    [Fact]
    public void A_churn_risk_jump_within_a_week_alerts_once_and_not_beside_an_at_risk_alert()
    {
        Run([Score(65, 0.10), Score(60, 0.20), Score(55, 0.40)]).ShouldBe([(2, "churn_risk_jumped")]);
        Run([Score(65, 0.10), Score(30, 0.60)]).ShouldBe([(1, "became_at_risk")]);
    }

    [Fact]
    public void The_owners_daily_cap_and_a_snooze_hold_alerts_back_and_a_held_alert_goes_out_later()
    {
        var full = Run([Score(30), Score(30)], capacity: _ => false);
        full.ShouldBe([(0, "suppressed"), (1, "suppressed")]);

        var capacityFromDay1 = 0;
        Run([Score(30), Score(30), Score(30)], capacity: _ => capacityFromDay1++ > 0).ShouldBe([(0, "suppressed"), (1, "became_at_risk")]);

        Run([Score(30), Score(30)], start: AlertState.New with { SnoozedUntil = Day0 }).ShouldBe([(0, "suppressed"), (1, "became_at_risk")]);
    }
}

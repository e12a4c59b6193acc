using HealthScoring.Api.Scoring;

namespace HealthScoring.Api.Alerts;

/// <summary>What the rules remember per account between scoring runs.</summary>
public sealed record AlertState(
    bool AtRisk,
    DateOnly? LastAtRiskAlert,
    int? LastAtRiskScore,
    bool ExpansionSignaled,
    DateOnly? SnoozedUntil,
    IReadOnlyList<(DateOnly AsOf, double Churn)> RecentRisk)
{
    public static AlertState New { get; } = new(false, null, null, false, null, []);
}

/// <summary>A decision of the rules for one account in one run.</summary>
public sealed record AlertDecision(string Kind, object Event);

/// <summary>
/// The alert rules, pure: given the account's remembered state and this run's score, which alerts to raise and
/// the next state. An at-risk alert fires on entering the band, once: ten runs at risk within the cooldown raise
/// one alert. Within the cooldown only a score worse by <see cref="AlertRules.WorseBy"/> re-alerts; a recovery
/// ends the episode, so a relapse alerts again. Expansion fires when the probability crosses the threshold from below.
/// A churn-risk jump compares with the lowest risk seen within the jump window. Snoozes and the owner's daily
/// cap turn an alert into a suppression record.
/// </summary>
public static class AlertRulesEngine
{
    public static (IReadOnlyList<AlertDecision> Decisions, AlertState Next) Evaluate(string tenantId, string accountId, string? owner, AccountScore score, DateOnly asOf, AlertState state, AlertRules rules, Func<string?, bool> ownerHasCapacity)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(ownerHasCapacity);
        var decisions = new List<AlertDecision>();
        var next = state;
        var atRisk = score.Band == "at-risk";
        string Id(string kind) => $"{tenantId}/{accountId}/{kind}/{asOf:yyyy-MM-dd}";
        var snoozed = state.SnoozedUntil is { } until && asOf <= until;

        void Raise(string kind, object alert)
        {
            if (snoozed)
            {
                decisions.Add(new AlertDecision("suppressed", new AlertSuppressed(asOf, kind, "snoozed", owner)));
            }
            else if (!ownerHasCapacity(owner))
            {
                decisions.Add(new AlertDecision("suppressed", new AlertSuppressed(asOf, kind, "owner's daily cap reached", owner)));
            }
            else
            {
                decisions.Add(new AlertDecision(kind, alert));
            }
        }

        if (atRisk)
        {
            // One alert per episode in the band; within it, a re-alert only when clearly worse or, as a reminder,
            // once the cooldown has passed. An alert held back (cap, snooze) is still pending next run.
            var alerted = state.LastAtRiskAlert is not null;
            var inCooldown = state.LastAtRiskAlert is { } last && asOf.DayNumber - last.DayNumber < rules.CooldownDays;
            var worse = state.LastAtRiskScore is { } lastScore && score.HealthScore <= lastScore - rules.WorseBy;
            if (!alerted || worse || !inCooldown)
            {
                Raise("became_at_risk", new AccountBecameAtRisk(asOf, Id("at-risk"), score.HealthScore, score.ChurnProbability, owner, score.Drivers));
                if (decisions[^1].Kind == "became_at_risk")
                {
                    next = next with { LastAtRiskAlert = asOf, LastAtRiskScore = score.HealthScore };
                }
            }

            next = next with { AtRisk = true };
        }
        else if (state.AtRisk)
        {
            // A recovery is news for the owner whether or not an alert went out, and ends the episode.
            decisions.Add(new AlertDecision("recovered", new AccountRecovered(asOf, Id("recovered"), score.HealthScore, score.Band, owner)));
            next = next with { AtRisk = false, LastAtRiskAlert = null, LastAtRiskScore = null };
        }

        if (score.ExpansionProbability is { } expansion)
        {
            if (expansion >= rules.ExpansionThreshold && !state.ExpansionSignaled)
            {
                Raise("expansion_signal", new ExpansionSignalDetected(asOf, Id("expansion"), expansion, score.HealthScore, owner, score.ExpansionDrivers));
                next = next with { ExpansionSignaled = true };
            }
            else if (expansion < rules.ExpansionThreshold * 0.8)
            {
                // Hysteresis: the signal re-arms only once the probability has clearly fallen back.
                next = next with { ExpansionSignaled = false };
            }
        }

        var window = state.RecentRisk.Where(r => r.AsOf < asOf && asOf.DayNumber - r.AsOf.DayNumber <= rules.JumpWindowDays).ToList();
        if (window.Count > 0)
        {
            var lowest = window.MinBy(r => r.Churn);
            if (score.ChurnProbability - lowest.Churn >= rules.ChurnJump && !decisions.Any(d => d.Kind == "became_at_risk"))
            {
                Raise("churn_risk_jumped", new ChurnRiskJumped(asOf, Id("jump"), score.ChurnProbability, lowest.Churn, lowest.AsOf, owner, score.Drivers));
            }
        }

        next = next with { RecentRisk = [.. window.Where(r => r.AsOf != asOf), (asOf, score.ChurnProbability)] };
        return (decisions, next);
    }
}

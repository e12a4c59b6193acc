namespace HealthScoring.Cli.Generate;

/// <summary>The latent story of an account, which drives its usage and its billing.</summary>
internal enum Scenario
{
    Healthy,
    Declining,
    OnboardingFailure,
    ChampionLoss,
    SeatPressure,
    PaymentFailures,
    Expanding,
}

internal static class ScenarioNames
{
    public static string Name(this Scenario scenario) => scenario switch
    {
        Scenario.Healthy => "healthy",
        Scenario.Declining => "declining",
        Scenario.OnboardingFailure => "onboarding_failure",
        Scenario.ChampionLoss => "champion_loss",
        Scenario.SeatPressure => "seat_pressure",
        Scenario.PaymentFailures => "payment_failures",
        _ => "expanding",
    };
}

/// <summary>The days of the history: day 0 is the first, <see cref="Days"/> − 1 is <see cref="End"/>; days before 0 are before the history.</summary>
internal sealed class Window
{
    private static readonly DateOnly Epoch = new(1970, 1, 1);

    public Window(DateOnly end, int months)
    {
        End = end;
        Start = end.AddMonths(-months).AddDays(1);
        Days = End.DayNumber - Start.DayNumber + 1;
        StartUnix = (long)(Start.DayNumber - Epoch.DayNumber) * 86_400;
    }

    public DateOnly Start { get; }

    public DateOnly End { get; }

    public int Days { get; }

    /// <summary>Unix seconds of day 0, 00:00 UTC.</summary>
    public long StartUnix { get; }

    /// <summary>Unix seconds of the first instant after the history.</summary>
    public long EndUnix => DayStart(Days);

    public long DayStart(int day) => StartUnix + (day * 86_400L);

    public int DayOf(long unixSeconds) => (int)Math.Floor((unixSeconds - StartUnix) / 86_400.0);

    public DateOnly Date(int day) => Start.AddDays(day);
}

/// <summary>One person of an account.</summary>
internal sealed class PlannedUser
{
    public required int Number { get; init; }

    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Email { get; init; }

    public required string Title { get; init; }

    public required bool Admin { get; init; }

    /// <summary>Chance of being active on a normal weekday at full account activity.</summary>
    public required double Propensity { get; init; }

    /// <summary>Mean number of product actions per session.</summary>
    public required double Intensity { get; init; }

    public required string Platform { get; init; }

    /// <summary>First day present (negative: before the history).</summary>
    public required int JoinDay { get; init; }

    /// <summary>First day no longer present.</summary>
    public int LeaveDay { get; set; } = int.MaxValue;

    public required long CreatedAtUnix { get; init; }

    /// <summary>The user's NPS survey comes every 90 days, on days with this remainder.</summary>
    public required int NpsOffset { get; init; }

    public bool PresentOn(int day) => JoinDay <= day && day < LeaveDay;
}

/// <summary>A track or group call the story puts on a given day (onboarding, invites, seat limits, upgrades, plan changes).</summary>
internal sealed record ScheduledCall(int Day, int User, string? Event, string? PropertyName = null, string? Text = null, long? Number = null)
{
    /// <summary>A group call with the account's current traits (after a plan change).</summary>
    public bool IsGroup => Event is null;
}

internal enum ChangeKind
{
    SeatIncrease,
    Upgrade,
    SeatDecrease,
    Downgrade,
}

/// <summary>A change of the subscription's plan or seats.</summary>
internal sealed record SubscriptionChange(long At, ChangeKind Kind, Tier Tier, int Seats, Tier PreviousTier, int PreviousSeats)
{
    public bool IsExpansion => Kind is ChangeKind.SeatIncrease or ChangeKind.Upgrade;
}

/// <summary>An episode of failed payments of one invoice: paid at attempt <see cref="RecoveredAttempt"/>, or never (the subscription is deleted).</summary>
internal sealed record PaymentEpisode(int Cycle, int? RecoveredAttempt);

/// <summary>Everything decided about an account before its events are written.</summary>
internal sealed class AccountPlan
{
    public required int Index { get; init; }

    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Domain { get; init; }

    public required string Industry { get; init; }

    public required int Employees { get; init; }

    public required Country Country { get; init; }

    public required Owner Owner { get; init; }

    public required Scenario Scenario { get; init; }

    public required int SignupDay { get; init; }

    public required long SignupAt { get; init; }

    public required Tier TierStart { get; init; }

    public required int SeatsStart { get; init; }

    public long? TrialEnd { get; init; }

    /// <summary>The billing anchor: the trial's end, or the signup.</summary>
    public long Anchor => TrialEnd ?? SignupAt;

    public List<PlannedUser> Users { get; } = [];

    public List<ScheduledCall> Scheduled { get; } = [];

    public List<SubscriptionChange> Changes { get; } = [];

    public List<PaymentEpisode> PaymentEpisodes { get; } = [];

    /// <summary>When the subscription is deleted (may be after the history; then it is not written).</summary>
    public long? DeletionAt { get; set; }

    public bool Involuntary { get; set; }

    public string? CancellationFeedback { get; set; }

    /// <summary>When the customer asked to cancel at the period's end (voluntary churn).</summary>
    public long? CancelRequestAt { get; set; }

    /// <summary>Usage is written on days before this one (the churn day, or the end of the history).</summary>
    public int UsageEnd { get; set; }

    public int FirstDay => Math.Max(0, SignupDay);

    // The shape of activity over time.
    public int DeclineStart { get; set; } = int.MaxValue;

    public int DeclineEnd { get; set; } = int.MaxValue;

    public double DeclineFloor { get; set; } = 1;

    public int ChampionLeaveDay { get; set; } = int.MaxValue;

    public int GrowthStart { get; set; } = int.MaxValue;

    public int GrowthEnd { get; set; } = int.MaxValue;

    public int PressureStart { get; set; } = int.MaxValue;

    /// <summary>Set when the expansion that resolves the seat pressure happens: hiring goes back to normal soon after.</summary>
    public int PressureEnd { get; set; } = int.MaxValue;

    public int DipStart { get; set; } = int.MaxValue;

    public int DipEnd { get; set; } = int.MaxValue;

    public int CancelRequestDay { get; set; } = int.MaxValue;

    public int PastDueDay { get; set; } = int.MaxValue;

    public required double[] WeekNoise { get; init; }

    public required double WeekendFactor { get; init; }

    public required double ErrorBase { get; init; }

    public required bool Grumpy { get; init; }

    /// <summary>Day each feature is adopted from (int.MaxValue: never).</summary>
    public required int[] FeatureAdoptDay { get; init; }

    public int ApiStartDay { get; set; } = int.MaxValue;

    public int ApiUser { get; set; }

    public double ApiScale { get; set; }

    public int ChampionUser { get; set; }

    public string CustomerId { get; init; } = "";

    public string SubscriptionId { get; init; } = "";

    public string ItemId { get; init; } = "";

    public string InvoicePrefix { get; init; } = "";

    // Ground truth, filled once billing is planned.
    public int? ChurnDay { get; set; }

    public int? ExpansionDay { get; set; }

    public int SeatsEnd { get; set; }

    public Tier TierEnd { get; set; } = Tier.Starter;

    public Tier TierAt(long at) => Changes.LastOrDefault(c => c.At <= at)?.Tier ?? TierStart;

    public int SeatsAt(long at) => Changes.LastOrDefault(c => c.At <= at)?.Seats ?? SeatsStart;

    /// <summary>The start of billing cycle <paramref name="k"/> (monthly from the anchor, clipped to the month's length like Stripe).</summary>
    public long Cycle(int k) =>
        k == 0 ? Anchor : new DateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(Anchor).UtcDateTime.AddMonths(k)).ToUnixTimeSeconds();

    /// <summary>The billing period containing <paramref name="at"/>: the trial, or a monthly cycle.</summary>
    public (long Start, long End) PeriodAt(long at)
    {
        if (TrialEnd is { } trialEnd && at < trialEnd)
        {
            return (SignupAt, trialEnd);
        }

        var k = 0;
        while (Cycle(k + 1) <= at)
        {
            k++;
        }

        return (Cycle(k), Cycle(k + 1));
    }

    /// <summary>How active the account is on a day, relative to its normal (1).</summary>
    public double Activity(int day)
    {
        var a = WeekNoise[Math.Clamp(day / 7, 0, WeekNoise.Length - 1)];
        var age = day - SignupDay;
        if (age < 21)
        {
            a *= 0.55 + (0.45 * age / 21.0);
        }

        a *= Scenario switch
        {
            Scenario.OnboardingFailure => 0.3 + (0.35 * Math.Exp(-age / 25.0)),
            Scenario.SeatPressure => 1.1,
            Scenario.Expanding when day >= GrowthStart => 1 + (0.5 * Math.Min(1, (day - GrowthStart) / 60.0)),
            _ => 1,
        };
        a *= 1 - ((1 - DeclineFloor) * Ramp(day, DeclineStart, DeclineEnd));
        if (day >= DipStart && day < DipEnd)
        {
            a *= 0.55;
        }

        if (day >= CancelRequestDay)
        {
            a *= 0.35;
        }

        return a;
    }

    /// <summary>How troubled the account is on a day (0–1): more errors and tickets, lower NPS.</summary>
    public double Trouble(int day)
    {
        var t = Scenario == Scenario.OnboardingFailure ? 0.6 : 0;
        t = Math.Max(t, 0.8 * Ramp(day, DeclineStart, DeclineEnd));
        if (day >= ChampionLeaveDay)
        {
            t = Math.Max(t, 0.5);
        }

        if (day >= DipStart && day < DipEnd)
        {
            t = Math.Max(t, 0.45);
        }

        if (day >= PastDueDay)
        {
            t = Math.Max(t, 0.4);
        }

        if (day >= CancelRequestDay)
        {
            t = Math.Max(t, 0.6);
        }

        return t;
    }

    private static double Ramp(int day, int start, int end) =>
        day < start ? 0 : end <= start || day >= end ? 1 : (day - start) / (double)(end - start);
}

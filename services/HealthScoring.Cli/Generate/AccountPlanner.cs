using System.Globalization;

namespace HealthScoring.Cli.Generate;

/// <summary>
/// Decides an account's story: firmographics, a latent scenario, signup, plan and seats, the people and when they
/// join and leave, seat limits and expansions, churn, and the billing that follows. Uses its own generator, seeded
/// from the run's seed and the account's number, so an account does not depend on any other.
/// </summary>
internal sealed class AccountPlanner(int seed, Window window, IReadOnlyList<Owner> owners)
{
    private const int DayS = 86_400;

    // healthy, declining, onboarding_failure, champion_loss, seat_pressure, payment_failures, expanding
    private static readonly double[] ScenarioWeights = [0.44, 0.14, 0.08, 0.08, 0.10, 0.06, 0.10];

    public AccountPlan Plan(int index)
    {
        var random = new Random(RandomExtensions.DeriveSeed(seed, index, 1));
        var ids = new StripeIds(seed, index);
        var scenario = (Scenario)random.Weighted(ScenarioWeights);
        var days = window.Days;

        var first = random.Pick(Pools.CompanyFirst);
        var second = random.Pick(Pools.CompanySecond);
        var country = random.Pick(Pools.Countries);

        // Onboarding failures are new accounts; of the others about a third sign up during the history.
        var signupDay = scenario == Scenario.OnboardingFailure ? random.Between(0, Math.Max(0, days - 21))
            : random.Chance(0.35) ? random.Between(0, Math.Max(0, days - 10))
            : -random.Between(1, 900);
        var signupAt = window.DayStart(signupDay) + WorkingSecond(random, country);
        var tier = Tier.All[random.Weighted([0.45, 0.38, 0.17])];
        var u = random.NextDouble();
        var seats = tier.Rank switch
        {
            0 => 2 + (int)(9 * u * u),
            1 => 5 + (int)(21 * u * u),
            _ => 15 + (int)(46 * u * u),
        };
        var plan = new AccountPlan
        {
            Index = index,
            Id = AccountId(index),
            Name = $"{first} {second}",
            Domain = $"{first}{second}{index}.example".ToLowerInvariant(),
            Industry = random.Pick(Pools.Industries),
            Employees = Math.Max(seats, (int)Math.Round(seats * random.Uniform(2, 12))),
            Country = country,
            Owner = owners[random.Next(owners.Count)],
            Scenario = scenario,
            SignupDay = signupDay,
            SignupAt = signupAt,
            TierStart = tier,
            SeatsStart = seats,
            TrialEnd = signupDay >= 0 && random.Chance(0.4) ? signupAt + (14 * DayS) : null,
            WeekNoise = [.. Enumerable.Range(0, (days / 7) + 2).Select(_ => random.Uniform(0.85, 1.15))],
            WeekendFactor = random.Chance(0.2) ? random.Uniform(0.25, 0.45) : random.Uniform(0.06, 0.16),
            ErrorBase = random.Uniform(0.01, 0.05),
            Grumpy = random.Chance(0.12),
            FeatureAdoptDay = new int[7],
            CustomerId = ids.Customer,
            SubscriptionId = ids.Subscription,
            ItemId = ids.Item,
            InvoicePrefix = ids.InvoicePrefix,
        };

        PlanStory(plan, random);
        PlanFeatures(plan, random);
        PlanRoster(plan, random);
        PlanOnboarding(plan, random);
        Summarize(plan);
        var scheduled = plan.Scheduled.OrderBy(c => c.Day).ToList(); // stable: same-day calls keep their order
        plan.Scheduled.Clear();
        plan.Scheduled.AddRange(scheduled);
        return plan;
    }

    public static string AccountId(int index) => string.Create(CultureInfo.InvariantCulture, $"acc_{index:D4}");

    /// <summary>A moment of the working day in the account's country, as seconds after 00:00 UTC (wrapped into the day).</summary>
    private static long WorkingSecond(Random random, Country country)
    {
        var local = Math.Clamp(random.Normal(13 * 3600, 2.2 * 3600), 7 * 3600, 20 * 3600);
        var utc = (long)local - (country.UtcOffsetHours * 3600L);
        return Math.Clamp(((utc % DayS) + DayS) % DayS, 300, DayS - 3600);
    }

    /// <summary>When the story's turns happen, and churn (snapped to a period end) or failed payments.</summary>
    private void PlanStory(AccountPlan plan, Random random)
    {
        var days = window.Days;
        var first = plan.FirstDay;

        // The earliest a churn can be: two months after signup, and inside the history (for an account that signed up
        // long before, the decline that leads there may have begun before the history did).
        var earliestChurn = Math.Max(plan.SignupDay + 60, 3);
        int? churnTarget = null;
        switch (plan.Scenario)
        {
            case Scenario.Healthy:
                if (random.Chance(0.05))
                {
                    churnTarget = random.Between(Math.Max(plan.SignupDay + 30, 3), days + 30); // churn without warning: budget cut, acquisition
                }

                if (random.Chance(0.2))
                {
                    plan.DipStart = random.Between(first, days - 14);
                    plan.DipEnd = plan.DipStart + random.Between(10, 28);
                }

                break;
            case Scenario.Declining:
                if (random.Chance(0.2))
                {
                    // Declines, then settles lower and stays.
                    plan.DeclineStart = random.Between(first, days - 30);
                    plan.DeclineEnd = plan.DeclineStart + random.Between(40, 80);
                    plan.DeclineFloor = random.Uniform(0.45, 0.65);
                }
                else
                {
                    churnTarget = random.Between(earliestChurn, days + 60);
                    plan.DeclineStart = Math.Max(plan.SignupDay + 10, churnTarget.Value - random.Between(35, 80));
                    plan.DeclineEnd = churnTarget.Value;
                    plan.DeclineFloor = random.Uniform(0.08, 0.2);
                }

                break;
            case Scenario.OnboardingFailure:
                if (random.Chance(0.85))
                {
                    churnTarget = plan.SignupDay + random.Between(50, 110);
                }

                break;
            case Scenario.ChampionLoss:
                if (random.Chance(0.75))
                {
                    churnTarget = random.Between(earliestChurn, days + 60);
                    plan.ChampionLeaveDay = Math.Max(plan.SignupDay + 14, churnTarget.Value - random.Between(35, 100));
                    plan.DeclineFloor = random.Uniform(0.12, 0.3);
                    plan.DeclineEnd = churnTarget.Value;
                }
                else
                {
                    plan.ChampionLeaveDay = random.Between(Math.Max(plan.SignupDay + 14, 0), days - 10);
                    plan.DeclineFloor = random.Uniform(0.5, 0.7);
                    plan.DeclineEnd = plan.ChampionLeaveDay + 60;
                }

                plan.DeclineStart = plan.ChampionLeaveDay + random.Between(3, 10);
                break;
            case Scenario.SeatPressure:
                plan.PressureStart = random.Between(first, days - 30);
                churnTarget = random.Chance(0.03) ? random.Between(earliestChurn, days + 30) : null;
                break;
            case Scenario.Expanding:
                plan.GrowthStart = random.Between(first, days - 40);
                plan.GrowthEnd = plan.GrowthStart + random.Between(60, 120);
                churnTarget = random.Chance(0.02) ? random.Between(earliestChurn, days + 30) : null;
                break;
            case Scenario.PaymentFailures:
                PlanPaymentFailures(plan, random);
                break;
        }

        // Occasional failed payments, paid on the retry, anywhere.
        if (plan.Scenario != Scenario.PaymentFailures && random.Chance(0.06))
        {
            var cycle = CycleOnOrAfter(plan, window.DayStart(random.Between(first + 5, days - 5)));
            if (cycle > 0)
            {
                plan.PaymentEpisodes.Add(new PaymentEpisode(cycle, 2));
            }
        }

        if (churnTarget is { } target)
        {
            // Voluntary churn: asked to cancel some days before, deleted at the end of the paid period.
            var k = Math.Max(1, CycleOnOrAfter(plan, window.DayStart(target)));
            plan.DeletionAt = plan.Cycle(k);
            plan.PaymentEpisodes.RemoveAll(e => e.Cycle >= k);
            var request = plan.DeletionAt.Value - (random.Between(3, 20) * (long)DayS) - random.Between(0, 20_000);
            plan.CancelRequestAt = Math.Max(request, plan.SignupAt + DayS);
            plan.CancelRequestDay = window.DayOf(plan.CancelRequestAt.Value);
            plan.CancellationFeedback = random.Pick(Pools.CancellationFeedback);
        }

        plan.UsageEnd = plan.DeletionAt is { } deletion && deletion < window.EndUnix ? window.DayOf(deletion) : window.Days;
    }

    private void PlanPaymentFailures(AccountPlan plan, Random random)
    {
        // The failing invoice: at least a cycle after signup, late enough that the deletion (about 15 days later) is in the history.
        var earliest = plan.SignupDay < 0 ? -12 : plan.SignupDay + 20;
        var cycle = Math.Max(1, CycleOnOrAfter(plan, window.DayStart(random.Between(earliest, Math.Max(earliest, window.Days - 12)))));
        if (random.Chance(0.45) && cycle > 2)
        {
            plan.PaymentEpisodes.Add(new PaymentEpisode(cycle - random.Between(1, 2), random.Between(2, 3)));
        }

        var involuntary = random.Chance(0.7);
        plan.PaymentEpisodes.Add(new PaymentEpisode(cycle, involuntary ? null : random.Between(2, 4)));
        plan.PastDueDay = window.DayOf(plan.Cycle(cycle));
        if (involuntary)
        {
            plan.Involuntary = true;
            plan.DeletionAt = FailedAttemptAt(plan, cycle, 4) + random.Between(3_600, 20_000);
        }
    }

    /// <summary>When attempt <paramref name="attempt"/> (1–4) to pay cycle <paramref name="cycle"/>'s invoice happens (Stripe's smart retries, roughly).</summary>
    public static long FailedAttemptAt(AccountPlan plan, int cycle, int attempt) =>
        plan.Cycle(cycle) + 3_600 + (attempt switch { 1 => 0, 2 => 3, 3 => 8, _ => 15 } * (long)DayS);

    private static int CycleOnOrAfter(AccountPlan plan, long at)
    {
        var k = 0;
        while (plan.Cycle(k) < at)
        {
            k++;
        }

        return k;
    }

    /// <summary>Which features the account uses, from when: breadth follows the scenario.</summary>
    private void PlanFeatures(AccountPlan plan, Random random)
    {
        var adopt = plan.FeatureAdoptDay;
        Array.Fill(adopt, int.MaxValue);
        var existing = plan.SignupDay < 0;
        adopt[(int)Feature.Tasks] = plan.SignupDay;
        adopt[(int)Feature.Projects] = plan.SignupDay;
        var breadth = plan.Scenario switch
        {
            Scenario.OnboardingFailure => random.Between(0, 1),
            Scenario.Declining or Scenario.PaymentFailures => random.Between(1, 4),
            Scenario.Expanding => random.Between(2, 4),
            _ => random.Between(2, 5),
        };
        Feature[] optional = [Feature.Reporting, Feature.Collaboration, Feature.Exports, Feature.Automation, Feature.Integrations];
        var order = optional.OrderBy(f => random.NextDouble() + ((int)f * 0.15)).ToList();
        for (var i = 0; i < order.Count; i++)
        {
            int day;
            if (i < breadth)
            {
                day = existing && random.Chance(0.8) ? plan.SignupDay : plan.FirstDay + random.Between(1, existing ? window.Days : 45);
            }
            else if (plan.Scenario == Scenario.Expanding)
            {
                day = plan.GrowthStart + random.Between(0, 40);
            }
            else
            {
                continue;
            }

            adopt[(int)order[i]] = day;
        }
    }

    /// <summary>
    /// The people, day by day: leavers, invites (which wait for a free seat), seat limits and the expansions that
    /// resolve them, the expanding accounts' planned upgrade, and contractions before churn.
    /// </summary>
    private void PlanRoster(AccountPlan plan, Random random)
    {
        var days = window.Days;
        var seats = plan.SeatsStart;
        var tier = plan.TierStart;
        var existing = plan.SignupDay < 0;
        var champion = AddUser(plan, random, admin: true, joinDay: plan.SignupDay, champion: true);
        plan.ChampionUser = champion.Number;
        if (plan.Scenario == Scenario.ChampionLoss)
        {
            champion.LeaveDay = plan.ChampionLeaveDay;
        }

        var target = plan.Scenario == Scenario.SeatPressure ? (int)Math.Round(seats * random.Uniform(0.9, 1.0))
            : plan.Scenario == Scenario.OnboardingFailure ? Math.Min(seats, random.Between(1, 3))
            : (int)Math.Round(seats * random.Uniform(0.55, 0.9));
        target = Math.Clamp(target, 1, seats);
        var forcedInvites = new List<int>();
        for (var i = 1; i < target; i++)
        {
            if (existing)
            {
                AddUser(plan, random, admin: random.Chance(0.12), joinDay: random.Between(plan.SignupDay, -1), champion: false);
            }
            else
            {
                forcedInvites.Add(plan.SignupDay + random.Between(0, 20));
            }
        }

        // The API (an admin's integration) starts with the integrations feature, sometimes without.
        var integrations = plan.FeatureAdoptDay[(int)Feature.Integrations];
        if (random.Chance(integrations != int.MaxValue ? 0.65 : 0.1))
        {
            plan.ApiStartDay = integrations != int.MaxValue ? integrations : plan.SignupDay + random.Between(5, 60);
            plan.ApiUser = champion.Number;
            plan.ApiScale = random.Uniform(0.4, 2.5) * Math.Sqrt(seats);
        }

        var replacements = new List<int>();
        var blocked = 0;
        var nextDecision = 0;
        int? expansionDay = null;
        var expansionUpgrade = false;
        int? plannedUpgrade = plan.Scenario == Scenario.Expanding && random.Chance(0.8) ? plan.GrowthStart + random.Between(20, 60) : null;
        int? contraction = null;
        if (plan.DeletionAt is not null && plan.Scenario is Scenario.Declining or Scenario.ChampionLoss && random.Chance(0.35))
        {
            contraction = plan.DeclineStart + (int)((plan.DeclineEnd - plan.DeclineStart) * random.Uniform(0.3, 0.7));
        }
        else if (plan.Scenario == Scenario.Healthy && random.Chance(0.03))
        {
            contraction = random.Between(plan.FirstDay + 10, days - 1);
        }

        for (var day = plan.FirstDay; day < plan.UsageEnd; day++)
        {
            var present = plan.Users.Where(x => x.PresentOn(day)).ToList();
            var canChange = day < plan.CancelRequestDay && day >= plan.SignupDay + 7;

            // Expansion decided earlier (or the expanding account's planned upgrade) takes effect today.
            if (canChange && (day == expansionDay || day == plannedUpgrade))
            {
                var planned = day == plannedUpgrade && day != expansionDay;
                var upgrade = (planned || expansionUpgrade) && tier.Next is not null;
                var newTier = upgrade ? tier.Next! : tier;
                var newSeats = upgrade ? seats + blocked + random.Between(0, 2) : seats + blocked + Math.Max(2, (int)Math.Round(seats * random.Uniform(0.15, 0.5)));
                Change(plan, day, random, upgrade ? ChangeKind.Upgrade : ChangeKind.SeatIncrease, newTier, newSeats, tier, seats, present);
                (tier, seats) = (newTier, newSeats);
                for (var i = 0; i < blocked; i++)
                {
                    Invite(plan, random, day, present);
                }

                blocked = 0;
                expansionDay = null;
                if (plan.PressureEnd == int.MaxValue && day >= plan.PressureStart)
                {
                    plan.PressureEnd = day + random.Between(0, 30);
                }
            }

            if (canChange && day == contraction)
            {
                var headcount = present.Count;
                var downgrade = plan.Scenario == Scenario.Healthy && tier.Previous is not null;
                var newSeats = downgrade ? seats : Math.Max(headcount, (int)Math.Round(seats * random.Uniform(0.5, 0.8)));
                if (downgrade || newSeats < seats)
                {
                    var newTier = downgrade ? tier.Previous! : tier;
                    Change(plan, day, random, downgrade ? ChangeKind.Downgrade : ChangeKind.SeatDecrease, newTier, newSeats, tier, seats, present);
                    (tier, seats) = (newTier, newSeats);
                }
            }

            // Leavers.
            var leaveHazard = 0.015 / 30;
            if (day >= plan.DeclineStart && day < plan.DeclineEnd)
            {
                leaveHazard += (plan.Scenario == Scenario.Declining ? 0.5 : 0.3) / Math.Max(20, plan.DeclineEnd - plan.DeclineStart);
            }

            foreach (var user in present)
            {
                if (user.Number != plan.ChampionUser && user.Number != plan.ApiUser && random.Chance(leaveHazard))
                {
                    user.LeaveDay = day;
                    if (plan.Scenario is Scenario.Healthy or Scenario.SeatPressure or Scenario.Expanding && random.Chance(0.6))
                    {
                        replacements.Add(day + random.Between(1, 14));
                    }
                }
            }

            // Invites: new hires, replacements, the first weeks of a new account.
            var attempts = random.Poisson(InviteRate(plan, day, seats));
            attempts += forcedInvites.RemoveAll(d => d == day) + replacements.RemoveAll(d => d == day);
            for (var i = 0; i < attempts; i++)
            {
                var headcount = plan.Users.Count(x => x.JoinDay <= day + 3 && x.LeaveDay > day);
                if (headcount < seats)
                {
                    Invite(plan, random, day, present);
                    continue;
                }

                // No free seat: the admin sees the seat limit, looks at pricing, and maybe buys more.
                var admin = Admin(plan, random, present);
                plan.Scheduled.Add(new ScheduledCall(day, admin, Events.SeatLimitReached, "seats", Number: seats));
                if (random.Chance(0.6))
                {
                    plan.Scheduled.Add(new ScheduledCall(day + random.Between(0, 1), admin, Events.PricingPageViewed, "source", "seat_limit"));
                }

                blocked = Math.Min(blocked + 1, 6);
                if (expansionDay is null && day >= nextDecision)
                {
                    if (random.Chance(ExpandChance(plan.Scenario)))
                    {
                        expansionDay = day + random.Between(4, 30);
                        expansionUpgrade = random.Chance(plan.Scenario == Scenario.SeatPressure ? 0.25 : 0.15);
                        if (random.Chance(0.7))
                        {
                            var name = expansionUpgrade && tier.Next is not null ? tier.Next.Name : tier.Name;
                            plan.Scheduled.Add(new ScheduledCall(Math.Max(day, expansionDay.Value - random.Between(0, 3)), admin, Events.UpgradeClicked, "plan", name));
                        }
                    }
                    else
                    {
                        nextDecision = day + 45;
                    }
                }
            }

            if (plannedUpgrade is { } upgradeDay && day == upgradeDay - 5 && tier.Next is not null)
            {
                var admin = Admin(plan, random, present);
                plan.Scheduled.Add(new ScheduledCall(day, admin, Events.PricingPageViewed, "source", "in_app"));
                plan.Scheduled.Add(new ScheduledCall(upgradeDay, admin, Events.UpgradeClicked, "plan", tier.Next.Name));
            }
        }

    }

    private static double InviteRate(AccountPlan plan, int day, int seats)
    {
        var monthly = plan.Scenario switch
        {
            Scenario.SeatPressure when day >= plan.PressureStart && day < plan.PressureEnd => 0.12 + (1.5 / Math.Max(seats, 1)),
            Scenario.Expanding when day >= plan.GrowthStart && day < plan.GrowthEnd => 0.07 + (0.6 / Math.Max(seats, 1)),
            Scenario.OnboardingFailure => 0,
            Scenario.Declining or Scenario.ChampionLoss when day >= plan.DeclineStart => 0,
            _ => 0.02,
        };
        return seats * monthly / 30.0;
    }

    private static double ExpandChance(Scenario scenario) => scenario switch
    {
        Scenario.SeatPressure => 0.85,
        Scenario.Expanding => 0.7,
        Scenario.Healthy => 0.4,
        Scenario.PaymentFailures => 0.15,
        _ => 0.05,
    };

    private void Change(AccountPlan plan, int day, Random random, ChangeKind kind, Tier tier, int seats, Tier previousTier, int previousSeats, List<PlannedUser> present)
    {
        var at = window.DayStart(day) + WorkingSecond(random, plan.Country);
        plan.Changes.Add(new SubscriptionChange(at, kind, tier, seats, previousTier, previousSeats));
        plan.Scheduled.Add(new ScheduledCall(day, Admin(plan, random, present), null));
    }

    private void Invite(AccountPlan plan, Random random, int day, List<PlannedUser> present)
    {
        var inviter = present.Count > 0 && random.Chance(0.7) ? Admin(plan, random, present) : present.Count > 0 ? random.Pick(present).Number : plan.ChampionUser;
        var admin = random.Chance(0.1);
        plan.Scheduled.Add(new ScheduledCall(day, inviter, Events.TeammateInvited, "role", admin ? "admin" : "member"));
        AddUser(plan, random, admin, day + random.Between(0, 3), champion: false);
    }

    private static int Admin(AccountPlan plan, Random random, List<PlannedUser> present)
    {
        var admins = present.Where(p => p.Admin).ToList();
        return admins.Count > 0 ? random.Pick(admins).Number : present.Count > 0 ? present[0].Number : plan.ChampionUser;
    }

    private PlannedUser AddUser(AccountPlan plan, Random random, bool admin, int joinDay, bool champion)
    {
        var number = plan.Users.Count + 1;
        var first = random.Pick(Pools.FirstNames);
        var last = random.Pick(Pools.LastNames);
        var createdAt = joinDay == plan.SignupDay ? plan.SignupAt + 60 : window.DayStart(joinDay) + WorkingSecond(random, plan.Country);
        var p = random.NextDouble();
        var user = new PlannedUser
        {
            Number = number,
            Id = string.Create(CultureInfo.InvariantCulture, $"usr_{plan.Index:D4}_{number:D3}"),
            Name = $"{first} {last}",
            Email = $"{first}.{last}{(number > 1 ? number.ToString(CultureInfo.InvariantCulture) : "")}@{plan.Domain}".ToLowerInvariant(),
            Title = champion || admin ? random.Pick(Pools.AdminTitles) : random.Pick(Pools.MemberTitles),
            Admin = champion || admin,
            Propensity = champion ? random.Uniform(0.82, 0.95) : admin ? random.Uniform(0.35, 0.75) : 0.06 + (0.64 * Math.Pow(p, 1.4)),
            Intensity = champion ? random.Uniform(1.8, 2.6) : random.Uniform(0.5, 1.6),
            Platform = random.Pick(Pools.Platforms),
            JoinDay = joinDay,
            CreatedAtUnix = createdAt,
            NpsOffset = random.Next(90),
        };
        plan.Users.Add(user);
        return user;
    }

    /// <summary>A new account's admin works through the onboarding steps (onboarding failures stop after one or two); an admin connects the first integration.</summary>
    private static void PlanOnboarding(AccountPlan plan, Random random)
    {
        var integrations = plan.FeatureAdoptDay[(int)Feature.Integrations];
        if (integrations != int.MaxValue && integrations >= 0)
        {
            var day = Math.Max(integrations, plan.SignupDay);
            plan.Scheduled.Add(new ScheduledCall(day, Admin(plan, random, [.. plan.Users.Where(x => x.PresentOn(day))]), Events.IntegrationConnected, "integration", random.Pick(Pools.Integrations)));
        }

        if (plan.SignupDay < 0)
        {
            return;
        }

        var steps = plan.Scenario switch
        {
            Scenario.OnboardingFailure => random.Chance(0.15) ? 3 : random.Between(1, 2),
            Scenario.Healthy or Scenario.SeatPressure or Scenario.Expanding => random.Chance(0.85) ? 5 : 4,
            _ => random.Between(3, 5),
        };
        var stepDay = plan.SignupDay;
        for (var step = 1; step <= steps; step++)
        {
            plan.Scheduled.Add(new ScheduledCall(stepDay, plan.ChampionUser, Events.OnboardingStepCompleted, "step", Pools.OnboardingSteps[step - 1], step));
            stepDay += random.Chance(0.5) ? 0 : random.Between(1, 4);
        }
    }

    /// <summary>The ground truth: churn and first expansion within the history.</summary>
    private void Summarize(AccountPlan plan)
    {
        var end = window.EndUnix;
        plan.ChurnDay = plan.DeletionAt is { } deletion && deletion < end ? window.DayOf(deletion) : null;
        var expansion = plan.Changes.FirstOrDefault(c => c.IsExpansion && c.At < end && c.At >= window.StartUnix);
        plan.ExpansionDay = expansion is null ? null : window.DayOf(expansion.At);
        var last = plan.Changes.LastOrDefault(c => c.At < end);
        plan.SeatsEnd = last?.Seats ?? plan.SeatsStart;
        plan.TierEnd = last?.Tier ?? plan.TierStart;
    }
}

using System.Globalization;
using System.Text.Json;

namespace HealthScoring.Cli.Generate;

/// <summary>
/// Writes an account's Segment calls one day at a time: sessions of its people (weekday rhythm, the account's
/// activity curve), the features they use, the story's scheduled calls, API traffic, errors, tickets and NPS.
/// Each user is grouped and identified just before their first call. Has its own generator, so the account's
/// usage depends on nothing but the seed and the account.
/// </summary>
internal sealed class UsageSimulator
{
    private const long DayMs = 86_400_000;

    // Relative use of each feature's events in a session: tasks, projects, reporting, collaboration, exports, automation, integrations.
    private static readonly double[] FeatureWeights = [40, 7, 18, 20, 5, 10, 0];
    private static readonly string[] Priorities = ["low", "normal", "high", "urgent"];

    private readonly AccountPlan _plan;
    private readonly Window _window;
    private readonly Random _random;
    private readonly bool[] _identified;
    private readonly long[] _firstCallToday;
    private readonly double[] _weights = new double[7];
    private int _seq;
    private int _scheduled;

    public UsageSimulator(AccountPlan plan, Window window, int seed)
    {
        _plan = plan;
        _window = window;
        _random = new Random(RandomExtensions.DeriveSeed(seed, plan.Index, 2));
        _identified = new bool[plan.Users.Count + 1];
        _firstCallToday = new long[plan.Users.Count + 1];
        Array.Fill(_firstCallToday, long.MaxValue);
    }

    public void Day(int day, LineBuffer output)
    {
        var today = new List<ScheduledCall>();
        while (_scheduled < _plan.Scheduled.Count && _plan.Scheduled[_scheduled].Day <= day)
        {
            var call = _plan.Scheduled[_scheduled++];
            if (call.Day == day)
            {
                today.Add(call);
            }
        }

        if (day < _plan.FirstDay || day >= _plan.UsageEnd)
        {
            return;
        }

        var dayStart = _window.DayStart(day) * 1000;
        var activity = _plan.Activity(day);
        var trouble = _plan.Trouble(day);
        var weekday = _window.Date(day).DayOfWeek;
        var weekdayFactor = weekday is DayOfWeek.Saturday or DayOfWeek.Sunday ? _plan.WeekendFactor : weekday == DayOfWeek.Friday ? 0.85 : 1;
        for (var f = 0; f < _weights.Length; f++)
        {
            _weights[f] = _plan.FeatureAdoptDay[f] <= day ? FeatureWeights[f] * (f <= (int)Feature.Projects ? 1 : 1 - (0.7 * trouble)) : 0;
        }

        var present = _plan.Users.Where(u => u.PresentOn(day)).ToList();
        if (present.Count == 0)
        {
            return;
        }

        // A call scheduled for someone no longer (or not yet) here is made by an admin who is.
        var calls = today.Select(c => present.Any(u => u.Number == c.User) ? c : c with { User = (present.FirstOrDefault(u => u.Admin) ?? present[0]).Number }).ToList();

        foreach (var user in present)
        {
            var mine = calls.Where(c => c.User == user.Number).ToList();
            var active = _random.Chance(Math.Min(0.97, user.Propensity * activity * weekdayFactor));
            if (!active && mine.Count == 0)
            {
                continue;
            }

            var sessions = !active ? 1 : 1 + (_random.Chance(0.25 * activity) ? 1 : 0) + (_random.Chance(0.06) ? 1 : 0);
            for (var s = 0; s < sessions; s++)
            {
                var time = dayStart + (SessionSecond() * 1000) + _random.Next(1000);
                Track(output, user, time, Events.SessionStarted, "platform", user.Platform);
                if (s == 0)
                {
                    foreach (var call in mine)
                    {
                        time += _random.Between(5, 120) * 1000L;
                        Scheduled(output, user, Clamp(time, dayStart), call);
                    }
                }

                var actions = active ? _random.Poisson(user.Intensity * (0.5 + (0.5 * Math.Min(activity, 1.5))) * (1 - (0.4 * trouble))) : 0;
                for (var i = 0; i < actions; i++)
                {
                    time += _random.Between(20, 480) * 1000L + _random.Next(1000);
                    Action(output, user, Clamp(time, dayStart));
                }

                if (_random.Chance(_plan.ErrorBase + (0.12 * trouble)))
                {
                    time += _random.Between(5, 300) * 1000L;
                    Track(output, user, Clamp(time, dayStart), Events.ErrorOccurred, "code", _random.Pick(Pools.ErrorCodes));
                }

                if (s == 0 && active && day % 90 == user.NpsOffset && _random.Chance(0.35))
                {
                    time += _random.Between(10, 300) * 1000L;
                    Track(output, user, Clamp(time, dayStart), Events.NpsSubmitted, "score", number: Nps(trouble));
                }
            }
        }

        Api(output, day, dayStart, activity, weekdayFactor, present);
        SupportTicket(output, day, dayStart, trouble, weekdayFactor, present);
        Identify(output, dayStart);
    }

    private static long Clamp(long time, long dayStart) => Math.Min(time, dayStart + DayMs - 1);

    /// <summary>Seconds after 00:00 UTC of a session start in the account's working day.</summary>
    private long SessionSecond()
    {
        var local = Math.Clamp(_random.Normal(13.5 * 3600, 2.6 * 3600), 6.5 * 3600, 22 * 3600);
        var utc = (long)local - (_plan.Country.UtcOffsetHours * 3600L);
        return Math.Clamp(((utc % 86_400) + 86_400) % 86_400, 60, 86_400 - 1_800);
    }

    private void Action(LineBuffer output, PlannedUser user, long time)
    {
        var feature = (Feature)_random.Weighted(_weights);
        switch (feature)
        {
            case Feature.Tasks:
                Track(output, user, time, Events.TaskCompleted);
                break;
            case Feature.Projects:
                Track(output, user, time, Events.ProjectCreated, "template", _random.Pick(Pools.Templates));
                break;
            case Feature.Reporting when _random.Chance(0.12):
                Track(output, user, time, Events.DashboardShared, "channel", _random.Pick(Pools.ShareChannels));
                break;
            case Feature.Reporting:
                Track(output, user, time, Events.ReportViewed, "report", _random.Pick(Pools.Reports));
                break;
            case Feature.Collaboration:
                Track(output, user, time, Events.CommentAdded);
                break;
            case Feature.Exports:
                Track(output, user, time, Events.ExportDownloaded, "format", _random.Pick(Pools.ExportFormats));
                break;
            default:
                Track(output, user, time, Events.AutomationRun, "trigger", _random.Pick(Pools.Triggers));
                break;
        }
    }

    private void Scheduled(LineBuffer output, PlannedUser user, long time, ScheduledCall call)
    {
        if (call.IsGroup)
        {
            Touch(user, time);
            Group(output, user, time);
        }
        else if (call.Event == Events.OnboardingStepCompleted)
        {
            Track(output, user, time, call.Event, "step", number: call.Number, secondName: "name", secondText: call.Text);
        }
        else
        {
            Track(output, user, time, call.Event!, call.PropertyName, call.Text, call.Number);
        }
    }

    /// <summary>The API traffic of the account's integration, as one event per user and hour with the number of requests.</summary>
    private void Api(LineBuffer output, int day, long dayStart, double activity, double weekdayFactor, List<PlannedUser> present)
    {
        if (day < _plan.ApiStartDay || present.FirstOrDefault(u => u.Number == _plan.ApiUser) is not { } user)
        {
            return;
        }

        var hours = Math.Min(12, _random.Poisson(2.2 * activity * Math.Max(weekdayFactor, 0.4)));
        var start = _random.Next(24);
        for (var h = 0; h < hours; h++)
        {
            var hour = (start + (h * 2)) % 24;
            var count = Math.Max(1, (int)Math.Round(_plan.ApiScale * activity * Math.Exp(_random.Normal(3, 0.6))));
            Track(output, user, dayStart + (hour * 3_600_000L) + 10_000 + _random.Next(3_590_000), Events.ApiCalled, "count", number: count);
        }
    }

    private void SupportTicket(LineBuffer output, int day, long dayStart, double trouble, double weekdayFactor, List<PlannedUser> present)
    {
        var rate = 0.006 * (1 + (present.Count / 12.0)) * (1 + (4 * trouble)) * Math.Max(weekdayFactor, 0.2);
        if (!_random.Chance(rate))
        {
            return;
        }

        var user = _random.Pick(present);
        var priority = Priorities[_random.Weighted([2, 5, 2 + (4 * trouble), 0.3 + (2 * trouble)])];
        var topic = day >= _plan.PastDueDay && _random.Chance(0.6) ? "billing" : _random.Pick(Pools.TicketTopics);
        Track(output, user, dayStart + (SessionSecond() * 1000), Events.SupportTicketOpened, "priority", priority, secondName: "topic", secondText: topic);
    }

    private long Nps(double trouble)
    {
        var mean = 8.4 - (4 * trouble) - (_plan.Grumpy ? 2.5 : 0);
        return (long)Math.Clamp(Math.Round(_random.Normal(mean, 1.6)), 0, 10);
    }

    /// <summary>Notes a call of a user not identified yet: <see cref="Identify"/> puts identify and group before their first call of the day.</summary>
    private void Touch(PlannedUser user, long time)
    {
        if (!_identified[user.Number])
        {
            _firstCallToday[user.Number] = Math.Min(_firstCallToday[user.Number], time);
        }
    }

    /// <summary>
    /// Groups and identifies, 2 and 1 seconds before their first call, the users who called today for the first
    /// time. Group first: an identify of a user not yet grouped would wait in an unassigned stream, and attribution
    /// copies only tracks to the account.
    /// </summary>
    private void Identify(LineBuffer output, long dayStart)
    {
        foreach (var user in _plan.Users)
        {
            var first = _firstCallToday[user.Number];
            if (first == long.MaxValue)
            {
                continue;
            }

            _identified[user.Number] = true;
            _firstCallToday[user.Number] = long.MaxValue;
            var groupAt = Math.Max(dayStart, first - 2_000);
            Group(output, user, groupAt);
            var identifyAt = Math.Max(groupAt + 1, first - 1_000);
            var w = output.Begin(identifyAt, _plan.Index, ++_seq);
            w.WriteStartObject();
            w.WriteString("type", "identify");
            w.WriteString("messageId", MessageId());
            Timestamp(w, identifyAt);
            w.WriteString("userId", user.Id);
            w.WriteStartObject("traits");
            w.WriteString("email", user.Email);
            w.WriteString("name", user.Name);
            w.WriteString("title", user.Title);
            Timestamp(w, user.CreatedAtUnix * 1000, "created_at");
            w.WriteEndObject();
            w.WriteEndObject();
            output.End();
        }
    }

    private void Group(LineBuffer output, PlannedUser user, long time)
    {
        var w = output.Begin(time, _plan.Index, ++_seq);
        var at = time / 1000;
        w.WriteStartObject();
        w.WriteString("type", "group");
        w.WriteString("messageId", MessageId());
        Timestamp(w, time);
        w.WriteString("userId", user.Id);
        w.WriteString("groupId", _plan.Id);
        w.WriteStartObject("traits");
        w.WriteString("name", _plan.Name);
        w.WriteString("plan", _plan.TierAt(at).Name);
        w.WriteNumber("seats", _plan.SeatsAt(at));
        w.WriteString("industry", _plan.Industry);
        w.WriteNumber("employees", _plan.Employees);
        w.WriteString("country", _plan.Country.Code);
        w.WriteStartObject("owner");
        w.WriteString("name", _plan.Owner.Name);
        w.WriteString("email", _plan.Owner.Email);
        w.WriteEndObject();
        Timestamp(w, _plan.SignupAt * 1000, "created_at");
        w.WriteEndObject();
        w.WriteEndObject();
        output.End();
    }

    private void Track(
        LineBuffer output, PlannedUser user, long time, string name, string? propertyName = null, string? text = null, long? number = null,
        string? secondName = null, string? secondText = null)
    {
        Touch(user, time);
        var w = output.Begin(time, _plan.Index, ++_seq);
        w.WriteStartObject();
        w.WriteString("type", "track");
        w.WriteString("messageId", MessageId());
        Timestamp(w, time);
        w.WriteString("userId", user.Id);
        w.WriteString("event", name);
        if (propertyName is not null)
        {
            w.WriteStartObject("properties");
            if (number is { } n)
            {
                w.WriteNumber(propertyName, n);
            }
            else
            {
                w.WriteString(propertyName, text);
            }

            if (secondName is not null)
            {
                w.WriteString(secondName, secondText);
            }

            w.WriteEndObject();
        }

        // Most calls name their account; some rely on the user's last group call, as real instrumentation does.
        if (_random.Chance(0.9))
        {
            w.WriteStartObject("context");
            w.WriteString("groupId", _plan.Id);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        output.End();
    }

    /// <summary>
    /// A random-looking id, unique within the run: 64 random bits from the account's generator beside a bijective
    /// mix of the account and the call's sequence.
    /// </summary>
    private string MessageId()
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, _random.NextInt64());
        BitConverter.TryWriteBytes(bytes[8..], RandomExtensions.Mix(((ulong)(uint)_plan.Index << 32) | (uint)_seq));
        return new Guid(bytes).ToString();
    }

    private static void Timestamp(Utf8JsonWriter w, long unixMs, string name = "timestamp")
    {
        Span<char> text = stackalloc char[24];
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.TryFormat(text, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        w.WriteString(name, text[..written]);
    }
}

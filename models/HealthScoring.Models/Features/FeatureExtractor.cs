namespace HealthScoring.Models.Features;

/// <summary>
/// Which track events play a special role in the features. The defaults match the names `healthscore generate`
/// emits and common Segment tracking plans; a tenant may configure its own.
/// </summary>
public sealed record EventRoles
{
    /// <summary>Events that start a session.</summary>
    public IReadOnlyList<string> Session { get; init; } = ["Session Started"];

    /// <summary>Events that stand for API calls; their <see cref="ApiCallCountProperty"/> says how many (1 when absent).</summary>
    public IReadOnlyList<string> ApiCall { get; init; } = ["API Called"];

    /// <summary>The property holding how many API calls one event stands for.</summary>
    public string ApiCallCountProperty { get; init; } = "count";

    /// <summary>Errors users saw.</summary>
    public IReadOnlyList<string> Error { get; init; } = ["Error Occurred"];

    /// <summary>Support tickets opened.</summary>
    public IReadOnlyList<string> SupportTicket { get; init; } = ["Support Ticket Opened"];

    /// <summary>The account hit its seat limit.</summary>
    public IReadOnlyList<string> SeatLimit { get; init; } = ["Seat Limit Reached"];

    /// <summary>Interest in a bigger plan.</summary>
    public IReadOnlyList<string> UpgradeSignal { get; init; } = ["Pricing Page Viewed", "Upgrade Clicked"];
}

/// <summary>
/// Point-in-time features of one account as of a date: only days strictly before the as-of date and billing
/// states that began before its first instant are read, so nothing after the as-of date can leak in. Metric design
/// follows carl24k/fight-churn: counts over 7/28/90-day windows, per-user ratios, percent change of the last 28 days
/// against the 28 before, and tenure scaling of young accounts' 28-day counts.
/// </summary>
public sealed class FeatureExtractor
{
    private readonly FeatureSchema _schema;
    private readonly EventRoles _roles;
    private readonly Dictionary<string, int> _eventIndex;
    private readonly Dictionary<string, int> _planIndex;
    private readonly int _eventBase;
    private readonly int _planBase;

    /// <summary>Creates an extractor for one schema.</summary>
    public FeatureExtractor(FeatureSchema schema, EventRoles? roles = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        _schema = schema;
        _roles = roles ?? new EventRoles();
        _eventBase = FeatureSchema.CoreFeatures.Count;
        _planBase = _eventBase + (3 * schema.EventNames.Count);
        _eventIndex = schema.EventNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        _planIndex = schema.Plans.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>The schema's columns.</summary>
    public IReadOnlyList<string> Columns => _schema.Columns;

    /// <summary>Computes the features of <paramref name="account"/> as of the start of <paramref name="asOf"/> into <paramref name="destination"/>.</summary>
    public void Compute(AccountHistory account, DateOnly asOf, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (destination.Length != _schema.Columns.Count)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values; the schema has {_schema.Columns.Count} columns.", nameof(destination));
        }

        destination.Clear();
        var last7 = Window.Of(account.DaysBetween(asOf.AddDays(-7), asOf), _roles);
        var last28 = Window.Of(account.DaysBetween(asOf.AddDays(-28), asOf), _roles);
        var prev28 = Window.Of(account.DaysBetween(asOf.AddDays(-56), asOf.AddDays(-28)), _roles);
        var last90 = Window.Of(account.DaysBetween(asOf.AddDays(-90), asOf), _roles);
        var firstSeen = account.FirstSeen(asOf);
        var tenure = firstSeen is { } f ? asOf.DayNumber - f.DayNumber : 0;

        // fight-churn's tenure scaling: an account younger than the window had less time to act.
        var scale28 = tenure is > 0 and < 28 ? 28.0 / tenure : 1.0;
        var instant = AccountHistory.Instant(asOf);
        var billing = account.BillingAt(instant);
        var billing90 = account.BillingAt(instant.AddDays(-90));
        var lastActive = account.DaysBetween(DateOnly.MinValue, asOf);
        var i = 0;
        destination[i++] = last7.Events;
        destination[i++] = (float)(last28.Events * scale28);
        destination[i++] = last90.Events;
        destination[i++] = Change(last28.Events, prev28.Events);
        destination[i++] = Ratio(last28.Events, last28.Users.Count);
        destination[i++] = last7.Users.Count;
        destination[i++] = last28.Users.Count;
        destination[i++] = prev28.Users.Count;
        destination[i++] = Change(last28.Users.Count, prev28.Users.Count);
        destination[i++] = last28.Users.Count == 0 ? 0 : (float)(last28.UserDays / 28.0 / last28.Users.Count);
        destination[i++] = last28.ActiveDays;
        destination[i++] = lastActive.Length == 0 ? float.NaN : asOf.DayNumber - lastActive[^1].Day.DayNumber;
        destination[i++] = (float)(last28.Sessions * scale28);
        destination[i++] = Ratio(last28.Sessions, last28.Users.Count);
        destination[i++] = Change(last28.Sessions, prev28.Sessions);
        destination[i++] = last28.Features.Count;
        destination[i++] = last90.Features.Count;
        destination[i++] = Ratio(last28.FeatureUses, last28.Features.Count);
        destination[i++] = Change(last28.Features.Count, prev28.Features.Count);
        destination[i++] = last28.ApiCalls;
        destination[i++] = Change(last28.ApiCalls, prev28.ApiCalls);
        destination[i++] = last28.Errors;
        destination[i++] = Ratio(last28.Errors, last28.Sessions);
        destination[i++] = last28.Tickets;
        destination[i++] = last90.Tickets;
        destination[i++] = tenure;
        destination[i++] = billing.IsCustomer ? billing.MrrMinor / 100f : float.NaN;
        destination[i++] = billing.IsCustomer ? billing.Seats : float.NaN;
        destination[i++] = billing.IsCustomer && billing.Seats > 0 ? billing.MrrMinor / 100f / billing.Seats : float.NaN;
        destination[i++] = billing.IsCustomer && billing90.IsCustomer ? Change(billing.MrrMinor, billing90.MrrMinor) : float.NaN;
        destination[i++] = billing.IsCustomer && billing.Seats > 0 ? (float)last28.Users.Count / billing.Seats : float.NaN;
        destination[i++] = Window.Of(account.DaysBetween(asOf.AddDays(-60), asOf), _roles).PaymentFailures;
        destination[i++] = last90.InvoicesPaid;
        destination[i++] = last28.SeatLimitHits;
        destination[i++] = last28.UpgradeSignals;
        if (i != _eventBase)
        {
            throw new InvalidOperationException("The core features and their names are out of step.");
        }

        foreach (var (name, index) in _eventIndex)
        {
            var at = _eventBase + (3 * index);
            destination[at] = last7.Count(name);
            destination[at + 1] = (float)(last28.Count(name) * scale28);
            destination[at + 2] = last90.Count(name);
        }

        if (billing.Plan is not null && _planIndex.TryGetValue(billing.Plan, out var plan))
        {
            destination[_planBase + plan] = 1;
        }
    }

    /// <summary>Percent change of <paramref name="current"/> against <paramref name="previous"/>, as a fraction (−1 = all gone); NaN when both are zero, +1 when only the previous was zero.</summary>
    public static float Change(double current, double previous) =>
        previous > 0 ? (float)((current - previous) / previous) : current > 0 ? 1f : float.NaN;

    private static float Ratio(double numerator, double denominator) => denominator > 0 ? (float)(numerator / denominator) : 0f;

    /// <summary>Sums over a run of days.</summary>
    private sealed class Window
    {
        private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

        public long Events { get; private set; }
        public HashSet<string> Users { get; } = new(StringComparer.Ordinal);
        public long UserDays { get; private set; }
        public int ActiveDays { get; private set; }
        public long Sessions { get; private set; }
        public HashSet<string> Features { get; } = new(StringComparer.Ordinal);
        public long FeatureUses { get; private set; }
        public long ApiCalls { get; private set; }
        public long Errors { get; private set; }
        public long Tickets { get; private set; }
        public long InvoicesPaid { get; private set; }
        public long PaymentFailures { get; private set; }
        public long SeatLimitHits { get; private set; }
        public long UpgradeSignals { get; private set; }

        public long Count(string name) => _counts.GetValueOrDefault(name);

        public static Window Of(ReadOnlySpan<DailyActivity> days, EventRoles roles)
        {
            var w = new Window();
            foreach (var day in days)
            {
                var events = 0;
                foreach (var (name, count) in day.EventCounts)
                {
                    w._counts[name] = w._counts.GetValueOrDefault(name) + count;
                    events += count;
                }

                w.Events += events;
                if (events > 0 || day.Users.Count > 0)
                {
                    w.ActiveDays++;
                }

                w.Users.UnionWith(day.Users);
                w.UserDays += day.Users.Count;
                w.Sessions += day.Sessions;
                foreach (var (feature, uses) in day.FeatureUses)
                {
                    w.Features.Add(feature);
                    w.FeatureUses += uses;
                }

                w.ApiCalls += day.ApiCalls;
                w.Errors += day.Errors;
                w.Tickets += day.SupportTickets;
                w.InvoicesPaid += day.InvoicesPaid;
                w.PaymentFailures += day.PaymentFailures;
            }

            w.SeatLimitHits = roles.SeatLimit.Sum(w.Count);
            w.UpgradeSignals = roles.UpgradeSignal.Sum(w.Count);
            return w;
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HealthScoring.Cli.Generate;

/// <summary>
/// A synthetic B2B SaaS company: accounts with a latent scenario (healthy, declining, onboarding failure, champion
/// loss, seat pressure, payment failures, expanding) whose usage and billing follow from it, written as files
/// the service imports: <c>events.jsonl</c> (Segment calls), <c>billing.jsonl</c> (Stripe events),
/// <c>taxonomy.json</c> and the ground truth <c>accounts.csv</c>. The same options give byte-identical files.
/// </summary>
internal sealed class SyntheticSaas
{
    public const string EventsFile = "events.jsonl";
    public const string BillingFile = "billing.jsonl";
    public const string TaxonomyFile = "taxonomy.json";
    public const string AccountsFile = "accounts.csv";

    public const int MaxAccounts = 100_000;
    public const int MaxMonths = 36;

    private readonly Options _options;
    private readonly Window _window;

    public SyntheticSaas(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _window = new Window(options.End, options.Months);
    }

    /// <summary>What to generate.</summary>
    /// <param name="Accounts">How many accounts (customers).</param>
    /// <param name="Months">How many months of history.</param>
    /// <param name="Seed">The seed: the same options give the same files.</param>
    /// <param name="End">The last day of the history (UTC).</param>
    /// <param name="TenantName">The name of the SaaS company itself: its Stripe account and its account owners' email domain.</param>
    internal sealed record Options(int Accounts, int Months, int Seed, DateOnly End, string TenantName = "Orbit Projects")
    {
        public void Validate()
        {
            if (Accounts is < 1 or > MaxAccounts)
            {
                throw new ArgumentException($"--accounts must be between 1 and {MaxAccounts:N0} (was {Accounts}).");
            }

            if (Months is < 1 or > MaxMonths)
            {
                throw new ArgumentException($"--months must be between 1 and {MaxMonths} (was {Months}).");
            }

            if (string.IsNullOrWhiteSpace(TenantName) || !TenantName.Any(char.IsAsciiLetterOrDigit))
            {
                throw new ArgumentException("--tenant-name must contain at least one letter or digit.");
            }
        }
    }

    /// <summary>What was written.</summary>
    internal sealed record Summary(
        DateOnly Start, DateOnly End, int Accounts, long EventLines, long BillingLines, int TaxonomyEvents, int Churned, int Expanded,
        IReadOnlyDictionary<string, int> Scenarios);

    /// <summary>The days of usage written, for progress.</summary>
    public int Days => _window.Days;

    public DateOnly Start => _window.Start;

    /// <summary>Writes the four files into <paramref name="directory"/> (created if needed); <paramref name="progress"/> gets the days written so far.</summary>
    public Summary Write(string directory, Action<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        var vendorDomain = Slug(_options.TenantName) + ".example";
        Owner[] owners = [.. Pools.OwnerNames.Select(n => new Owner(n, $"{Slug(n, ".")}@{vendorDomain}"))];
        var planner = new AccountPlanner(_options.Seed, _window, owners);
        var plans = new AccountPlan[_options.Accounts];
        for (var i = 0; i < plans.Length; i++)
        {
            plans[i] = planner.Plan(i + 1);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var billingLines = WriteBilling(Path.Combine(directory, BillingFile), plans);
        var eventLines = WriteEvents(Path.Combine(directory, EventsFile), plans, progress, cancellationToken);
        WriteTaxonomy(Path.Combine(directory, TaxonomyFile));
        WriteAccounts(Path.Combine(directory, AccountsFile), plans);
        return new Summary(
            _window.Start, _window.End, plans.Length, eventLines, billingLines, Events.Taxonomy.Count,
            plans.Count(p => p.ChurnDay is not null), plans.Count(p => p.ExpansionDay is not null),
            plans.GroupBy(p => p.Scenario.Name()).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
    }

    private long WriteEvents(string path, AccountPlan[] plans, Action<long>? progress, CancellationToken cancellationToken)
    {
        var simulators = plans.Select(p => new UsageSimulator(p, _window, _options.Seed)).ToArray();
        using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var buffer = new LineBuffer();
        long lines = 0;
        for (var day = 0; day < _window.Days; day++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var simulator in simulators)
            {
                simulator.Day(day, buffer);
            }

            lines += buffer.Count;
            buffer.FlushTo(output);
            progress?.Invoke(day + 1);
        }

        return lines;
    }

    private long WriteBilling(string path, AccountPlan[] plans)
    {
        var all = plans.SelectMany(p => StripeBilling.Plan(p, _window).Select(s => (Plan: p, Spec: s)))
            .OrderBy(x => x.Spec.At).ThenBy(x => x.Plan.Index).ThenBy(x => x.Spec.Seq).ToList();
        var ids = plans.ToDictionary(p => p.Index, p => new StripeIds(_options.Seed, p.Index));
        using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        foreach (var (plan, spec) in all)
        {
            StripeBilling.Write(json, plan, spec, ids[plan.Index], _options.TenantName.Trim());
            json.Flush();
            json.Reset(output);
            output.WriteByte((byte)'\n');
        }

        return all.Count;
    }

    private static void WriteTaxonomy(string path)
    {
        using var output = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var e in Events.Taxonomy)
        {
            json.WriteStartObject();
            json.WriteString("event", e.Event);
            json.WriteString("category", e.Category.ToString().ToLowerInvariant());
            if (e.Feature is null)
            {
                json.WriteNull("feature");
            }
            else
            {
                json.WriteString("feature", e.Feature);
            }

            json.WriteStartObject("properties");
            foreach (var (name, rule) in e.Properties ?? new Dictionary<string, Api.Ingestion.PropertyRule>())
            {
                json.WriteStartObject(name);
                json.WriteString("type", rule.Type.ToString().ToLowerInvariant());
                json.WriteBoolean("required", rule.Required);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    private void WriteAccounts(string path, AccountPlan[] plans)
    {
        using var output = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
        output.WriteLine("account_id,name,plan,seats_start,seats_end,signup_date,owner,scenario,churn_date,expansion_date,plan_end");
        foreach (var p in plans)
        {
            output.WriteLine(string.Join(',',
                p.Id,
                Csv(p.Name),
                p.TierStart.Name,
                p.SeatsStart.ToString(CultureInfo.InvariantCulture),
                p.SeatsEnd.ToString(CultureInfo.InvariantCulture),
                Date(DateTimeOffset.FromUnixTimeSeconds(p.SignupAt).UtcDateTime),
                Csv(p.Owner.ToString()),
                p.Scenario.Name(),
                p.ChurnDay is { } churn ? Date(_window.Date(churn)) : "",
                p.ExpansionDay is { } expansion ? Date(_window.Date(expansion)) : "",
                p.TierEnd.Name));
        }
    }

    private static string Date(DateTime value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Date(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>Lower-case letters and digits of <paramref name="text"/>, words joined by <paramref name="separator"/>.</summary>
    private static string Slug(string text, string separator = "") =>
        string.Join(separator, text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => new string([.. w.Where(char.IsAsciiLetterOrDigit).Select(char.ToLowerInvariant)]))
            .Where(w => w.Length > 0));
}

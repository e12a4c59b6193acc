using HealthScoring.Integrations.Stripe.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthScoring.Integrations.Stripe.Metering;

public enum MeterItemOutcome
{
    Sent,

    /// <summary>The account is not billed on usage.</summary>
    NotBilledOnUsage,

    /// <summary>The account has no Stripe customer.</summary>
    NoCustomer,

    /// <summary>A zero quantity: nothing to bill.</summary>
    NothingToReport,

    /// <summary>The day has not ended (UTC); a day is reported once, complete, because Stripe keeps its first event per identifier.</summary>
    DayNotOver,

    /// <summary>The day is beyond Stripe's 35-day window for meter event timestamps.</summary>
    TooOld,

    /// <summary>The day was already reported with a different quantity (Stripe answered <c>idempotency_error</c>); Stripe keeps the first.</summary>
    ConflictsWithEarlierReport,

    Failed,
}

/// <summary>What happened to one account-day.</summary>
public sealed record MeterItemResult(string AccountId, DateOnly Day, long Quantity, string Identifier, MeterItemOutcome Outcome, string? Error = null);

/// <summary>The outcome of one <see cref="MeterReporter.ReportAsync"/>; one item per account and day.</summary>
public sealed record MeterReport(string TenantId, IReadOnlyList<MeterItemResult> Items, bool Disabled = false, bool TenantNotBilledOnUsage = false)
{
    public int Sent => Items.Count(i => i.Outcome == MeterItemOutcome.Sent);

    public int Failed => Items.Count(i => i.Outcome is MeterItemOutcome.Failed or MeterItemOutcome.ConflictsWithEarlierReport);

    public int Skipped => Items.Count - Sent - Failed;
}

/// <summary>
/// Sends per-account, per-day usage to a Stripe meter: one meter event per account and day, with identifier
/// <c>{tenant}:{account}:{yyyy-MM-dd}</c> and an idempotency key derived from it, so a resend (a retry, a redelivered
/// message, a re-run) is dropped by Stripe instead of billed twice. The event is stamped with the day's last second
/// (UTC). Tenants and accounts not billed on usage are skipped; a failed item does not stop the others.
/// </summary>
public sealed class MeterReporter
{
    private static readonly TimeSpan StripeMaxAge = TimeSpan.FromDays(35);

    private readonly IStripeClient _client;
    private readonly IUsageBillingPolicy _policy;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;

    public MeterReporter(IStripeClient client, IUsageBillingPolicy policy, ILogger<MeterReporter>? logger = null, TimeProvider? clock = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
    }

    public static string IdentifierFor(string tenantId, string accountId, DateOnly day) => $"{tenantId}:{accountId}:{day:yyyy-MM-dd}";

    /// <summary>The meter event time for a day: its last second, UTC.</summary>
    public static DateTimeOffset TimestampFor(DateOnly day) => new(day.ToDateTime(new TimeOnly(23, 59, 59), DateTimeKind.Utc));

    public async Task<MeterReport> ReportAsync(string tenantId, string eventName, IEnumerable<UsageQuantity> usage, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        ArgumentNullException.ThrowIfNull(usage);

        var days = usage
            .GroupBy(u => (u.AccountId, u.Day))
            .Select(g => (g.Key.AccountId, g.Key.Day, Quantity: g.Sum(u => u.Quantity), Customers: g.Select(u => u.StripeCustomerId).OfType<string>().Distinct(StringComparer.Ordinal).ToList()))
            .OrderBy(d => d.Day)
            .ThenBy(d => d.AccountId, StringComparer.Ordinal)
            .ToList();
        if (!_client.IsEnabled)
        {
            _logger.LogInformation("Meter reporting for tenant {Tenant} skipped: the Stripe integration is off", tenantId);
            return new MeterReport(tenantId, [], Disabled: true);
        }

        if (!await _policy.IsTenantBilledOnUsageAsync(tenantId, cancellationToken))
        {
            return new MeterReport(tenantId, [.. days.Select(d => new MeterItemResult(d.AccountId, d.Day, d.Quantity, IdentifierFor(tenantId, d.AccountId, d.Day), MeterItemOutcome.NotBilledOnUsage))], TenantNotBilledOnUsage: true);
        }

        var now = _clock.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var results = new List<MeterItemResult>(days.Count);
        foreach (var (account, day, quantity, customers) in days)
        {
            var identifier = IdentifierFor(tenantId, account, day);
            var outcome = await ReportOneAsync(tenantId, eventName, account, day, quantity, customers, identifier, now, today, cancellationToken);
            results.Add(new MeterItemResult(account, day, quantity, identifier, outcome.Outcome, outcome.Error));
        }

        var report = new MeterReport(tenantId, results);
        _logger.LogInformation(
            "Meter reporting for tenant {Tenant} ({EventName}): {Sent} sent, {Skipped} skipped, {Failed} failed",
            tenantId,
            eventName,
            report.Sent,
            report.Skipped,
            report.Failed);
        return report;
    }

    private async Task<(MeterItemOutcome Outcome, string? Error)> ReportOneAsync(
        string tenantId,
        string eventName,
        string account,
        DateOnly day,
        long quantity,
        List<string> customers,
        string identifier,
        DateTimeOffset now,
        DateOnly today,
        CancellationToken cancellationToken)
    {
        if (!await _policy.IsAccountBilledOnUsageAsync(tenantId, account, cancellationToken))
        {
            return (MeterItemOutcome.NotBilledOnUsage, null);
        }

        if (customers.Count == 0)
        {
            return (MeterItemOutcome.NoCustomer, null);
        }

        if (customers.Count > 1)
        {
            return (MeterItemOutcome.Failed, $"The usage names {customers.Count} Stripe customers for one account and day.");
        }

        if (quantity < 0)
        {
            return (MeterItemOutcome.Failed, "A usage quantity cannot be negative.");
        }

        if (quantity == 0)
        {
            return (MeterItemOutcome.NothingToReport, null);
        }

        if (day >= today)
        {
            return (MeterItemOutcome.DayNotOver, null);
        }

        var timestamp = TimestampFor(day);
        if (timestamp < now - StripeMaxAge)
        {
            return (MeterItemOutcome.TooOld, "Stripe takes meter events up to 35 days old.");
        }

        if (identifier.Length > 100)
        {
            return (MeterItemOutcome.Failed, "The meter event identifier would be longer than Stripe's 100 characters.");
        }

        try
        {
            await _client.CreateMeterEventAsync(eventName, customers[0], quantity, timestamp, identifier, cancellationToken: cancellationToken);
            return (MeterItemOutcome.Sent, null);
        }
        catch (StripeApiException ex) when (ex.IsIdempotencyError)
        {
            _logger.LogWarning("Meter event {Identifier} was already reported with another quantity; Stripe keeps the first", identifier);
            return (MeterItemOutcome.ConflictsWithEarlierReport, ex.Message);
        }
        catch (StripeApiException ex)
        {
            _logger.LogWarning("Meter event {Identifier} failed: {Error}", identifier, ex.Message);
            return (MeterItemOutcome.Failed, ex.Message);
        }
    }
}

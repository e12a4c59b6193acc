using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Integrations.Stripe.Metering;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Billing;

/// <summary>Usage-based billing (section <c>Stripe:Metering</c>): which tenants report usage to which Stripe meter.</summary>
public sealed class MeteringOptions
{
    public const string SectionName = "Stripe:Metering";

    /// <summary>Per tenant id; tenants not listed do not bill on usage.</summary>
    public Dictionary<string, TenantMetering> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the host reports the days that have ended since the last report.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How far back a report looks for days not reported yet (Stripe takes meter events up to 35 days old).</summary>
    public int LookbackDays { get; set; } = 34;
}

public sealed class TenantMetering
{
    /// <summary>The Stripe meter's <c>event_name</c>.</summary>
    public string EventName { get; set; } = "";

    /// <summary>What a day's usage is, from the daily aggregates: <c>events</c> (tracked events) or <c>api_calls</c>.</summary>
    public string Measure { get; set; } = "events";

    /// <summary>Only these accounts bill on usage; all of the tenant's when empty.</summary>
    public List<string> Accounts { get; set; } = [];
}

/// <summary>The configured tenants (and, when listed, accounts) bill on usage.</summary>
public sealed class ConfiguredUsageBillingPolicy(IOptions<MeteringOptions> options) : IUsageBillingPolicy
{
    public ValueTask<bool> IsTenantBilledOnUsageAsync(string tenantId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.Tenants.ContainsKey(tenantId));

    public ValueTask<bool> IsAccountBilledOnUsageAsync(string tenantId, string accountId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.Tenants.TryGetValue(tenantId, out var t) && (t.Accounts.Count == 0 || t.Accounts.Contains(accountId, StringComparer.Ordinal)));
}

/// <summary>
/// Reports each account's usage per ended UTC day to the tenant's Stripe meter, from the daily aggregates. Resumes
/// from what it recorded as reported (<c>stripe_meter_reports</c>): only account-days not recorded yet are sent. Should
/// that record be lost, or a run crash between Stripe's answer and the record, a resend carries the same meter-event
/// <c>identifier</c> (<see cref="MeterReporter.IdentifierFor"/>) and idempotency key, so Stripe drops it: rerunning is
/// always safe. A day is reported once it has ended, with whatever the aggregates hold then.
/// </summary>
public sealed class UsageMetering(NpgsqlDataSource dataSource, EventStoreOptions storeOptions, MeterReporter reporter, IOptions<MeteringOptions> options, TimeProvider clock)
{
    private readonly string _s = storeOptions.Schema;

    public IReadOnlyCollection<string> Tenants => options.Value.Tenants.Keys;

    public async Task<MeterReport> ReportAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (!options.Value.Tenants.TryGetValue(tenantId, out var tenant) || string.IsNullOrWhiteSpace(tenant.EventName))
        {
            return new MeterReport(tenantId, [], TenantNotBilledOnUsage: true);
        }

        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var usage = await UnreportedUsageAsync(tenantId, tenant.Measure, today.AddDays(-options.Value.LookbackDays), today, cancellationToken);
        var report = await reporter.ReportAsync(tenantId, tenant.EventName, usage, cancellationToken);
        // Sent, and a conflict (Stripe already holds this day, with another quantity, and keeps the first): either way
        // the day is in Stripe and is not sent again. Failures and days not over stay unrecorded, for the next run.
        await RecordAsync(tenantId, report.Items.Where(i => i.Outcome is MeterItemOutcome.Sent or MeterItemOutcome.ConflictsWithEarlierReport).ToList(), cancellationToken);
        return report;
    }

    private async Task<List<UsageQuantity>> UnreportedUsageAsync(string tenantId, string measure, DateOnly from, DateOnly until, CancellationToken cancellationToken)
    {
        var column = measure switch
        {
            "events" => "d.events",
            "api_calls" => "d.api_calls",
            _ => throw new InvalidOperationException($"Stripe:Metering measure '{measure}' is not one of events, api_calls."),
        };
        await using var command = dataSource.CreateCommand(
            $"""
            select d.account_id, d.day, {column}::bigint,
                   (select c.customer_id from {_s}.stripe_customers c where c.tenant_id = d.tenant_id and c.account_id = d.account_id order by c.updated_at desc, c.customer_id limit 1)
            from {_s}.account_daily d
            where d.tenant_id = $1 and d.day >= $2 and d.day < $3
              and not exists (select from {_s}.stripe_meter_reports r where r.tenant_id = d.tenant_id and r.account_id = d.account_id and r.day = d.day)
            order by d.day, d.account_id
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(from);
        command.Parameters.AddWithValue(until);
        var usage = new List<UsageQuantity>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            usage.Add(new UsageQuantity(reader.GetString(0), await reader.IsDBNullAsync(3, cancellationToken) ? null : reader.GetString(3), await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken), reader.GetInt64(2)));
        }

        return usage;
    }

    private async Task RecordAsync(string tenantId, List<MeterItemResult> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.stripe_meter_reports (tenant_id, account_id, day, identifier, quantity, outcome)
            select $1, * from unnest($2::text[], $3::date[], $4::text[], $5::bigint[], $6::text[])
            on conflict (tenant_id, account_id, day) do nothing
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(items.Select(i => i.AccountId).ToArray());
        command.Parameters.AddWithValue(items.Select(i => i.Day).ToArray());
        command.Parameters.AddWithValue(items.Select(i => i.Identifier).ToArray());
        command.Parameters.AddWithValue(items.Select(i => i.Quantity).ToArray());
        command.Parameters.AddWithValue(items.Select(i => i.Outcome.ToString()).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>The host's timer: every <see cref="MeteringOptions.Interval"/>, each metered tenant's ended days go to Stripe.</summary>
public sealed partial class UsageMeteringService(UsageMetering metering, IStripeClient stripe, IOptions<MeteringOptions> options, TimeProvider clock, ILogger<UsageMeteringService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!stripe.IsEnabled || metering.Tenants.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        do
        {
            foreach (var tenant in metering.Tenants)
            {
                try
                {
                    var report = await metering.ReportAsync(tenant, stoppingToken);
                    LogReported(logger, tenant, report.Sent, report.Failed);
                }
                catch (Exception ex) when (ex is NpgsqlException or StripeApiException or HttpRequestException or InvalidOperationException)
                {
                    // The next tick resumes from what was recorded; one tenant's failure does not stop the others.
                    LogFailed(logger, ex, tenant);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage metering for tenant {Tenant}: {Sent} account-days sent, {Failed} failed")]
    private static partial void LogReported(ILogger logger, string tenant, int sent, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage metering for tenant {Tenant} failed; retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception, string tenant);
}

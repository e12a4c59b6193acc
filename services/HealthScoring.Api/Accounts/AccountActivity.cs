using System.Globalization;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using HealthScoring.EventStore;
using HealthScoring.Models.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace HealthScoring.Api.Accounts;

/// <summary>One day of an account's usage: events per taxonomy category, active users against licensed seats.</summary>
public sealed record UsageDay(DateOnly Day, int Events, IReadOnlyDictionary<string, int> ByCategory, int ActiveUsers, long Seats, int Sessions, int Errors, int SupportTickets);

/// <summary>An account's usage timeline over [From, To].</summary>
public sealed record AccountUsage(string AccountId, DateOnly From, DateOnly To, IReadOnlyList<string> Categories, IReadOnlyList<UsageDay> Days, int ActiveUsers28d, long Seats);

/// <summary>A change of one subscription (MRR in the currency's major unit).</summary>
public sealed record SubscriptionChange(DateTimeOffset At, string SubscriptionId, string Status, double Mrr, long Seats, string? Plan);

/// <summary>Invoices paid and payments failed on one day.</summary>
public sealed record InvoiceDay(DateOnly Day, int Paid, int Failed);

/// <summary>An account's billing: its position at <c>To</c>, subscription changes, invoices and payment failures.</summary>
public sealed record AccountBilling(
    string AccountId, DateOnly From, DateOnly To, bool IsCustomer, double Mrr, long Seats, string? Plan, DateTimeOffset? CustomerSince,
    IReadOnlyList<SubscriptionChange> Subscriptions, IReadOnlyList<InvoiceDay> Invoices, int InvoicesPaid, int PaymentFailures);

/// <summary>One alert raised (or held back) for the account, in plain words.</summary>
public sealed record AccountAlert(DateTimeOffset At, DateOnly AsOf, string Kind, string Text, string? Owner, IReadOnlyList<string> Drivers);

/// <summary>An account's alert history, newest first, and its snooze.</summary>
public sealed record AccountAlerts(string AccountId, IReadOnlyList<AccountAlert> Alerts, DateOnly? SnoozedUntil);

/// <summary>
/// What the account page shows beside the score: the usage timeline, billing and alert history, read from the
/// daily aggregates, the subscription states and the account's stream. <c>GET /v1/accounts/{id}/usage|billing|alerts</c>,
/// with an API key or a dashboard session; an account the tenant does not have is 404, whoever else has it.
/// </summary>
public sealed class AccountActivity(AccountHistoryReader reader, EventTaxonomy taxonomy, IEventStore store, NpgsqlDataSource dataSource, EventStoreOptions storeOptions)
{
    public const string Undeclared = "undeclared";
    public const int MaxDays = 400;
    private readonly string _s = storeOptions.Schema;

    /// <summary>The taxonomy's categories in lifecycle order, then undeclared events.</summary>
    public static IReadOnlyList<string> Categories { get; } = [.. Enum.GetValues<EventCategory>().Select(CategoryName), Undeclared];

    public static string CategoryName(EventCategory category) => category.ToString().ToLowerInvariant();

    /// <summary>Whether the tenant knows the account (from its group calls, usage or billing).</summary>
    public async Task<bool> ExistsAsync(string tenantId, string accountId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select exists (select 1 from {_s}.accounts where tenant_id = $1 and account_id = $2)
                or exists (select 1 from {_s}.account_subscriptions where tenant_id = $1 and account_id = $2)
                or exists (select 1 from {_s}.account_daily where tenant_id = $1 and account_id = $2)
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The last day the tenant's aggregates hold (the data's "today"), or today when there is none.</summary>
    public async Task<DateOnly> LatestDayAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select max(day) from {_s}.account_daily where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is DateOnly day ? day : DateOnly.FromDateTime(DateTime.UtcNow);
    }

    public async Task<AccountUsage> UsageAsync(string tenantId, string accountId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var history = await HistoryAsync(tenantId, accountId, to, cancellationToken);
        var declared = await taxonomy.GetAsync(tenantId, cancellationToken);
        var byDay = history.DaysBetween(from, to.AddDays(1)).ToArray().ToDictionary(d => d.Day);
        var days = new List<UsageDay>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            var seats = history.BillingAt(AccountHistory.Instant(day.AddDays(1))).Seats;
            if (!byDay.TryGetValue(day, out var activity))
            {
                days.Add(new UsageDay(day, 0, new Dictionary<string, int>(), 0, seats, 0, 0, 0));
                continue;
            }

            var categories = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (name, count) in activity.EventCounts)
            {
                var category = declared.TryGetValue(name, out var e) ? CategoryName(e.Category) : Undeclared;
                categories[category] = categories.GetValueOrDefault(category) + count;
            }

            days.Add(new UsageDay(day, activity.Events, categories, activity.Users.Count, seats, activity.Sessions, activity.Errors, activity.SupportTickets));
        }

        var active28 = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in history.DaysBetween(to.AddDays(-27), to.AddDays(1)))
        {
            active28.UnionWith(d.Users);
        }

        return new AccountUsage(accountId, from, to, Categories, days, active28.Count, history.BillingAt(AccountHistory.Instant(to.AddDays(1))).Seats);
    }

    public async Task<AccountBilling> BillingAsync(string tenantId, string accountId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var history = await HistoryAsync(tenantId, accountId, to, cancellationToken);
        var position = history.BillingAt(AccountHistory.Instant(to.AddDays(1)));
        var invoices = history.DaysBetween(from, to.AddDays(1)).ToArray()
            .Where(d => d.InvoicesPaid > 0 || d.PaymentFailures > 0)
            .Select(d => new InvoiceDay(d.Day, d.InvoicesPaid, d.PaymentFailures)).ToList();
        return new AccountBilling(accountId, from, to, position.IsCustomer, position.MrrMinor / 100.0, position.Seats, position.Plan, position.Since,
            [.. history.Billing.Select(b => new SubscriptionChange(b.At, b.SubscriptionId, b.Status, b.MrrMinor / 100.0, b.Seats, b.Plan))],
            invoices, invoices.Sum(i => i.Paid), invoices.Sum(i => i.Failed));
    }

    public async Task<AccountAlerts> AlertsAsync(string tenantId, string accountId, CancellationToken cancellationToken)
    {
        var alerts = new List<AccountAlert>();
        await foreach (var e in store.ReadStreamAsync(tenantId, IngestionPipeline.AccountStream(accountId), null, cancellationToken))
        {
            if (Describe(e.Data) is { } alert)
            {
                alerts.Add(alert with { At = e.OccurredAt });
            }
        }

        alerts.Reverse();
        await using var command = dataSource.CreateCommand($"select state->>'snoozedUntil' from {_s}.account_alert_state where tenant_id = $1 and account_id = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        var snoozed = await command.ExecuteScalarAsync(cancellationToken) is string s ? DateOnly.Parse(s, CultureInfo.InvariantCulture) : (DateOnly?)null;
        return new AccountAlerts(accountId, alerts, snoozed);
    }

    /// <summary>An alert event in plain words; null for any other event.</summary>
    internal static AccountAlert? Describe(object? data) => data switch
    {
        AccountBecameAtRisk a => new(default, a.AsOf, "became_at_risk", $"Became at risk: health score {a.HealthScore}, churn probability {Percent(a.ChurnProbability)}.", a.Owner, Texts(a.Drivers)),
        AccountRecovered r => new(default, r.AsOf, "recovered", $"Recovered: now {r.Band} with health score {r.HealthScore}.", r.Owner, []),
        ExpansionSignalDetected x => new(default, x.AsOf, "expansion_signal", $"Expansion signal: {Percent(x.ExpansionProbability)} likely to expand (health score {x.HealthScore}).", x.Owner, Texts(x.Drivers)),
        ChurnRiskJumped j => new(default, j.AsOf, "churn_risk_jumped", $"Churn risk jumped from {Percent(j.PreviousChurnProbability)} on {j.PreviousAsOf:yyyy-MM-dd} to {Percent(j.ChurnProbability)}.", j.Owner, Texts(j.Drivers)),
        AlertSuppressed s => new(default, s.AsOf, "suppressed", $"Held back ({s.Reason}): {s.Kind.Replace('_', ' ')}.", s.Owner, []),
        _ => null,
    };

    private static string Percent(double p) => p.ToString("P0", CultureInfo.InvariantCulture);

    private static List<string> Texts(IReadOnlyList<Scoring.ScoreDriver> drivers) => [.. drivers.Take(3).Select(d => d.Text)];

    private async Task<AccountHistory> HistoryAsync(string tenantId, string accountId, DateOnly to, CancellationToken cancellationToken) =>
        (await reader.ReadAsync(tenantId, to.AddDays(1), [accountId], cancellationToken)).SingleOrDefault() ?? new AccountHistory(accountId, [], []);

    public static IEndpointRouteBuilder MapAccountActivity(IEndpointRouteBuilder app)
    {
        var accounts = app.MapGroup("/v1/accounts/{accountId}").RequireAuthorization(TenancyExtensions.ReadPolicy);
        accounts.MapGet("/usage", UsageEndpointAsync);
        accounts.MapGet("/billing", BillingEndpointAsync);
        accounts.MapGet("/alerts", AlertsEndpointAsync);
        return app;
    }

    private static Task<Results<Ok<AccountUsage>, ProblemHttpResult>> UsageEndpointAsync(HttpContext http, AccountActivity activity, string accountId, string? from, string? to) =>
        WindowEndpointAsync(http, activity, accountId, from, to, 90, activity.UsageAsync);

    private static Task<Results<Ok<AccountBilling>, ProblemHttpResult>> BillingEndpointAsync(HttpContext http, AccountActivity activity, string accountId, string? from, string? to) =>
        WindowEndpointAsync(http, activity, accountId, from, to, 180, activity.BillingAsync);

    /// <summary>An account's view over a [from, to] window: 404 first (before parsing reveals anything), then 400 on bad dates.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> WindowEndpointAsync<T>(
        HttpContext http, AccountActivity activity, string accountId, string? from, string? to, int defaultDays, Func<string, string, DateOnly, DateOnly, CancellationToken, Task<T>> read)
    {
        var (tenant, ct) = (http.User.TenantId(), http.RequestAborted);
        if (await NotFoundAsync(activity, tenant, accountId, ct) is { } missing)
        {
            return missing;
        }

        if (!DateQuery.TryParseRange(from, to, await activity.LatestDayAsync(tenant, ct), defaultDays, MaxDays, out var range, out var problem))
        {
            return problem!;
        }

        return TypedResults.Ok(await read(tenant, accountId, range.From, range.To, ct));
    }

    private static async Task<Results<Ok<AccountAlerts>, ProblemHttpResult>> AlertsEndpointAsync(HttpContext http, AccountActivity activity, string accountId)
    {
        var (tenant, ct) = (http.User.TenantId(), http.RequestAborted);
        return await NotFoundAsync(activity, tenant, accountId, ct) is { } missing ? missing : TypedResults.Ok(await activity.AlertsAsync(tenant, accountId, ct));
    }

    // Unknown and another tenant's account answer alike: nothing tells whether the id exists elsewhere.
    private static async Task<ProblemHttpResult?> NotFoundAsync(AccountActivity activity, string tenantId, string accountId, CancellationToken cancellationToken) =>
        accountId.Length <= 256 && Portfolio.PortfolioRequests.CanExist(accountId) && await activity.ExistsAsync(tenantId, accountId, cancellationToken)
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Account not found", detail: $"This tenant has no account '{accountId}'.");
}

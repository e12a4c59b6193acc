using HealthScoring.Api.Tenancy;
using HealthScoring.Models.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Accounts;

/// <summary>One paying account's usage beside what it pays, as of a date (the 28 days before it).</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Plan">Its plan (product) at the date.</param>
/// <param name="Mrr">Monthly recurring revenue in the currency's major unit.</param>
/// <param name="Seats">Licensed seats.</param>
/// <param name="ActiveUsers">Distinct active users in the 28 days.</param>
/// <param name="SeatUtilization">Active users ÷ seats.</param>
/// <param name="Events">Track events in the 28 days.</param>
/// <param name="ApiCalls">API calls in the 28 days.</param>
/// <param name="EventsPerMrr">Events per unit of MRR: usage per dollar.</param>
/// <param name="UsageTrend">Events in the last 28 days against the 28 before, as a fraction (−0.5 = halved); null when both are zero.</param>
/// <param name="UnusedSeats">Seats nobody used in the 28 days.</param>
/// <param name="Flags">"paying for unused seats" (under half the seats active), "over-using plan" (more active users than seats, or seat-limit hits), "usage falling" (down 30 % or more).</param>
public sealed record UsageBillingRow(
    string AccountId,
    string? Plan,
    double Mrr,
    long Seats,
    int ActiveUsers,
    double SeatUtilization,
    long Events,
    long ApiCalls,
    double EventsPerMrr,
    double? UsageTrend,
    long UnusedSeats,
    IReadOnlyList<string> Flags);

/// <summary>
/// Finance's view: usage linked to billing per account (usage per $ of MRR, its trend, accounts paying for
/// unused seats, accounts over-using their plan), from the same daily aggregates and point-in-time features the
/// models use. <c>GET /v1/reports/usage-billing?asOf=YYYY-MM-DD</c> and <c>healthscore report usage-billing</c>.
/// </summary>
public sealed class UsageBillingReport(AccountHistoryReader reader, IOptions<FeatureOptions> options)
{
    public async Task<IReadOnlyList<UsageBillingRow>> GetAsync(string tenantId, DateOnly asOf, CancellationToken cancellationToken)
    {
        var histories = await reader.ReadAsync(tenantId, asOf, null, cancellationToken);
        var schema = new FeatureSchema(FeatureSchema.CurrentVersion, [], []);
        var extractor = new FeatureExtractor(schema, options.Value.Roles);
        var columns = schema.Columns.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var values = new float[schema.Columns.Count];
        var at = AccountHistory.Instant(asOf);
        var rows = new List<UsageBillingRow>();
        foreach (var account in histories)
        {
            var billing = account.BillingAt(at);
            if (!billing.IsCustomer)
            {
                continue;
            }

            extractor.Compute(account, asOf, values);
            float V(string name) => values[columns[name]];
            var mrr = billing.MrrMinor / 100.0;
            var active = (int)V("active_users_28d");
            var events = (long)Math.Round(V("events_28d"));
            var utilization = billing.Seats > 0 ? (double)active / billing.Seats : 0;
            var trend = float.IsNaN(V("events_change_28d")) ? (double?)null : V("events_change_28d");
            var flags = new List<string>();
            if (billing.Seats > 0 && utilization < 0.5)
            {
                flags.Add("paying for unused seats");
            }

            if ((billing.Seats > 0 && active > billing.Seats) || V("seat_limit_hits_28d") > 0)
            {
                flags.Add("over-using plan");
            }

            if (trend <= -0.3)
            {
                flags.Add("usage falling");
            }

            rows.Add(new UsageBillingRow(account.AccountId, billing.Plan, mrr, billing.Seats, active, Math.Round(utilization, 3), events, (long)V("api_calls_28d"),
                mrr > 0 ? Math.Round(events / mrr, 3) : 0, trend is { } t ? Math.Round(t, 3) : null, Math.Max(0, billing.Seats - active), flags));
        }

        return rows;
    }

    public static IEndpointRouteBuilder MapUsageBillingReport(IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1/reports").RequireAuthorization(TenancyExtensions.ReadPolicy).MapGet("/usage-billing", GetEndpointAsync);
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<UsageBillingRow>>, ProblemHttpResult>> GetEndpointAsync(HttpContext http, UsageBillingReport report, string? asOf)
    {
        if (!DateQuery.TryParse(asOf, "asOf", out var date, out var problem))
        {
            return problem!;
        }

        return TypedResults.Ok(await report.GetAsync(http.User.TenantId(), date ?? DateOnly.FromDateTime(DateTime.UtcNow), http.RequestAborted));
    }
}

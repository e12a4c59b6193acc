using System.Globalization;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Alerts;

/// <summary>The body of <c>POST /v1/accounts/{accountId}/alerts/snooze</c>.</summary>
/// <param name="Until">Last day (UTC, <c>YYYY-MM-DD</c>) on which the account's alerts are held back.</param>
/// <param name="Reason">Why, for whoever looks later.</param>
public sealed record SnoozeRequest(string? Until, string? Reason);

/// <summary>An account's snooze as stored.</summary>
public sealed record SnoozeView(string AccountId, DateOnly Until, string? Reason);

/// <summary>
/// Snoozing an account's alerts (an API key of the account's tenant, or an admin's dashboard session): while snoozed, the rules record a would-be
/// alert as suppressed instead of raising it; from the day after <c>until</c> it alerts again if still at risk.
/// </summary>
public static class AlertSnoozeEndpoints
{
    public const int MaxReasonLength = 500;

    public static IEndpointRouteBuilder MapAlertSnooze(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts/{accountId}/alerts/snooze").RequireAuthorization(TenancyExtensions.AdminPolicy);
        group.MapPost("", SnoozeAsync);
        group.MapDelete("", UnsnoozeAsync);
        return app;
    }

    private static async Task<Results<Ok<SnoozeView>, ProblemHttpResult>> SnoozeAsync(HttpContext http, string accountId, SnoozeRequest? body, AlertService alerts)
    {
        if (body?.Until is null || !DateOnly.TryParseExact(body.Until, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var until))
        {
            return Invalid("until", "until must be a date as YYYY-MM-DD.");
        }

        if (body.Reason is { Length: > MaxReasonLength })
        {
            return Invalid("reason", $"reason must be at most {MaxReasonLength} characters.");
        }

        return await alerts.SetSnoozeAsync(http.User.TenantId(), accountId, until, body.Reason, http.RequestAborted)
            ? TypedResults.Ok(new SnoozeView(accountId, until, body.Reason))
            : UnknownAccount(accountId);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> UnsnoozeAsync(HttpContext http, string accountId, AlertService alerts) =>
        await alerts.SetSnoozeAsync(http.User.TenantId(), accountId, null, null, http.RequestAborted)
            ? TypedResults.NoContent()
            : UnknownAccount(accountId);

    private static ProblemHttpResult Invalid(string field, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {field}", detail: detail,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    // The same answer whether the account belongs to another tenant or to none: tenants never learn of each other's accounts.
    private static ProblemHttpResult UnknownAccount(string accountId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown account", detail: $"No account '{accountId}' in this tenant.");
}

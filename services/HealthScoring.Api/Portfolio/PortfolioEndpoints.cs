using System.Globalization;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Portfolio;

/// <summary>The history of one account.</summary>
public sealed record HistoryResponse(IReadOnlyList<HistoryPoint> Points);

/// <summary>
/// REST over <see cref="PortfolioQueries"/>: <c>GET /v1/accounts</c> (filters, sort, keyset pages, totals),
/// <c>GET /v1/accounts/{id}</c>, <c>GET /v1/accounts/{id}/history</c>. API keys only; bad input is a 400 whose
/// <c>errors</c> name the field; an account the tenant has not scored (or another tenant's) is a 404.
/// </summary>
public static class PortfolioEndpoints
{
    public static RouteGroupBuilder MapPortfolioEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/accounts").RequireAuthorization(TenancyExtensions.ReadPolicy).WithTags("Portfolio");
        group.MapGet("", ListAsync).WithName("ListAccounts");
        group.MapGet("/{accountId}", GetAsync).WithName("GetAccountHealth");
        group.MapGet("/{accountId}/history", HistoryAsync).WithName("GetScoreHistory");
        return group;
    }

    private static async Task<Results<Ok<AccountPage>, ValidationProblem>> ListAsync(
        HttpContext http, PortfolioQueries queries, string? band, string? segment, string? owner, string? plan, string? q, string? sort, string? pageSize, string? pageToken)
    {
        // pageSize is bound as text, so that "ten" is a 400 naming the field rather than the framework's bare 400.
        int? size = null;
        if (!string.IsNullOrWhiteSpace(pageSize))
        {
            if (!int.TryParse(pageSize, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Invalid([new FieldError("pageSize", $"pageSize must be a whole number between 1 and {PortfolioRequests.MaxPageSize}.")]);
            }

            size = parsed;
        }

        var (request, errors) = PortfolioRequests.ParseList(band, segment, owner, plan, q, sort, size, pageToken);
        return request is null ? Invalid(errors) : TypedResults.Ok(await queries.ListAsync(http.User.TenantId(), request, http.RequestAborted));
    }

    private static async Task<Results<Ok<AccountDetail>, ProblemHttpResult>> GetAsync(HttpContext http, PortfolioQueries queries, string accountId) =>
        await queries.GetAsync(http.User.TenantId(), accountId, http.RequestAborted) is { } detail ? TypedResults.Ok(detail) : NotFound(accountId);

    private static async Task<Results<Ok<HistoryResponse>, ValidationProblem, ProblemHttpResult>> HistoryAsync(HttpContext http, PortfolioQueries queries, string accountId, string? from, string? to)
    {
        var (start, end, errors) = PortfolioRequests.ParseRange(from, to);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        return await queries.HistoryAsync(http.User.TenantId(), accountId, start, end, http.RequestAborted) is { } points
            ? TypedResults.Ok(new HistoryResponse(points))
            : NotFound(accountId);
    }

    private static ValidationProblem Invalid(IReadOnlyList<FieldError> errors) => TypedResults.ValidationProblem(
        errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
        title: "Invalid request");

    // The same answer whether the account does not exist or belongs to another tenant: no existence leak.
    private static ProblemHttpResult NotFound(string accountId) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Account not found", detail: $"No scored account '{accountId}' for this tenant.");
}

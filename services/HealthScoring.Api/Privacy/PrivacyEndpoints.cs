using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Privacy;

/// <summary><c>POST /v1/privacy/erase-user</c>: erase one user's personal data (API keys only).</summary>
public static class PrivacyEndpoints
{
    public static IEndpointRouteBuilder MapPrivacy(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/privacy/erase-user", EraseAsync).RequireAuthorization(TenancyExtensions.AdminPolicy).DisableAntiforgery();
        return app;
    }

    private static async Task<Results<Ok<ErasureAnswer>, ProblemHttpResult>> EraseAsync(EraseUserRequest request, HttpContext http, PrivacyService privacy)
    {
        if (string.IsNullOrWhiteSpace(request.UserId) == string.IsNullOrWhiteSpace(request.AnonymousId))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Which user?", detail: "Give exactly one of userId and anonymousId.");
        }

        if ($"{request.UserId}{request.AnonymousId}".Contains('\0', StringComparison.Ordinal))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Which user?", detail: "User ids never contain NUL characters.");
        }

        var userKey = IngestionPipeline.UserKey(new IncomingMessage { Type = MessageType.Identify, UserId = request.UserId, AnonymousId = request.AnonymousId });
        var outcome = await privacy.EraseUserAsync(http.User.TenantId(), userKey, http.RequestAborted);
        return TypedResults.Ok(new ErasureAnswer(outcome.UserKnown, outcome.KeysShredded));
    }

    public sealed record EraseUserRequest(string? UserId, string? AnonymousId);

    public sealed record ErasureAnswer(bool UserKnown, int KeysShredded);
}

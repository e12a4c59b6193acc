using HealthScoring.Api.Grpc;
using HealthScoring.Api.Resilience;

namespace HealthScoring.Api.Tenancy;

/// <summary>
/// API keys on gRPC calls (<c>authorization: Bearer &lt;key&gt;</c> metadata), with the same rules as the HTTP
/// policies. gRPC methods are anonymous at the HTTP level and check here, so that a missing or bad key is an
/// UNAUTHENTICATED status with a message, not a bare HTTP 401.
/// </summary>
public static class GrpcKeyAuthentication
{
    /// <summary>
    /// The caller's principal; <paramref name="read"/> demands an API key (write keys never read), as
    /// <see cref="TenancyExtensions.ReadPolicy"/>, and takes one request from the key's query limit (the REST
    /// middleware's buckets), RESOURCE_EXHAUSTED with a retry hint when it is spent.
    /// </summary>
    public static async Task<KeyPrincipal> AuthenticateAsync(this GrpcCallContext context, bool read = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        var principal = await context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>().AuthenticateAsync(context.BearerToken, context.CancellationToken)
            ?? throw new GrpcException(StatusCode.Unauthenticated, context.BearerToken is null
                ? "Send a key as 'authorization: Bearer <key>' metadata."
                : "Unknown or revoked key.");
        var named = context.GetMetadata(ApiKeyAuthenticationHandler.TenantHeader.ToLowerInvariant());
        if (!string.IsNullOrEmpty(named) && named != principal.TenantId)
        {
            throw new GrpcException(StatusCode.PermissionDenied, "This key belongs to another tenant.");
        }

        if (read && principal.Kind != KeyKind.Api)
        {
            throw new GrpcException(StatusCode.PermissionDenied, "Write keys cannot read; use an API key.");
        }

        if (read)
        {
            context.HttpContext.RequestServices.GetService<BackPressure>()?.TakeRequest(principal.KeyId);
        }

        return principal;
    }
}

using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Tenancy;

/// <summary>
/// Authenticates a request by its key: <c>Authorization: Basic base64(writeKey:)</c> (Segment's convention: the
/// write key is the user name) or <c>Authorization: Bearer &lt;key&gt;</c>. The key decides the tenant.
/// Failures answer as RFC 9457 problem details; the key itself is never logged.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "healthscoring:tenant";
    public const string KindClaim = "healthscoring:key_kind";
    public const string KeyIdClaim = "healthscoring:key_id";

    /// <summary>Optional request header naming the tenant the caller means; a key of another tenant is then refused with 403.</summary>
    public const string TenantHeader = "X-HealthScoring-Tenant";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // gRPC methods check the key themselves (GrpcKeyAuthentication) and answer in a gRPC status; a failure here
        // (the database away during the key's lookup) would become an HTTP answer a gRPC client cannot read.
        if (Grpc.GrpcProtocol.IsGrpcContentType(Request.ContentType))
        {
            return AuthenticateResult.NoResult();
        }

        var presented = ReadKey(Request.Headers.Authorization);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await keys.AuthenticateAsync(presented, Context.RequestAborted);
        if (principal is null)
        {
            return AuthenticateResult.Fail("Unknown or revoked key.");
        }

        var identity = new ClaimsIdentity(
            [new Claim(TenantClaim, principal.TenantId), new Claim(KindClaim, principal.Kind.ToString()), new Claim(KeyIdClaim, principal.KeyId)],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status401Unauthorized, "Authentication required",
            "Send a write key as the Basic user name (Segment's convention) or any key as 'Authorization: Bearer <key>'.",
            challenge: true);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "This key may not do that: a write key only sends events, and a key only reaches its own tenant.", challenge: false);

    /// <summary>The key in an Authorization header value, or null when there is none.</summary>
    public static string? ReadKey(string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization) || !AuthenticationHeaderValue.TryParse(authorization, out var header) || header.Parameter is null)
        {
            return null;
        }

        if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return header.Parameter.Trim();
        }

        if (!header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? decoded : decoded[..colon];
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private Task WriteProblemAsync(int status, string title, string detail, bool challenge)
    {
        if (challenge)
        {
            Response.Headers.WWWAuthenticate = "Basic realm=\"HealthScoring\", Bearer";
        }

        return AuthProblems.WriteAsync(Context, status, title, detail);
    }
}

/// <summary>Authentication and authorization failures as RFC 9457 problem details, for keys and sessions alike.</summary>
public static class AuthProblems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}

/// <summary>Reads the authenticated caller.</summary>
public static class TenantClaims
{
    public static string TenantId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ApiKeyAuthenticationHandler.TenantClaim) ?? throw new InvalidOperationException("The request is not authenticated with a key.");
}

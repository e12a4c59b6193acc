using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace HealthScoring.Api.Tenancy;

public static class TenancyExtensions
{
    /// <summary>Policy for sending events: any valid key of the tenant named (if named) by the request.</summary>
    public const string IngestPolicy = "ingest";

    /// <summary>Policy for reading: API keys only (write keys are embeddable in clients, so they never read).</summary>
    public const string ReadPolicy = "read";

    /// <summary>
    /// Policy for changing things (e.g. snoozing an alert): an API key, or a dashboard session of an admin. A viewer's
    /// session (sales, finance) is refused with 403.
    /// </summary>
    public const string AdminPolicy = "admin";

    /// <summary>Policy for the dashboard's pages: a signed-in dashboard user (an unauthenticated browser is sent to sign in).</summary>
    public const string DashboardPolicy = "dashboard";

    /// <summary>Keys, dashboard users and sessions, and policies; every endpoint requires a key or a session unless it opts out.</summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(TenancyMigrations.Set);
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<DashboardUserStore>();
        builder.Services.AddAuthentication(SessionAuthentication.KeyOrSessionScheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddKeyOrSession();
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(IngestPolicy, policy => policy.RequireAuthenticatedUser().RequireAssertion(TenantMatches))
            .AddPolicy(ReadPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.KindClaim, nameof(KeyKind.Api)).RequireAssertion(TenantMatches))
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.KindClaim, nameof(KeyKind.Api)).RequireAssertion(TenantMatches)
                .RequireAssertion(context => context.User.FindFirstValue(SessionAuthentication.RoleClaim) is null or "admin"))
            .AddPolicy(DashboardPolicy, policy => policy.AddAuthenticationSchemes(SessionAuthentication.SchemeName).RequireAuthenticatedUser().RequireClaim(SessionAuthentication.RoleClaim));
        return builder;
    }

    private static bool TenantMatches(AuthorizationHandlerContext context)
    {
        var named = (context.Resource as HttpContext)?.Request.Headers[ApiKeyAuthenticationHandler.TenantHeader].ToString();
        return string.IsNullOrEmpty(named) || named == context.User.TenantId();
    }
}

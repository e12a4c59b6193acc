using Microsoft.AspNetCore.Authorization;

namespace HealthScoring.Api.Tenancy;

public static class TenancyExtensions
{
    /// <summary>Policy for sending events: any valid key of the tenant named (if named) by the request.</summary>
    public const string IngestPolicy = "ingest";

    /// <summary>Policy for reading: API keys only (write keys are embeddable in clients, so they never read).</summary>
    public const string ReadPolicy = "read";

    /// <summary>Keys, key authentication, and policies; every endpoint requires a key unless it opts out.</summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(TenancyMigrations.Set);
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(IngestPolicy, policy => policy.RequireAuthenticatedUser().RequireAssertion(TenantMatches))
            .AddPolicy(ReadPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.KindClaim, nameof(KeyKind.Api)).RequireAssertion(TenantMatches));
        return builder;
    }

    private static bool TenantMatches(AuthorizationHandlerContext context)
    {
        var named = (context.Resource as HttpContext)?.Request.Headers[ApiKeyAuthenticationHandler.TenantHeader].ToString();
        return string.IsNullOrEmpty(named) || named == context.User.TenantId();
    }
}

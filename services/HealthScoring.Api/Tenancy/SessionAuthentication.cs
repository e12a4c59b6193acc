using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace HealthScoring.Api.Tenancy;

/// <summary>
/// Dashboard sessions: an encrypted cookie (HttpOnly, SameSite=Strict) whose principal carries the same tenant and
/// key-kind claims as an API key, plus the user's role, so every read endpoint accepts a session or a key alike.
/// A policy scheme picks per request: a request with an Authorization header is a key's; one with the session
/// cookie, or asking for a dashboard page, is a session's; anything else is a key's (401 problem details).
/// </summary>
public static class SessionAuthentication
{
    public const string SchemeName = "Session";
    public const string KeyOrSessionScheme = "KeyOrSession";
    public const string CookieName = "hs_session";
    public const string RoleClaim = "healthscoring:role";
    public const string UserClaim = "healthscoring:user";

    /// <summary>Where the dashboard's pages live: unauthenticated requests under it are sent to sign in, not answered 401.</summary>
    public const string PagesPrefix = "/dashboard";
    public const string SignInPath = "/dashboard/sign-in";

    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    public static ClaimsPrincipal Principal(DashboardUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var identity = new ClaimsIdentity(
            [
                new Claim(ApiKeyAuthenticationHandler.TenantClaim, user.TenantId),
                // A session reads like an API key; the role decides whether it may also change things.
                new Claim(ApiKeyAuthenticationHandler.KindClaim, nameof(KeyKind.Api)),
                new Claim(RoleClaim, DashboardUserStore.RoleName(user.Role)),
                new Claim(UserClaim, user.Email),
            ],
            SchemeName, UserClaim, RoleClaim);
        return new ClaimsPrincipal(identity);
    }

    public static bool IsPageRequest(HttpRequest request) => request.Path.StartsWithSegments(PagesPrefix, StringComparison.OrdinalIgnoreCase);

    internal static AuthenticationBuilder AddKeyOrSession(this AuthenticationBuilder builder) => builder
        .AddPolicyScheme(KeyOrSessionScheme, "API key or dashboard session", options => options.ForwardDefaultSelector = context =>
            !string.IsNullOrEmpty(context.Request.Headers.Authorization) ? ApiKeyAuthenticationHandler.SchemeName
            : context.Request.Cookies.ContainsKey(CookieName) || IsPageRequest(context.Request) ? SchemeName
            : ApiKeyAuthenticationHandler.SchemeName)
        .AddCookie(SchemeName, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the request came over HTTPS; the local demo runs on plain http://127.0.0.1.
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Cookie.Path = "/";
            options.ExpireTimeSpan = Lifetime;
            options.SlidingExpiration = true;
            options.LoginPath = SignInPath;
            options.Events.OnRedirectToLogin = context => IsPageRequest(context.Request) && HttpMethods.IsGet(context.Request.Method)
                ? RedirectAsync(context)
                : AuthProblems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Authentication required", "The session has ended; sign in again.");
            options.Events.OnRedirectToAccessDenied = context =>
                AuthProblems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "This role may not do that: viewers only read.");
        });

    private static Task RedirectAsync(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}

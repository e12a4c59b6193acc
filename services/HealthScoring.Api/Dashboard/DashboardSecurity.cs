using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Antiforgery;

namespace HealthScoring.Api.Dashboard;

/// <summary>
/// Browser-facing protections. Every response carries security headers (a CSP with no inline script, no framing,
/// no sniffing, no referrer). Every state-changing request a browser sends on its own (one carrying the session
/// cookie and no Authorization header, or the sign-in form) must present an antiforgery token: in the
/// <c>X-CSRF-Token</c> header (the pages' fetch calls) or the form field (the sign-in form). Requests with a key in
/// the Authorization header need none: a browser never attaches that header cross-site.
/// </summary>
public static class DashboardSecurity
{
    public const string HeaderName = "X-CSRF-Token";
    public const string FormFieldName = "__csrf";
    public const string CookieName = "hs_csrf";

    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IServiceCollection AddDashboardSecurity(this IServiceCollection services) => services.AddAntiforgery(options =>
    {
        options.HeaderName = HeaderName;
        options.FormFieldName = FormFieldName;
        options.Cookie.Name = CookieName;
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        // The pages set their own frame-ancestors; antiforgery's X-Frame-Options would only duplicate it.
        options.SuppressXFrameOptionsHeader = true;
    });

    /// <summary>Headers and the antiforgery check; after authentication (the token is bound to the signed-in user).</summary>
    public static IApplicationBuilder UseDashboardSecurity(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";

        if (NeedsAntiforgery(context.Request))
        {
            bool valid;
            try
            {
                // Looking for the token in a form body reads the form: a broken or oversized one is the caller's error.
                valid = await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context);
            }
            catch (Exception ex) when (ex is AntiforgeryValidationException || IsUnreadableForm(ex))
            {
                await AuthProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "Unreadable form", "The form body could not be read (malformed, or over the form limits).");
                return;
            }

            if (!valid)
            {
                await AuthProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "Missing or invalid antiforgery token",
                    $"A state-changing request from a dashboard session must send the token from GET /dashboard/session in the {HeaderName} header.");
                return;
            }
        }

        await next(context);
    });

    /// <summary>
    /// What reading a form throws for the client's own mistakes: over a form limit or malformed multipart
    /// (InvalidDataException), a multipart body that ends early (IOException). A body over the size limit is a
    /// BadHttpRequestException, which the host's exception handler already answers with its own status (413).
    /// </summary>
    internal static bool IsUnreadableForm(Exception ex) => ex is InvalidDataException || (ex is IOException && ex is not BadHttpRequestException);

    private static bool NeedsAntiforgery(HttpRequest request) =>
        !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
        && string.IsNullOrEmpty(request.Headers.Authorization)
        && (request.Cookies.ContainsKey(SessionAuthentication.CookieName)
            || request.Path.StartsWithSegments(SessionAuthentication.SignInPath, StringComparison.OrdinalIgnoreCase));
}

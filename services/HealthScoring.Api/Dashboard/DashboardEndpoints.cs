using System.Collections.Frozen;
using System.Text.Encodings.Web;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;

namespace HealthScoring.Api.Dashboard;

/// <summary>
/// The web dashboard: sign-in and sign-out, the three pages (portfolio, account, analytics) and their static
/// assets, embedded in the assembly so the host serves them from wherever it runs, with nothing fetched from a
/// CDN. The pages are static shells; their scripts read the REST API with the session cookie and render event data
/// as text, never as HTML.
/// </summary>
public static class DashboardEndpoints
{
    private const string ResourcePrefix = "HealthScoring.Api.Dashboard.";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".html"] = "text/html; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    // name (e.g. "assets/portfolio.js") → bytes, read once: the files are small and fixed at build time.
    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(LoadFiles);

    public static IHostApplicationBuilder AddDashboard(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDashboardSecurity();
        return builder;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect("/dashboard")).AllowAnonymous().ExcludeFromDescription();
        var dashboard = app.MapGroup(SessionAuthentication.PagesPrefix).ExcludeFromDescription();
        dashboard.MapGet("/sign-in", SignInPage).AllowAnonymous();
        dashboard.MapPost("/sign-in", SignInAsync).AllowAnonymous();
        dashboard.MapPost("/sign-out", (Delegate)SignOutAsync).RequireAuthorization(TenancyExtensions.DashboardPolicy);
        dashboard.MapGet("/session", Session).RequireAuthorization(TenancyExtensions.DashboardPolicy);
        dashboard.MapGet("/assets/{name}", Asset).AllowAnonymous();

        var pages = dashboard.MapGroup("").RequireAuthorization(TenancyExtensions.DashboardPolicy);
        pages.MapGet("", () => Page("portfolio.html"));
        pages.MapGet("/accounts/{accountId}", (string accountId) => Page("account.html"));
        pages.MapGet("/analytics", () => Page("analytics.html"));
        return app;
    }

    private static IResult Page(string name)
    {
        var bytes = Files.Value[$"pages/{name}"];
        return Results.Bytes(bytes, ContentTypes[".html"]);
    }

    private static IResult Asset(string name, HttpContext http)
    {
        if (!Files.Value.TryGetValue($"assets/{name}", out var bytes))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No dashboard asset '{name}'.");
        }

        http.Response.Headers.CacheControl = "no-cache";
        return Results.Bytes(bytes, ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream"));
    }

    private static IResult Session(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        http.Response.Headers.CacheControl = "no-store";
        var user = http.User;
        return Results.Ok(new
        {
            tenant = user.TenantId(),
            email = user.FindFirst(SessionAuthentication.UserClaim)?.Value,
            role = user.FindFirst(SessionAuthentication.RoleClaim)?.Value,
            csrfToken = tokens.RequestToken,
            csrfHeader = DashboardSecurity.HeaderName,
        });
    }

    private static IResult SignInPage(HttpContext http, IAntiforgery antiforgery, string? returnUrl) =>
        SignInForm(http, antiforgery, returnUrl, tenant: "", email: "", error: null, StatusCodes.Status200OK);

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, DashboardUserStore users)
    {
        // Callers with an Authorization header skip the antiforgery check (and its form reading): check the body here.
        if (!http.Request.HasFormContentType)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Not a form", detail: "Sign in with the sign-in form (application/x-www-form-urlencoded or multipart/form-data).");
        }

        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (Exception ex) when (DashboardSecurity.IsUnreadableForm(ex))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unreadable form", detail: "The form body could not be read (malformed, or over the form limits).");
        }

        string tenant = form["tenant"].ToString().Trim(), email = form["email"].ToString(), password = form["password"].ToString(), returnUrl = form["returnUrl"].ToString();
        var user = await users.VerifyAsync(tenant, email, password, http.RequestAborted);
        if (user is null)
        {
            // One message for every failure: it must not tell whether the tenant or the email exists.
            return SignInForm(http, antiforgery, returnUrl, tenant, email, "Wrong tenant, email or password.", StatusCodes.Status401Unauthorized);
        }

        await http.SignInAsync(SessionAuthentication.SchemeName, SessionAuthentication.Principal(user), new AuthenticationProperties { IsPersistent = false });
        return Results.Redirect(LocalDashboardUrl(returnUrl), permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http)
    {
        await http.SignOutAsync(SessionAuthentication.SchemeName);
        return Results.Redirect(SessionAuthentication.SignInPath);
    }

    /// <summary>Where to go after signing in: the page asked for when it is one of the dashboard's, else the portfolio (no open redirect).</summary>
    internal static string LocalDashboardUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(SessionAuthentication.PagesPrefix, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal) && Uri.IsWellFormedUriString(url, UriKind.Relative)
            ? url
            : SessionAuthentication.PagesPrefix;

    private static IResult SignInForm(HttpContext http, IAntiforgery antiforgery, string? returnUrl, string tenant, string email, string? error, int status)
    {
        // A fresh token for the (still anonymous) form: signing in is state-changing too (login CSRF).
        var tokens = antiforgery.GetAndStoreTokens(http);
        http.Response.Headers.CacheControl = "no-store";
        var e = HtmlEncoder.Default;
        var html = $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sign in · HealthScoring</title>
            <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
            </head>
            <body class="sign-in">
            <main class="card sign-in-card">
            <h1>HealthScoring</h1>
            <p class="muted">Sign in to your tenant's dashboard.</p>
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{e.Encode(error)}</p>")}
            <form method="post" action="{SessionAuthentication.SignInPath}">
            <input type="hidden" name="{DashboardSecurity.FormFieldName}" value="{e.Encode(tokens.RequestToken ?? "")}">
            <input type="hidden" name="returnUrl" value="{e.Encode(LocalDashboardUrl(returnUrl))}">
            <label>Tenant <input name="tenant" id="tenant" required autocomplete="organization" value="{e.Encode(tenant)}"></label>
            <label>Email <input name="email" id="email" type="email" required autocomplete="username" value="{e.Encode(email)}"></label>
            <label>Password <input name="password" id="password" type="password" required autocomplete="current-password"></label>
            <button type="submit" id="sign-in">Sign in</button>
            </form>
            </main>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }

    private static FrozenDictionary<string, byte[]> LoadFiles()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            files[resource[ResourcePrefix.Length..]] = buffer.ToArray();
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

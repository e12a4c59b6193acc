using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Observability;

/// <summary>Settings of <c>/metrics</c> (section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>
    /// The token Prometheus sends as <c>Authorization: Bearer &lt;token&gt;</c> (its <c>authorization</c> scrape option).
    /// Empty: <c>/metrics</c> answers 404 with a problem saying to set <c>Metrics__ScrapeToken</c>.
    /// </summary>
    public string? ScrapeToken { get; set; }

    public bool IsEnabled => !string.IsNullOrWhiteSpace(ScrapeToken);
}

/// <summary><c>GET /metrics</c>: the Prometheus text format, for the holder of the scrape token only.</summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";
    public const string Policy = "metrics-scrape";

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, WriteAsync).RequireAuthorization(Policy).ExcludeFromDescription();
        return app;
    }

    private static async Task WriteAsync(HttpContext http, PrometheusExporter exporter, SubscriptionLagMonitor lag)
    {
        await lag.RefreshAsync(http.RequestAborted);
        var text = exporter.Collect();
        http.Response.ContentType = PrometheusExporter.ContentType;
        http.Response.Headers.CacheControl = "no-store";
        await http.Response.WriteAsync(text, http.RequestAborted);
    }
}

/// <summary>
/// Authenticates the scraper by <c>Authorization: Bearer &lt;Metrics:ScrapeToken&gt;</c>, compared in constant time.
/// A missing or wrong token is a 401 problem; with no token configured every request is a 404 problem telling the
/// operator to set one (the endpoint is off, and says so only that way). The token is never logged.
/// </summary>
public sealed class ScrapeTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptionsMonitor<MetricsOptions> metrics)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "MetricsScrapeToken";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var expected = metrics.CurrentValue.ScrapeToken;
        if (string.IsNullOrWhiteSpace(expected))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var authorization = Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Matches(authorization["Bearer ".Length..].Trim(), expected.Trim()))
        {
            return Task.FromResult(AuthenticateResult.Fail("The scrape token does not match."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "metrics-scraper")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>Equal tokens, in time independent of where they differ (and of their lengths: hashes are compared).</summary>
    internal static bool Matches(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (!metrics.CurrentValue.IsEnabled)
        {
            return AuthProblems.WriteAsync(Context, StatusCodes.Status404NotFound, "Metrics are off",
                "No scrape token is configured: set Metrics__ScrapeToken (Metrics:ScrapeToken) and send it as 'Authorization: Bearer <token>'.");
        }

        Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
        return AuthProblems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Authentication required",
            "Send the scrape token (Metrics:ScrapeToken) as 'Authorization: Bearer <token>'.");
    }
}

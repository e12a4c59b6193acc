using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Security;

/// <summary>One method of one route of the host, as the endpoint data source lists it.</summary>
/// <param name="Key">"METHOD /pattern", the allowlist's key (e.g. <c>GET /v1/accounts/{accountId}</c>).</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Pattern">The route pattern, with a leading slash.</param>
/// <param name="SamplePath">The pattern with sample values (accounts and tenants that exist) for its parameters.</param>
/// <param name="IsGrpc">A method of our gRPC framing (display name "gRPC /service/method"); called over h2c.</param>
/// <param name="AllowsAnonymous">Marked AllowAnonymous: authorization lets anyone in, so the endpoint must check itself.</param>
public sealed record RouteMethod(string Key, string Method, string Pattern, string SamplePath, bool IsGrpc, bool AllowsAnonymous)
{
    public override string ToString() => Key;
}

/// <summary>Reads the host's route table from the DI container (every RouteEndpoint, every HTTP method).</summary>
public static partial class RouteTable
{
    private static readonly string[] AnyMethod = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>Sample values for route parameters: accounts and tenants that exist, an asset that exists.</summary>
    private static readonly Dictionary<string, string> Samples = new(StringComparer.OrdinalIgnoreCase)
    {
        ["accountId"] = "a-03",
        ["tenant"] = "acme",
        ["name"] = "dashboard.css",
        ["documentName"] = "v1",
        ["service"] = "healthscoring.v1.Nothing",
        ["method"] = "Nothing",
    };

    public static IReadOnlyList<RouteMethod> Read(IServiceProvider services) =>
    [
        .. services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint =>
            {
                var pattern = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
                var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } declared ? declared : AnyMethod;
                var isGrpc = endpoint.DisplayName?.StartsWith("gRPC /", StringComparison.Ordinal) == true
                    || endpoint.DisplayName == "gRPC unimplemented fallback";
                var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
                return methods.Select(m => new RouteMethod($"{m} {pattern}", m, pattern, Sample(pattern), isGrpc, anonymous));
            })
            .DistinctBy(r => r.Key)
            .OrderBy(r => r.Key, StringComparer.Ordinal),
    ];

    /// <summary>The pattern with each parameter replaced by a sample value (unknown names get "x").</summary>
    public static string Sample(string pattern) => Parameter().Replace(pattern, m => Samples.GetValueOrDefault(m.Groups[1].Value, "x"));

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")]
    private static partial Regex Parameter();
}

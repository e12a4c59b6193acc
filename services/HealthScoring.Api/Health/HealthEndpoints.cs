using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthScoring.Api.Health;

/// <summary>
/// Liveness and readiness probes. They carry no tenant data, so orchestrators may call them without a key. Liveness
/// answers from memory; readiness runs every check tagged <see cref="ReadinessChecks.ReadyTag"/> (PostgreSQL,
/// migrations, subscription lag, RabbitMQ) and answers 200 with each check's verdict, or a 503 problem naming the failing ones.
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" })).AllowAnonymous();
        app.MapGet("/health/ready", ReadyAsync).AllowAnonymous();
        return app;
    }

    private static async Task<Results<Ok<ReadyView>, ProblemHttpResult>> ReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(ReadinessChecks.ReadyTag), cancellationToken);
        var checks = report.Entries.ToDictionary(e => e.Key, e => new CheckView(Status(e.Value.Status), e.Value.Description));
        // The migrations check's data, when it passed, are the schema versions per module.
        var schema = report.Entries.TryGetValue("migrations", out var migrations) && migrations.Status == HealthStatus.Healthy
            ? migrations.Data.Where(d => d.Value is int).ToDictionary(d => d.Key, d => (int)d.Value)
            : [];
        var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => e.Key).Order(StringComparer.Ordinal).ToList();
        if (failing.Count == 0)
        {
            return TypedResults.Ok(new ReadyView("ready", schema, checks));
        }

        var details = string.Join(" ", failing.Select(name => $"{name}: {checks[name].Description}"));
        return TypedResults.Problem(
            $"Failing: {string.Join(", ", failing)}. {details}", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready",
            extensions: new Dictionary<string, object?> { ["failing"] = failing, ["checks"] = checks });
    }

    private static string Status(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    public sealed record CheckView(string Status, string? Description);

    public sealed record ReadyView(string Status, IReadOnlyDictionary<string, int> Schema, IReadOnlyDictionary<string, CheckView> Checks);
}

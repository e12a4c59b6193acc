using HealthScoring.EventStore.Schema;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Health;

/// <summary>Liveness and readiness probes. They carry no tenant data, so orchestrators may call them without a key.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" })).AllowAnonymous();
        app.MapGet("/health/ready", ReadyAsync).AllowAnonymous();
        return app;
    }

    private static async Task<Results<Ok<ReadyView>, ProblemHttpResult>> ReadyAsync(SchemaMigrator migrator, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        try
        {
            var pending = await migrator.PendingAsync(cancellationToken);
            return pending.Count == 0
                ? TypedResults.Ok(new ReadyView("ready", migrator.Sets.ToDictionary(m => m.Module, m => m.LatestVersion)))
                : TypedResults.Problem($"Schema migrations pending: {string.Join("; ", pending)}.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
        }
        catch (Npgsql.NpgsqlException ex)
        {
            loggers.CreateLogger("HealthScoring.Api.Health").LogWarning("Readiness: PostgreSQL unreachable: {Reason}", ex.Message);
            return TypedResults.Problem("PostgreSQL is unreachable.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
        }
    }

    public sealed record ReadyView(string Status, IReadOnlyDictionary<string, int> Schema);
}

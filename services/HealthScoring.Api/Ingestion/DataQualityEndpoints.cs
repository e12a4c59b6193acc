using System.Text.Json;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Ingestion;

/// <summary>The taxonomy (GET/PUT /v1/taxonomy) and the data-quality report (GET /v1/data-quality), for API keys.</summary>
public static class DataQualityEndpoints
{
    public static IEndpointRouteBuilder MapDataQuality(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(TenancyExtensions.ReadPolicy).DisableAntiforgery();
        v1.MapGet("/data-quality", ReportAsync);
        v1.MapGet("/taxonomy", async (HttpContext http, EventTaxonomy taxonomy) =>
            TypedResults.Ok((await taxonomy.GetAsync(http.User.TenantId(), http.RequestAborted)).Values.OrderBy(e => e.Event, StringComparer.Ordinal)));
        // Declaring changes how events are validated: API keys and admins only, not viewers.
        v1.MapPut("/taxonomy", DeclareAsync).RequireAuthorization(TenancyExtensions.AdminPolicy);
        return app;
    }

    private static async Task<Results<Ok<DataQualityView>, ProblemHttpResult>> ReportAsync(HttpContext http, DataQualityReport report, int? days)
    {
        if (days is < 1 or > 366)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid days", detail: "days must be between 1 and 366.",
                extensions: new Dictionary<string, object?> { ["field"] = "days" });
        }

        return TypedResults.Ok(await report.GetAsync(http.User.TenantId(), days ?? 30, http.RequestAborted));
    }

    private static async Task<Results<Ok<DeclaredCount>, ProblemHttpResult>> DeclareAsync(HttpContext http, EventTaxonomy taxonomy)
    {
        try
        {
            var events = await JsonSerializer.DeserializeAsync<List<DeclaredEvent?>>(http.Request.Body, EventTaxonomy.Json, http.RequestAborted)
                ?? throw new ArgumentException("The body must be a JSON array of declared events.");
            if (events.Contains(null))
            {
                throw new ArgumentException("Every item of the array must be a declared event, not null.");
            }

            return TypedResults.Ok(new DeclaredCount(await taxonomy.DeclareAsync(http.User.TenantId(), events!, http.RequestAborted)));
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid taxonomy", detail: ex.Message);
        }
    }

    public sealed record DeclaredCount(int Declared);
}

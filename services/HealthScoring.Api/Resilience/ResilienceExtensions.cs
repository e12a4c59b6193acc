using Microsoft.AspNetCore.RateLimiting;
using HealthScoring.Api.Grpc;

namespace HealthScoring.Api.Resilience;

/// <summary>Back-pressure for the web host: rate limits per key, a bound on ingest work, and 503 rather than 500 while the database is away.</summary>
public static class ResilienceExtensions
{
    public static IHostApplicationBuilder AddBackPressure(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.SectionName));
        builder.Services.AddSingleton<BackPressure>();
        builder.Services.AddSingleton<StoreUnavailable>();
        builder.Services.AddExceptionHandler<RetryLaterExceptionHandler>();
        builder.Services.AddSingleton<IGrpcExceptionMapper, RetryLaterGrpcMapper>();

        // Queries by API key over REST go through ASP.NET Core's middleware; gRPC queries take from the same buckets
        // in GrpcKeyAuthentication, and ingest (counted in events) in its own endpoints.
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<BackPressure>((options, limits) =>
        {
            options.GlobalLimiter = limits.HttpApiLimiter();
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
            {
                var http = context.HttpContext;
                var retry = new RetryLaterException(StatusCodes.Status429TooManyRequests, "Rate limit exceeded", limits.ApiLimitDetail, limits.RetryAfterOf(context.Lease));
                await RetryLaterExceptionHandler.WriteAsync(http, http.RequestServices.GetRequiredService<IProblemDetailsService>(), retry);
            };
        });
        return builder;
    }

    /// <summary>The rate-limiting middleware; after authentication, so that it sees the caller's key.</summary>
    public static IApplicationBuilder UseBackPressure(this IApplicationBuilder app) => app.UseRateLimiter();
}

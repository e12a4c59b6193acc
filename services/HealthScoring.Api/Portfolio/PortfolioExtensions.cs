namespace HealthScoring.Api.Portfolio;

public static class PortfolioExtensions
{
    /// <summary>The portfolio's queries, the live feed of health changes, and the OpenAPI document (the web host).</summary>
    public static IHostApplicationBuilder AddPortfolio(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PortfolioQueries>();
        builder.Services.AddSingleton<HealthChangeFeed>();
        builder.Services.AddHostedService(services => services.GetRequiredService<HealthChangeFeed>());
        builder.Services.AddOpenApi(options =>
        {
            // The gRPC methods are POST endpoints too, but their contract is the .proto, not JSON.
            options.ShouldInclude = description => description.ActionDescriptor.DisplayName?.StartsWith("gRPC", StringComparison.Ordinal) != true;
        });
        return builder;
    }

    /// <summary>REST and gRPC (API keys), the OpenAPI document at <c>/openapi/v1.json</c> (any valid key, as everything else).</summary>
    public static IEndpointRouteBuilder MapPortfolio(this IEndpointRouteBuilder app)
    {
        app.MapPortfolioEndpoints();
        app.MapAccountsGrpc();
        app.MapOpenApi();
        return app;
    }
}

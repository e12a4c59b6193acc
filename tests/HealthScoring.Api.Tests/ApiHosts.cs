using HealthScoring.Testing;
using Microsoft.AspNetCore.Mvc.Testing;

namespace HealthScoring.Api.Tests;

/// <summary>A host of its own for one test, over a given schema, with settings of the test's choosing.</summary>
public static class ApiHosts
{
    /// <param name="schema">The event store's schema (a fixture's).</param>
    /// <param name="settings">Configuration keys and values, such as <c>RabbitMq:Enabled</c>.</param>
    /// <param name="connectionString">The store's connection string; the test database by default.</param>
    public static WebApplicationFactory<Program> Create(string schema, IReadOnlyDictionary<string, string>? settings = null, string? connectionString = null) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:EventStore", connectionString ?? TestSettings.PostgresConnectionString);
            web.UseSetting("EventStore:Schema", schema);
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                web.UseSetting(key, value);
            }
        });
}

using System.Net;
using System.Net.Http.Json;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Mvc.Testing;

namespace HealthScoring.Api.Tests.Health;

public sealed class HealthEndpointTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_reports_the_migrated_schema_version()
    {
        await using var app = Host(fixture.Schema);
        using var client = app.CreateClient();

        (await client.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Ready once started: the bus connects to RabbitMQ in the background, which under a full test run's load can
        // take a moment after the first request is served (a readiness probe asks again, and so does this test).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var ready = await client.GetAsync("/health/ready", Ct);
        while (ready.StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, Ct);
            ready = await client.GetAsync("/health/ready", Ct);
        }

        ready.StatusCode.ShouldBe(HttpStatusCode.OK, await ready.Content.ReadAsStringAsync(Ct));
        (await ready.Content.ReadFromJsonAsync<ReadyBody>(Ct))!.Schema["eventstore"].ShouldBe(EventStore.Schema.SchemaMigrator.EventStore.LatestVersion);
    }

    [Fact]
    public async Task Ready_is_a_503_problem_when_PostgreSQL_is_unreachable()
    {
        await using var app = Host(fixture.Schema, "Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z;Timeout=2");
        using var client = app.CreateClient();

        var ready = await client.GetAsync("/health/ready", Ct);

        ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        ready.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await ready.Content.ReadAsStringAsync(Ct)).ShouldNotContain("Password");
    }

    private static WebApplicationFactory<Program> Host(string schema, string? connectionString = null) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:EventStore", connectionString ?? TestSettings.PostgresConnectionString);
            web.UseSetting("EventStore:Schema", schema);
            web.UseSetting("EventStore:MigrateOnStart", connectionString is null ? "true" : "false");
        });

    private sealed record ReadyBody(string Status, Dictionary<string, int> Schema);
}

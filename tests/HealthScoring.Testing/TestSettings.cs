namespace HealthScoring.Testing;

/// <summary>Where the tests find the services that scripts/services.sh starts; environment variables override.</summary>
public static class TestSettings
{
    /// <summary>The test database (not the demo's), reachable as the healthscoring role.</summary>
    public static string PostgresConnectionString { get; } =
        Environment.GetEnvironmentVariable("HS_PG_TEST_CONNECTION")
        ?? $"Host=127.0.0.1;Port={Environment.GetEnvironmentVariable("HS_PG_PORT") ?? "55432"};Username=healthscoring;Password=healthscoring;Database=healthscoring_test";
}

using System.Globalization;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>Where the benchmarks find PostgreSQL: the same settings as the app (scripts/services.sh env).</summary>
public static class BenchConnection
{
    /// <summary>ConnectionStrings__EventStore if set, else the database that scripts/services.sh provides.</summary>
    public static string Resolve()
    {
        var configured = Environment.GetEnvironmentVariable("ConnectionStrings__EventStore");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var port = Environment.GetEnvironmentVariable("HS_PG_PORT");
        return $"Host=127.0.0.1;Port={(string.IsNullOrWhiteSpace(port) ? "55432" : port)};Username=healthscoring;Password=healthscoring;Database=healthscoring";
    }

    /// <summary>Host, port, database and user, without the password.</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return string.Create(CultureInfo.InvariantCulture, $"{b.Host}:{b.Port}/{b.Database} as {b.Username}");
    }
}

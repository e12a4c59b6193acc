using System.Globalization;
using HealthScoring.Api.Observability;
using HealthScoring.EventStore.Schema;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Health;

/// <summary>Readiness settings (section <c>Health</c>).</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>The most events a subscription may be behind the head of the log while the host still reports ready.</summary>
    public long MaxSubscriptionLag { get; set; } = 1_000_000;
}

/// <summary>
/// The checks behind <c>/health/ready</c>, tagged <see cref="ReadyTag"/> (as MassTransit tags its bus check, named
/// <c>rabbitmq</c> here): PostgreSQL answers, every migration is applied, no subscription is too far behind. Their
/// descriptions are fixed words and counts: probes are anonymous, so nothing of a tenant shows.
/// </summary>
public static partial class ReadinessChecks
{
    public const string ReadyTag = "ready";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static IHostApplicationBuilder AddReadinessChecks(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<HealthOptions>(builder.Configuration.GetSection(HealthOptions.SectionName));
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresCheck>("postgresql", tags: [ReadyTag], timeout: Timeout)
            .AddCheck<MigrationsCheck>("migrations", tags: [ReadyTag], timeout: Timeout)
            .AddCheck<SubscriptionLagCheck>("subscriptions", tags: [ReadyTag], timeout: Timeout);
        return builder;
    }

    private static HealthCheckResult Unreachable(NpgsqlException ex) =>
        HealthCheckResult.Unhealthy("PostgreSQL is unreachable.", data: new Dictionary<string, object> { ["error"] = ex.GetType().Name });

    internal sealed partial class PostgresCheck(NpgsqlDataSource dataSource, ILogger<PostgresCheck> logger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("select 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy("PostgreSQL answers.");
            }
            catch (NpgsqlException ex)
            {
                LogUnreachable(logger, ex.Message);
                return Unreachable(ex);
            }
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness: PostgreSQL unreachable: {Reason}")]
        private static partial void LogUnreachable(ILogger logger, string reason);
    }

    internal sealed class MigrationsCheck(SchemaMigrator migrator) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var pending = await migrator.PendingAsync(cancellationToken);
                return pending.Count == 0
                    ? HealthCheckResult.Healthy("Every migration is applied.", migrator.Sets.ToDictionary(m => m.Module, m => (object)m.LatestVersion))
                    : HealthCheckResult.Unhealthy($"Schema migrations pending: {string.Join("; ", pending)}.");
            }
            catch (NpgsqlException ex)
            {
                return Unreachable(ex);
            }
        }
    }

    internal sealed class SubscriptionLagCheck(SubscriptionLagMonitor monitor, IOptions<HealthOptions> options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var limit = Math.Max(0, options.Value.MaxSubscriptionLag);
            try
            {
                // Counting stops just past the limit: how far beyond does not change the answer.
                var lags = await monitor.MeasureAsync(limit + 1, cancellationToken);
                var data = lags.ToDictionary(l => l.Name, l => (object)l.Lag);
                var behind = lags.Where(l => l.Lag > limit).Select(l => l.Name).ToList();
                return behind.Count == 0
                    ? HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"{lags.Count} subscription(s), none more than {limit:N0} events behind."), data)
                    : HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture, $"More than {limit:N0} events behind (Health:MaxSubscriptionLag): {string.Join(", ", behind)}."), data: data);
            }
            catch (NpgsqlException ex)
            {
                return Unreachable(ex);
            }
        }
    }
}

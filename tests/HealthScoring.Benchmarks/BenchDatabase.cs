using System.Diagnostics;
using System.Globalization;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>One timed write of <see cref="Count"/> rows, with the checkpoints PostgreSQL made meanwhile.</summary>
public readonly record struct Measurement(TimeSpan Elapsed, int Count, long Checkpoints)
{
    public double Rate => Count / Elapsed.TotalSeconds;
}

/// <summary>The SQL and housekeeping the write benchmarks share: schema names, plain commands, settling between runs.</summary>
public static class BenchDatabase
{
    /// <summary>A schema name unique to this run: <c>bench_[prefix_]yyyyMMdd_HHmmss_pid</c>.</summary>
    public static string NewSchemaName(string? prefix = null) =>
        string.Create(CultureInfo.InvariantCulture, $"bench_{(prefix is null ? "" : prefix + "_")}{DateTime.UtcNow:yyyyMMdd_HHmmss}_{Environment.ProcessId}");

    /// <summary>The <c>application_name</c> of a benchmark's own sessions.</summary>
    public const string ApplicationName = "healthscoring-bench";

    /// <summary>The connection string for a benchmark's own data source: its application name and a long command timeout.</summary>
    public static NpgsqlConnectionStringBuilder Builder(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = ApplicationName };
        builder.CommandTimeout = Math.Max(builder.CommandTimeout, 600);
        return builder;
    }

    /// <summary>Drops <paramref name="schema"/> whatever happened before; a failure is only reported, so that it never hides the run's own error.</summary>
    public static async Task DropSchemaAsync(NpgsqlDataSource dataSource, string schema, ProgressLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        try
        {
            // Not cancellable: the schema must go even when the run was interrupted.
            await ExecuteAsync(dataSource, $"drop schema if exists {schema} cascade", CancellationToken.None);
        }
        catch (NpgsqlException ex)
        {
            log.Info($"  warning: could not drop schema {schema}: {ex.Message}");
        }
    }

    /// <summary>Starts a timed section from a collected heap, so that it does not pay for the generator's garbage.</summary>
    public static void CollectGarbage()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    public static async Task<long> CheckpointCountAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        await ScalarAsync(dataSource, "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter", cancellationToken);

    public static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Lets the server catch up with the previous side's writes before the next starts: vacuum (so autovacuum does
    /// not start on them mid-run) and, where allowed, a checkpoint (so the next side does not pay for flushing them).
    /// </summary>
    public static async Task SettleAsync(NpgsqlDataSource dataSource, string table, ProgressLog log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        var sw = Stopwatch.StartNew();
        await ExecuteAsync(dataSource, $"vacuum (analyze) {table}", cancellationToken);
        string checkpoint;
        try
        {
            await ExecuteAsync(dataSource, "checkpoint", cancellationToken);
            checkpoint = "checkpoint done";
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            checkpoint = "checkpoint skipped (needs superuser or pg_checkpoint)";
        }

        log.Info(string.Create(CultureInfo.InvariantCulture, $"  between runs: vacuum analyze {table}; {checkpoint} ({sw.Elapsed.TotalSeconds:F1}s)"));
    }
}

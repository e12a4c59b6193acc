using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HealthScoring.Testing;
using Npgsql;

namespace HealthScoring.Benchmarks;

/// <summary>
/// The reference the write benchmarks compare with: psql's <c>\copy</c> of a CSV file holding the very rows ours
/// stores, into a table of the events table's shape, defaults and indexes (<c>create table … (like events including all)</c>).
/// </summary>
public static class PsqlCopy
{
    /// <summary>The reference's name in the results file.</summary>
    public const string ReferenceName = "psql \\copy (csv)";

    /// <summary>
    /// The store's options for metadata JSON (PostgresEventStore.MetadataJson, private there): a reference row must
    /// hold the same text as the store writes.
    /// </summary>
    public static readonly JsonSerializerOptions MetadataJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The <c>application_name</c> of psql's session (to read its backend's CPU time).</summary>
    public const string ApplicationName = "healthscoring-bench-reference";

    /// <summary>The columns of the events table that a writer supplies (the rest are defaults).</summary>
    public const string EventColumns = "tenant_id, stream_id, stream_version, event_id, type, data, metadata, occurred_at";

    /// <summary>Creates <c>{schema}.ref_events</c> like <c>{schema}.events</c> (which must exist) and returns its name.</summary>
    public static async Task<string> CreateReferenceTableAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var table = $"{schema}.ref_events";
        await BenchDatabase.ExecuteAsync(dataSource, $"create table {table} (like {schema}.events including all)", cancellationToken);
        return table;
    }

    /// <summary>Runs <c>psql -c "\copy {table} ({EventColumns}) from '{csv}' with (format csv)"</c> and times it.</summary>
    public static async Task<Measurement> RunAsync(NpgsqlDataSource dataSource, NpgsqlConnectionStringBuilder builder, string table, string csv, int count, ProgressLog log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(csv);
        ArgumentNullException.ThrowIfNull(log);
        if (csv.Contains('\'', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The temporary file path {csv} contains a quote; set TMPDIR to another directory.");
        }

        var start = new ProcessStartInfo("psql")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", $"\\copy {table} ({EventColumns}) from '{csv}' with (format csv)" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGHOST"] = builder.Host;
        start.Environment["PGPORT"] = builder.Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["PGUSER"] = builder.Username;
        start.Environment["PGPASSWORD"] = builder.Password;
        start.Environment["PGDATABASE"] = builder.Database;
        start.Environment["PGAPPNAME"] = ApplicationName;

        var checkpoints = await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken);
        log.Info($"  reference: psql \\copy {count:N0} rows ...");
        BenchDatabase.CollectGarbage();
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start psql.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        sw.Stop();
        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql \\copy failed with exit code {process.ExitCode}: {output.Trim()}");
        }

        var measurement = new Measurement(sw.Elapsed, count, await BenchDatabase.CheckpointCountAsync(dataSource, cancellationToken) - checkpoints);
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"  reference: {count:N0} rows in {sw.Elapsed.TotalSeconds:F2}s = {measurement.Rate:N0} events/s (checkpoints during the run: {measurement.Checkpoints})"));
        return measurement;
    }
}

/// <summary>Writes rows of the events table's shape (<see cref="PsqlCopy.EventColumns"/>) as CSV for <see cref="PsqlCopy"/>.</summary>
public sealed class EventCsvWriter : IDisposable
{
    private readonly StreamWriter _writer;

    public EventCsvWriter(string path)
    {
        _writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
    }

    /// <summary>One row; a null <paramref name="metadataJson"/> is SQL NULL (an empty unquoted field).</summary>
    public void Write(string tenantId, string streamId, long streamVersion, Guid eventId, string typeName, string dataJson, string? metadataJson, DateTimeOffset occurredAt)
    {
        Field(tenantId).Write(',');
        Field(streamId).Write(',');
        _writer.Write(streamVersion.ToString(CultureInfo.InvariantCulture));
        _writer.Write(',');
        _writer.Write(eventId.ToString("D"));
        _writer.Write(',');
        Field(typeName).Write(',');
        Field(dataJson).Write(',');
        if (metadataJson is not null)
        {
            Field(metadataJson); // an empty unquoted field is NULL in CSV
        }

        _writer.Write(',');
        _writer.Write(occurredAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture));
        _writer.Write('\n');
    }

    public void Dispose() => _writer.Dispose();

    private StreamWriter Field(string value)
    {
        _writer.Write('"');
        _writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        _writer.Write('"');
        return _writer;
    }
}

using System.Collections.Concurrent;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// The data-quality counters, summed in memory and written in one batch at most once a second (and whenever the
/// report is read, or the host stops): a counter row per tenant and day would otherwise be updated, and locked,
/// by every ingest call at once. A crash loses at most a second of counts, never an event.
/// </summary>
public sealed class QualityCounters(NpgsqlDataSource dataSource, EventStoreOptions options, ILogger<QualityCounters> logger) : BackgroundService
{
    private readonly string _s = options.Schema;
    private readonly SemaphoreSlim _flush = new(1, 1);
    private readonly OutageLog _outage = new();
    private ConcurrentDictionary<(string Tenant, DateOnly Day, string Source), long[]> _daily = new();
    private ConcurrentDictionary<(string Tenant, DateOnly Day, string Reason), long> _rejects = new();
    private ConcurrentDictionary<(string Tenant, string Event), (long Count, DateTimeOffset LastSeen)> _undeclared = new();

    // received, accepted, duplicates, rejected, late, unassigned, undeclared
    public void Add(string tenantId, DateOnly day, string source, long[] counts, IReadOnlyDictionary<string, long> rejects, IReadOnlyDictionary<string, long> undeclared, DateTimeOffset seen)
    {
        var row = _daily.GetOrAdd((tenantId, day, source), _ => new long[7]);
        for (var i = 0; i < counts.Length; i++)
        {
            Interlocked.Add(ref row[i], counts[i]);
        }

        foreach (var (reason, n) in rejects)
        {
            _rejects.AddOrUpdate((tenantId, day, reason), n, (_, old) => old + n);
        }

        foreach (var (name, n) in undeclared)
        {
            _undeclared.AddOrUpdate((tenantId, name), (n, seen), (_, old) => (old.Count + n, seen > old.LastSeen ? seen : old.LastSeen));
        }
    }

    /// <summary>Writes what was counted since the last flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flush.WaitAsync(cancellationToken);
        try
        {
            var daily = Interlocked.Exchange(ref _daily, new());
            var rejects = Interlocked.Exchange(ref _rejects, new());
            var undeclared = Interlocked.Exchange(ref _undeclared, new());
            if (daily.IsEmpty && rejects.IsEmpty && undeclared.IsEmpty)
            {
                return;
            }

            await using var batch = dataSource.CreateBatch();
            foreach (var ((tenant, day, source), c) in daily.OrderBy(d => d.Key))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"""
                    insert into {_s}.ingest_daily as d (tenant_id, day, source, received, accepted, duplicates, rejected, late, unassigned, undeclared)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    on conflict (tenant_id, day, source) do update set received = d.received + excluded.received, accepted = d.accepted + excluded.accepted,
                        duplicates = d.duplicates + excluded.duplicates, rejected = d.rejected + excluded.rejected, late = d.late + excluded.late,
                        unassigned = d.unassigned + excluded.unassigned, undeclared = d.undeclared + excluded.undeclared
                    """)
                {
                    Parameters =
                    {
                        new() { Value = tenant }, new() { Value = day }, new() { Value = source }, new() { Value = c[0] }, new() { Value = c[1] },
                        new() { Value = c[2] }, new() { Value = c[3] }, new() { Value = c[4] }, new() { Value = c[5] }, new() { Value = c[6] },
                    },
                });
            }

            foreach (var ((tenant, day, reason), n) in rejects.OrderBy(r => r.Key))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"insert into {_s}.ingest_rejects as r (tenant_id, day, reason, count) values ($1, $2, $3, $4) on conflict (tenant_id, day, reason) do update set count = r.count + excluded.count")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = day }, new() { Value = reason }, new() { Value = n } },
                });
            }

            foreach (var ((tenant, name), (n, seen)) in undeclared.OrderBy(u => u.Key))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"""
                    insert into {_s}.ingest_undeclared as u (tenant_id, event_name, count, last_seen) values ($1, $2, $3, $4)
                    on conflict (tenant_id, event_name) do update set count = u.count + excluded.count, last_seen = greatest(u.last_seen, excluded.last_seen)
                    """)
                {
                    Parameters = { new() { Value = tenant }, new() { Value = name }, new() { Value = n }, new() { Value = seen } },
                });
            }

            try
            {
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
            catch
            {
                // Not written: count it again next time.
                foreach (var (key, c) in daily)
                {
                    var row = _daily.GetOrAdd(key, _ => new long[7]);
                    for (var i = 0; i < c.Length; i++)
                    {
                        Interlocked.Add(ref row[i], c[i]);
                    }
                }

                foreach (var (key, n) in rejects)
                {
                    _rejects.AddOrUpdate(key, n, (_, old) => old + n);
                }

                foreach (var (key, value) in undeclared)
                {
                    _undeclared.AddOrUpdate(key, value, (_, old) => (old.Count + value.Count, value.LastSeen > old.LastSeen ? value.LastSeen : old.LastSeen));
                }

                throw;
            }
        }
        finally
        {
            _flush.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await TryFlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await TryFlushAsync(cancellationToken);
    }

    // Counting must never take the host down: a failed flush keeps its counts for the next one.
    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
            if (_outage.Succeeded() is not null)
            {
                logger.LogInformation("Data-quality counters written again after the database was unavailable");
            }
        }
        catch (Exception ex) when (TransientStoreFailure.Is(ex))
        {
            // Tried every second: once per outage is enough.
            if (_outage.Failed())
            {
                logger.LogWarning("Data-quality counters are kept in memory until the database is back ({Failure})", ex.GetType().Name);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            logger.LogWarning("Data-quality counters not written yet: {Reason}", ex.Message);
        }
    }
}

using System.Collections.Concurrent;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Logging;
using Polly;

namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// What <see cref="HubSpotClient"/> instances (typed clients are transient) share within a process: the account →
/// company cache and the in-process side of task de-duplication. A singleton registered by <c>AddHubSpot</c>.
/// </summary>
public sealed class HubSpotClientState
{
    private const int LockStripes = 64;
    private const int MaxRememberedTasks = 10_000;

    private readonly ConcurrentDictionary<string, (string CompanyId, DateTimeOffset Expires)> _companies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskResult> _tasks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly TimeProvider _time;
    private readonly TimeSpan _companyTtl;

    internal HubSpotClientState(HubSpotOptions options, TimeProvider time, ILogger logger)
    {
        _time = time;
        _companyTtl = options.CompanyIdCacheDuration;
        TaskCreate = HubSpotResilience.TaskCreatePipeline(options, time, logger);
    }

    internal ResiliencePipeline<TaskAttempt> TaskCreate { get; }

    /// <summary>Forgets a cached mapping (for example after the company was merged or deleted in HubSpot).</summary>
    public void ForgetCompany(string accountId) => _companies.TryRemove(accountId, out _);

    internal bool TryGetCompany(string accountId, out string companyId)
    {
        if (_companies.TryGetValue(accountId, out var entry) && entry.Expires > _time.GetUtcNow())
        {
            companyId = entry.CompanyId;
            return true;
        }

        companyId = "";
        return false;
    }

    internal void RememberCompany(string accountId, string companyId) =>
        _companies[accountId] = (companyId, _time.GetUtcNow() + _companyTtl);

    internal bool TryGetTask(string dedupeKey, out TaskResult result) => _tasks.TryGetValue(dedupeKey, out result!);

    internal void RememberTask(string dedupeKey, TaskResult result)
    {
        if (_tasks.Count >= MaxRememberedTasks)
        {
            // Only a shortcut: HubSpot stays the source of truth, so dropping everything is safe.
            _tasks.Clear();
        }

        _tasks[dedupeKey] = result;
    }

    /// <summary>Serializes work on one dedupe key within the process (striped, so memory stays bounded).</summary>
    internal async Task<Releaser> LockAsync(string dedupeKey, CancellationToken cancellationToken)
    {
        var stripe = _stripes[(StringComparer.Ordinal.GetHashCode(dedupeKey) & int.MaxValue) % LockStripes];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(stripe);
    }

    internal readonly struct Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }
}

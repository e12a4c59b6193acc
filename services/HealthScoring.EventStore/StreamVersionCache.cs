using System.Collections.Concurrent;

namespace HealthScoring.EventStore;

/// <summary>
/// The versions this store committed last, per stream: a guess at each stream's current version, never trusted.
/// A reservation made from it updates a stream's row only where the row is still at that version, so a stale entry
/// (another process wrote the stream, or the tables were emptied) costs a retry, never a wrong version.
/// </summary>
internal sealed class StreamVersionCache(int capacity = StreamVersionCache.DefaultCapacity)
{
    /// <summary>Enough for every account of a large tenant; about 100 bytes an entry.</summary>
    public const int DefaultCapacity = 200_000;

    private readonly ConcurrentDictionary<(string Tenant, string Stream), long> _versions = new();

    public bool TryGet(string tenantId, string streamId, out long version) => _versions.TryGetValue((tenantId, streamId), out version);

    /// <summary>Records the versions a transaction has just committed.</summary>
    public void Remember(string tenantId, IReadOnlyDictionary<string, long> versions)
    {
        if (_versions.Count + versions.Count > capacity)
        {
            // Rarely reached: starting over costs one reading reservation per stream, and keeps the memory bounded.
            _versions.Clear();
        }

        foreach (var (stream, version) in versions)
        {
            _versions[(tenantId, stream)] = version;
        }
    }

    public void Forget(string tenantId, IEnumerable<string> streamIds)
    {
        foreach (var stream in streamIds)
        {
            _versions.TryRemove((tenantId, stream), out _);
        }
    }
}

/// <summary>A reservation from <see cref="StreamVersionCache"/> found a stream at another version: nothing was written.</summary>
internal sealed class StaleStreamVersionsException() : Exception("A stream was not at the version this store last committed.");

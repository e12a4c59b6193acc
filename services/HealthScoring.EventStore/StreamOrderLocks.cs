namespace HealthScoring.EventStore;

/// <summary>
/// Transaction-scoped advisory locks that an append takes on its streams before it writes anything. The log is
/// ordered by transaction id, and PostgreSQL gives a transaction its id at its first write: an append that waited
/// on a stream's row while already holding an id (from another row it had locked or inserted) would be numbered
/// after the append it waited for, yet sort before it in the log. Advisory locks take no transaction id, so an
/// append that has to wait for another on a stream does so before it has one, and its id comes after the other's.
/// Claims (see <see cref="StreamVersionClaims"/>) hold them shared from before their id to their commit; among
/// themselves they keep the log's order by taking their ids in the order they are numbered, and by a check of
/// each stream row's last writer.
/// </summary>
/// <remarks>
/// Streams share <see cref="Buckets"/> locks per schema, keyed by a hash that is the same in every process, so that an
/// append of thousands of streams takes at most that many locks (PostgreSQL's lock table is sized for tens per
/// transaction). Two appends whose streams share only a bucket wait for each other, as if they shared a stream.
/// </remarks>
internal static class StreamOrderLocks
{
    public const int Buckets = 256;

    /// <summary>
    /// Takes the locks of the buckets in <c>$2</c> (from <see cref="BucketsOf"/>, ascending, so that two appends cannot
    /// deadlock on them) in the key space <c>$1</c> (<see cref="Space"/>), until the transaction ends. An append that
    /// locks its streams' rows first takes them exclusive; a claim takes them shared, so that one store's claims in
    /// flight never wait for each other here, but wait for (and are waited for by) any append that locks first.
    /// </summary>
    public static string Sql(bool shared) => shared
        ? "select pg_advisory_xact_lock_shared($1, b) from unnest($2::int[]) as b"
        : "select pg_advisory_xact_lock($1, b) from unnest($2::int[]) as b";

    /// <summary>The first key of the locks: one key space per schema (the two-key form never meets the one-key locks of leadership and migrations).</summary>
    public static int Space(string schema) => (int)Fnv(FnvOffset, schema);

    /// <summary>The buckets of <paramref name="streams"/>, distinct and in ascending order.</summary>
    public static int[] BucketsOf(string tenantId, IEnumerable<string> streams)
    {
        var tenant = Fnv(Fnv(FnvOffset, tenantId), "\0");
        var buckets = new SortedSet<int>();
        foreach (var stream in streams)
        {
            buckets.Add((int)(Fnv(tenant, stream) % Buckets));
        }

        return [.. buckets];
    }

    private const uint FnvOffset = 2166136261;

    /// <summary>FNV-1a over the string's UTF-16 code units: stable across processes and .NET versions, unlike string.GetHashCode.</summary>
    private static uint Fnv(uint hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return hash;
    }
}

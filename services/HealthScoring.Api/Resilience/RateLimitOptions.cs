namespace HealthScoring.Api.Resilience;

/// <summary>
/// Back-pressure settings, section <c>RateLimits</c> (env: <c>RateLimits__Ingest__EventsPerSecond</c>, ...). The defaults
/// never limit the demo (1.2 M events at about 20k/s over 4 concurrent batches) or the benchmarks; a value of 0 turns
/// that limit off.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section: <c>RateLimits</c>.</summary>
    public const string SectionName = "RateLimits";

    /// <summary>Limits on sending events, per key (write or API key) and per host.</summary>
    public IngestLimits Ingest { get; set; } = new();

    /// <summary>Limits on the query API, per API key.</summary>
    public ApiLimits Api { get; set; } = new();

    /// <summary>Ingest limits: a token bucket per key counted in events (a batch of 500 costs 500), and a bound on concurrent requests per host.</summary>
    public sealed class IngestLimits
    {
        /// <summary>Events per second each key may send, sustained (fractions allowed: 0.5 is one every two seconds).</summary>
        public double EventsPerSecond { get; set; } = 50_000;

        /// <summary>Events a key may send at once above the sustained rate (the bucket's size).</summary>
        public int Burst { get; set; } = 100_000;

        /// <summary>Ingest requests (HTTP calls, gRPC messages) this host works on at once.</summary>
        public int MaxConcurrentRequests { get; set; } = 64;

        /// <summary>Requests that may wait for one of those slots; beyond, the answer is 503 / UNAVAILABLE with a retry hint.</summary>
        public int QueueLimit { get; set; } = 512;
    }

    /// <summary>Query API limits: a token bucket per API key counted in requests (REST and gRPC alike).</summary>
    public sealed class ApiLimits
    {
        /// <summary>Requests per second each API key may make, sustained.</summary>
        public double RequestsPerSecond { get; set; } = 100;

        /// <summary>Requests a key may make at once above the sustained rate.</summary>
        public int Burst { get; set; } = 200;
    }
}

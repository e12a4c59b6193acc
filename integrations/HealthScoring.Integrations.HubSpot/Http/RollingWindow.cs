namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>
/// An exact rolling-window count of requests as HubSpot sees them. HubSpot counts a request when it arrives, which
/// we cannot observe; we only know it arrived after we sent it and before its answer came back. So a request
/// occupies a slot from the moment it is sent until <c>length</c> after its answer (or failure). With at most
/// <c>limit</c> slots, any two requests <c>limit</c> apart arrive at least <c>length</c> apart, whatever the
/// network delays: no span of <c>length</c> at HubSpot can hold more than <c>limit</c> of our requests.
/// Not thread-safe: <see cref="HubSpotRateLimiter"/> guards it.
/// </summary>
internal sealed class RollingWindow(int limit, TimeSpan length, TimeProvider time)
{
    // Finish times in the order they happened (so the oldest is at the head).
    private readonly Queue<long> _finished = new();
    private int _inFlight;

    public int Limit => limit;

    /// <summary>
    /// Zero when a request may start at <paramref name="now"/>; otherwise how long until a slot frees up, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> when every slot is held by a request still in flight.
    /// </summary>
    public TimeSpan WaitAt(long now)
    {
        while (_finished.Count > 0 && time.GetElapsedTime(_finished.Peek(), now) >= length)
        {
            _finished.Dequeue();
        }

        if (_inFlight + _finished.Count < limit)
        {
            return TimeSpan.Zero;
        }

        return _finished.Count > 0 ? length - time.GetElapsedTime(_finished.Peek(), now) : Timeout.InfiniteTimeSpan;
    }

    public void Start() => _inFlight++;

    public void Finish(long now)
    {
        _inFlight--;
        _finished.Enqueue(now);
    }
}

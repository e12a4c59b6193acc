namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>
/// The innermost handler: every attempt, retries included, takes a slot of the shared limiter before it is sent
/// and gives it back (to count down) when its answer headers are in.
/// </summary>
internal sealed class HubSpotRateLimitHandler(HubSpotRateLimiter limiter) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var slot = await limiter
            .AcquireAsync(HubSpotRequests.IsSearch(request), request.Method.Method, HubSpotRequests.PathOf(request), cancellationToken)
            .ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}

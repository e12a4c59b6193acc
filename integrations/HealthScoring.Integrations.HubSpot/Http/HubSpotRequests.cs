namespace HealthScoring.Integrations.HubSpot.Http;

/// <summary>Per-request markers the handlers read.</summary>
internal static class HubSpotRequests
{
    /// <summary>
    /// Set to false on a create that must not be re-sent blindly after a timeout or 5xx (HubSpot may have carried it
    /// out); the caller checks what exists and decides. 429s are still retried: a rate-limited request was not run.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> RetryAmbiguousFailures = new("HubSpot.RetryAmbiguousFailures");

    public static bool RetriesAmbiguousFailures(HttpRequestMessage request) =>
        !request.Options.TryGetValue(RetryAmbiguousFailures, out var retry) || retry;

    public static bool IsSearch(HttpRequestMessage request) =>
        request.Method == HttpMethod.Post && request.RequestUri?.AbsolutePath.EndsWith("/search", StringComparison.Ordinal) == true;

    public static string PathOf(HttpRequestMessage? request) => request?.RequestUri switch
    {
        { IsAbsoluteUri: true } uri => uri.AbsolutePath,
        { } uri => "/" + uri.OriginalString.Split('?')[0].TrimStart('/'),
        null => "",
    };
}

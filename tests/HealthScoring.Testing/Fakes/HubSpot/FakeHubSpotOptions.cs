namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>
/// How the fake HubSpot behaves. Defaults follow shared/docs/integrations-api-notes.md (private app, Professional
/// plan); tests lower the limits to reach them quickly.
/// </summary>
public sealed class FakeHubSpotOptions
{
    /// <summary>The private-app token the fake accepts; a random <c>pat-</c> token unless set.</summary>
    public string AccessToken { get; init; } = $"pat-na1-{Guid.NewGuid()}";

    /// <summary>Requests allowed in any rolling 10-second window (190 for Professional and Enterprise private apps).</summary>
    public int BurstLimit { get; init; } = 190;

    /// <summary>Requests allowed per day (650,000 for Professional); the count resets at midnight UTC.</summary>
    public long DailyLimit { get; init; } = 650_000;

    /// <summary>CRM search requests allowed per second per token (4 in the notes; newer docs may say 5).</summary>
    public int SearchRequestsPerSecond { get; init; } = 4;

    /// <summary>
    /// Whether a 429 carries <c>Retry-After</c>. The notes leave it unconfirmed, so it is off by default and the
    /// client must cope with the <c>X-HubSpot-RateLimit-*</c> headers alone.
    /// </summary>
    public bool SendRetryAfter { get; init; }

    /// <summary>Most inputs one batch call takes (100 is the figure in common use).</summary>
    public int MaxBatchInputs { get; init; } = 100;

    /// <summary>Largest search page (<c>limit</c>); the notes' secondary sources say 200.</summary>
    public int MaxSearchLimit { get; init; } = 200;

    /// <summary>How deep one search query may page (<c>after + limit</c>); deeper is a 400.</summary>
    public int MaxSearchResults { get; init; } = 10_000;
}

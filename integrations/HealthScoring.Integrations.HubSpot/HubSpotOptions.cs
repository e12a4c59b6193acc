namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// Settings of the HubSpot integration, bound from the <c>HubSpot</c> configuration section (the token also from the
/// <c>HubSpot__AccessToken</c> environment variable). Without an <see cref="AccessToken"/> the integration is off.
/// </summary>
public sealed class HubSpotOptions
{
    public const string SectionName = "HubSpot";

    /// <summary>HubSpot's API root.</summary>
    public Uri BaseUrl { get; set; } = new("https://api.hubapi.com");

    /// <summary>The private-app token, sent as <c>Authorization: Bearer …</c> and never logged.</summary>
    public string? AccessToken { get; set; }

    /// <summary>
    /// Client-side cap on requests (every attempt, retries included) in any rolling 10 seconds. Keep it below the
    /// portal's burst limit: 100 for Free/Starter and public apps, 190 for Professional/Enterprise private apps,
    /// 250 with the limit-increase pack. The default (90) is safe on every tier.
    /// </summary>
    public int MaxRequestsPer10Seconds { get; set; } = 90;

    /// <summary>Client-side cap on CRM search requests per second (HubSpot allows 4 per token).</summary>
    public int MaxSearchRequestsPerSecond { get; set; } = 3;

    /// <summary>
    /// Optional client-side cap on requests per UTC day; once reached, calls fail with a daily-limit
    /// <see cref="HubSpotApiException"/> without being sent. HubSpot resets its own count at midnight in the account's
    /// time zone, so leave headroom.
    /// </summary>
    public long? DailyLimit { get; set; }

    /// <summary>The company property that holds our account id.</summary>
    public string CompanyIdProperty { get; set; } = "healthscoring_account_id";

    /// <summary>The company property naming the company owner (assignee of alert tasks).</summary>
    public string CompanyOwnerProperty { get; set; } = "hubspot_owner_id";

    /// <summary>The company property group our properties live in.</summary>
    public string PropertyGroup { get; set; } = "healthscoring";

    /// <summary>The group's label in HubSpot's UI.</summary>
    public string PropertyGroupLabel { get; set; } = "HealthScoring";

    /// <summary>Inputs per batch update request (HubSpot takes at most 100).</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Retries after a 5xx, a timeout or a connection failure (jittered exponential backoff).</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First backoff delay; it doubles per attempt (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest single wait between attempts, whatever HubSpot's headers say.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after a burst-limit 429 (a daily-limit 429 is never retried).</summary>
    public int MaxRateLimitRetries { get; set; } = 6;

    /// <summary>How long one attempt may take before it is abandoned and retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an account → company mapping is remembered.</summary>
    public TimeSpan CompanyIdCacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Due date of an alert task, counted from its creation, unless the request gives one.</summary>
    public TimeSpan TaskDueAfter { get; set; } = TimeSpan.FromDays(1);

    /// <summary>True when an access token is configured.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(AccessToken);

    /// <summary>Says whether a token is set, never the token.</summary>
    public override string ToString() =>
        $"HubSpot {BaseUrl} (token {(IsEnabled ? "set" : "absent")}, {MaxRequestsPer10Seconds} requests per 10 s, company id property {CompanyIdProperty})";
}

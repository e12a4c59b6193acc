namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// Settings of <see cref="StripeClient"/>, bound from the <c>Stripe</c> configuration section (so the key comes from
/// <c>Stripe__SecretKey</c> in the environment). Without a secret key the integration is off.
/// </summary>
public sealed class StripeOptions
{
    public const string SectionName = "Stripe";

    /// <summary>Scheme and host; request paths start with <c>v1/</c>. Tests point it at the fake.</summary>
    public string BaseUrl { get; set; } = "https://api.stripe.com";

    /// <summary><c>sk_…</c> or a restricted <c>rk_…</c> key. Never logged; <see cref="ToString"/> hides it.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Sent as <c>Stripe-Version</c>, so payloads keep the shape the parser reads whatever the account's default is.</summary>
    public string ApiVersion { get; set; } = "2025-04-30.basil";

    /// <summary>Retries after the first attempt (the Stripe SDK's default is 2).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry waits about this long; each further one twice as long, with 75–100 % jitter.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Per attempt; a timed-out attempt is retried (POSTs carry an idempotency key, so that is safe).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(80);

    /// <summary><c>limit</c> of list calls, 1–100.</summary>
    public int PageSize { get; set; } = 100;

    public bool IsEnabled => !string.IsNullOrWhiteSpace(SecretKey);

    public override string ToString() =>
        $"StripeOptions {{ BaseUrl = {BaseUrl}, SecretKey = {(IsEnabled ? "(set)" : "(none)")}, ApiVersion = {ApiVersion}, MaxRetries = {MaxRetries} }}";
}

using System.Net.Http.Headers;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HealthScoring.Integrations.HubSpot;

public static class HubSpotServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="HubSpotClient"/> (also as <see cref="IHubSpotClient"/>) as a typed HttpClient with options from the <c>HubSpot</c> section (the
    /// token may come from <c>HubSpot__AccessToken</c>). Per request: Polly (429 / 5xx / timeout
    /// retries); per attempt: a slot of the shared client-side rate limiter, then the network under the attempt timeout. Header values are
    /// redacted from HttpClient logs. Without a token everything is still registered but
    /// <see cref="HubSpotIntegrationStatus.IsEnabled"/> is false and one log line says so.
    /// </summary>
    public static IServiceCollection AddHubSpot(this IServiceCollection services, IConfiguration configuration, Action<HubSpotOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(HubSpotOptions.SectionName);
        var options = services.AddOptions<HubSpotOptions>().Configure(o => section.Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HubSpotOptions>, HubSpotOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HubSpotIntegrationStatus>();
        services.TryAddSingleton(sp => new HubSpotClientState(
            Options(sp), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<HubSpotClientState>>()));
        services.TryAddSingleton(sp => new HubSpotRateLimiter(Options(sp), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new HubSpotResilience(
            Options(sp), sp.GetRequiredService<HubSpotRateLimiter>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<HubSpotResilience>>()));

        services.AddHttpClient<HubSpotClient>((sp, http) =>
            {
                var settings = Options(sp);
                var root = settings.BaseUrl.AbsoluteUri;
                http.BaseAddress = new Uri(root.EndsWith('/') ? root : root + "/");
                // Attempts are timed by Polly; the caller's token bounds the whole call.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (settings.IsEnabled)
                {
                    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.AccessToken!.Trim());
                }
            })
            .AddHttpMessageHandler(sp => new HubSpotResilienceHandler(sp.GetRequiredService<HubSpotResilience>()))
            .RedactLoggedHeaders(_ => true);
        services.TryAddTransient<IHubSpotClient>(sp => sp.GetRequiredService<HubSpotClient>());
        return services;
    }

    private static HubSpotOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<HubSpotOptions>>().Value;
}

/// <summary>Refuses settings that would break the client or HubSpot's limits (only when the integration is on).</summary>
internal sealed class HubSpotOptionsValidator : IValidateOptions<HubSpotOptions>
{
    public ValidateOptionsResult Validate(string? name, HubSpotOptions options)
    {
        if (!options.IsEnabled)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        if (options.BaseUrl is not { IsAbsoluteUri: true })
        {
            problems.Add("HubSpot:BaseUrl must be an absolute URL.");
        }

        if (options.MaxRequestsPer10Seconds is < 1 or >= 250)
        {
            problems.Add("HubSpot:MaxRequestsPer10Seconds must be 1–249, below the portal's burst limit (100, 190 or 250 per 10 s).");
        }

        if (options.MaxSearchRequestsPerSecond is < 1 or > 4)
        {
            problems.Add("HubSpot:MaxSearchRequestsPerSecond must be 1–4 (HubSpot allows 4 search requests per second).");
        }

        if (options.DailyLimit is <= 0)
        {
            problems.Add("HubSpot:DailyLimit must be positive when set.");
        }

        if (options.BatchSize is < 1 or > 100)
        {
            problems.Add("HubSpot:BatchSize must be 1–100.");
        }

        if (string.IsNullOrWhiteSpace(options.CompanyIdProperty) || string.IsNullOrWhiteSpace(options.CompanyOwnerProperty)
            || string.IsNullOrWhiteSpace(options.PropertyGroup))
        {
            problems.Add("HubSpot:CompanyIdProperty, CompanyOwnerProperty and PropertyGroup must be set.");
        }

        if (options.MaxRetryAttempts is < 0 or > 10 || options.MaxRateLimitRetries is < 0 or > 20)
        {
            problems.Add("HubSpot:MaxRetryAttempts must be 0–10 and MaxRateLimitRetries 0–20.");
        }

        if (options.RetryBaseDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.RetryBaseDelay)
        {
            problems.Add("HubSpot:RetryBaseDelay must be positive and MaxRetryDelay at least as long.");
        }

        if (options.AttemptTimeout < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("HubSpot:AttemptTimeout must be at least 10 ms.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

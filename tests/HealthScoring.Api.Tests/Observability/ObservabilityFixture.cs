using HealthScoring.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests.Observability;

/// <summary>The host with a scrape token, and every log entry of every category (Trace and up) captured with its scopes.</summary>
public sealed class ObservabilityFixture : ApiFixture
{
    public string ScrapeToken { get; } = $"scrape-{Guid.NewGuid():N}";

    public LogCapture Logs { get; } = new();

    public HttpClient Scraper(string? token = null)
    {
        var client = Client();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token ?? ScrapeToken);
        return client;
    }

    public async Task<PrometheusText> ScrapeAsync(CancellationToken cancellationToken)
    {
        using var client = Scraper();
        using var response = await client.GetAsync("/metrics", cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(text);
    }

    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("Metrics:ScrapeToken", ScrapeToken);
        web.ConfigureLogging(logging => logging.AddProvider(Logs).AddFilter<LogCapture>(null, LogLevel.Trace));
    }
}

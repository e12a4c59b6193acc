using System.Diagnostics;

namespace HealthScoring.Api.Observability;

/// <summary>
/// Counts each HTTP request an integration's client sends (every attempt, retries included, as it sits inside the
/// client's own retry handlers) by integration and status class, and times it. Nothing of the request is recorded.
/// </summary>
public sealed class IntegrationCallMetricsHandler(HealthScoringMetrics metrics, string integration) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
            return response;
        }
        finally
        {
            metrics.RecordIntegrationCall(integration, response is null ? null : (int)response.StatusCode, started);
        }
    }
}

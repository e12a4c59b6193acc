using System.Net;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// When and how <see cref="StripeClient"/> retries, following the Stripe .NET SDK: a <c>Stripe-Should-Retry</c>
/// header decides when present (<c>true</c> retries even a 4xx, <c>false</c> never retries); otherwise network errors,
/// timeouts, 409, 429 and 5xx are retried. Delays are <see cref="StripeOptions.InitialRetryDelay"/> × 2ⁿ, capped at
/// <see cref="StripeOptions.MaxRetryDelay"/>, with 75–100 % jitter; a <c>Retry-After</c> longer than that is honoured
/// up to a minute.
/// </summary>
public static class StripeRetryPolicy
{
    public const string ShouldRetryHeader = "Stripe-Should-Retry";

    internal static readonly ResiliencePropertyKey<string> OperationKey = new("stripe.operation");

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(1);

    /// <summary>Whether a response is worth another attempt.</summary>
    public static bool ShouldRetry(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Headers.TryGetValues(ShouldRetryHeader, out var values))
        {
            var value = values.FirstOrDefault()?.Trim();
            if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        var status = (int)response.StatusCode;
        return status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.TooManyRequests or >= 500;
    }

    /// <summary>No response came: a connection error or a timeout, but not the caller cancelling.</summary>
    public static bool IsTransportFailure(Exception exception, CancellationToken callerToken) => exception switch
    {
        HttpRequestException or TimeoutRejectedException or IOException => true,
        OperationCanceledException => !callerToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>The delay before retry number <paramref name="attempt"/> (0 for the first retry).</summary>
    public static TimeSpan Delay(StripeOptions options, int attempt, HttpResponseMessage? response, double jitter)
    {
        ArgumentNullException.ThrowIfNull(options);
        var exponential = options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var delay = TimeSpan.FromMilliseconds(Math.Min(exponential, options.MaxRetryDelay.TotalMilliseconds) * (0.75 + (0.25 * Math.Clamp(jitter, 0, 1))));
        if (response?.Headers.RetryAfter is { } retryAfter)
        {
            var wanted = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : TimeSpan.Zero);
            if (wanted > delay)
            {
                delay = wanted < MaxRetryAfter ? wanted : MaxRetryAfter;
            }
        }

        return delay;
    }

    internal static ResiliencePipeline<HttpResponseMessage> Build(StripeOptions options, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: { } ex } => IsTransportFailure(ex, args.Context.CancellationToken),
                    { Result: { } response } => ShouldRetry(response),
                    _ => false,
                }),
#pragma warning disable CA5394 // Jitter spreads retries out; it protects nothing, so a predictable generator is fine.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Delay(options, args.AttemptNumber, args.Outcome.Result, Random.Shared.NextDouble())),
#pragma warning restore CA5394
                OnRetry = args =>
                {
                    var operation = args.Context.Properties.GetValue(OperationKey, "Stripe call");
                    var reason = args.Outcome.Exception is { } ex ? ex.GetType().Name : $"HTTP {(int)args.Outcome.Result!.StatusCode}";
                    logger.LogWarning(
                        "Stripe {Operation} failed ({Reason}); retry {Retry} of {MaxRetries} in {DelayMs} ms",
                        operation,
                        reason,
                        args.AttemptNumber + 1,
                        options.MaxRetries,
                        (long)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.AddTimeout(options.RequestTimeout).Build();
    }
}

using HealthScoring.Api.Grpc;

namespace HealthScoring.Api.Resilience;

/// <summary>
/// A request refused for now, not for good: rate limited (HTTP 429 / RESOURCE_EXHAUSTED), or the host is overloaded or
/// its database unavailable (503 / UNAVAILABLE). Nothing of the request was acknowledged; the client should send it
/// again after <see cref="RetryAfter"/> (messageIds make a repeat store nothing twice).
/// </summary>
public sealed class RetryLaterException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RetryLaterException(int httpStatus, string title, string detail, TimeSpan retryAfter, Exception? inner = null)
        : base(detail, inner)
    {
        HttpStatus = httpStatus;
        Title = title;
        RetryAfter = retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter;
    }

    /// <summary>429 (rate limited) or 503 (overloaded, database unavailable).</summary>
    public int HttpStatus { get; }

    /// <summary>The problem's title.</summary>
    public string Title { get; }

    /// <summary>How long the client should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>The <c>Retry-After</c> header's value: whole seconds, rounded up, at least 1.</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));

    /// <summary>The gRPC status of the same meaning: RESOURCE_EXHAUSTED for 429, UNAVAILABLE otherwise.</summary>
    public GrpcException ToGrpc() =>
        new(HttpStatus == StatusCodes.Status429TooManyRequests ? Grpc.StatusCode.ResourceExhausted : Grpc.StatusCode.Unavailable, $"{Title}: {Message}", retryAfter: RetryAfter);
}

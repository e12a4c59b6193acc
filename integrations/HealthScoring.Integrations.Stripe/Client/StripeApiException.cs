namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// A Stripe call that failed for good (after any retries): Stripe's error <see cref="Type"/>, <see cref="Code"/>,
/// message and <see cref="Param"/> when it sent its error body, or <c>api_connection_error</c> when no response
/// came. The message never contains the API key.
/// </summary>
public class StripeApiException : Exception
{
    public StripeApiException()
    {
    }

    public StripeApiException(string message)
        : base(message)
    {
    }

    public StripeApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StripeApiException(
        string message,
        int? statusCode,
        string? type,
        string? code = null,
        string? param = null,
        string? stripeMessage = null,
        string? requestId = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Type = type;
        Code = code;
        Param = param;
        StripeMessage = stripeMessage;
        RequestId = requestId;
    }

    /// <summary>The HTTP status; null when no response came (network error, timeout).</summary>
    public int? StatusCode { get; }

    /// <summary><c>error.type</c>: <c>api_error</c>, <c>card_error</c>, <c>idempotency_error</c>, <c>invalid_request_error</c>; <c>api_connection_error</c> without a response.</summary>
    public string? Type { get; }

    /// <summary><c>error.code</c>, for example <c>resource_missing</c> or <c>rate_limit</c>.</summary>
    public string? Code { get; }

    /// <summary><c>error.param</c>: the request parameter at fault.</summary>
    public string? Param { get; }

    /// <summary><c>error.message</c> as Stripe wrote it.</summary>
    public string? StripeMessage { get; }

    /// <summary>The <c>Request-Id</c> response header, for Stripe support.</summary>
    public string? RequestId { get; }

    public bool IsIdempotencyError => string.Equals(Type, "idempotency_error", StringComparison.Ordinal);
}

/// <summary>A call on a <see cref="StripeClient"/> that has no secret key.</summary>
public sealed class StripeDisabledException : InvalidOperationException
{
    public StripeDisabledException()
        : base("The Stripe integration is off: no secret key is configured (set Stripe__SecretKey).")
    {
    }

    public StripeDisabledException(string message)
        : base(message)
    {
    }

    public StripeDisabledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

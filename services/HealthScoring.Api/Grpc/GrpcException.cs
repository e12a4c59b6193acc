namespace HealthScoring.Api.Grpc;

/// <summary>
/// Thrown by a handler to end the call with a status (the stand-in for <c>Grpc.Core.RpcException</c>). The layer
/// writes <c>grpc-status</c>, the percent-encoded <c>grpc-message</c> and, when <see cref="Details"/> is set,
/// <c>grpc-status-details-bin</c> (the "richer error model" that <c>Grpc.StatusProto</c> and grpcio's
/// <c>grpc_status</c> read).
/// </summary>
public sealed class GrpcException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">Any code but <see cref="StatusCode.Ok"/>.</param>
    /// <param name="message">Sent to the client as <c>grpc-message</c>: write it for the caller, never put secrets in it.</param>
    /// <param name="details">
    /// Optional rich details (e.g. a packed <c>Google.Rpc.BadRequest</c>). A copy is sent whose <c>code</c> and
    /// <c>message</c> are set to <paramref name="statusCode"/> and <paramref name="message"/>, because clients
    /// reject details that disagree with the status.
    /// </param>
    /// <param name="retryAfter">
    /// For a status the client may retry (UNAVAILABLE, RESOURCE_EXHAUSTED): how long it should wait first, sent as
    /// <c>grpc-retry-pushback-ms</c> (gRPC's retry policy honours it) and <c>retry-after</c> (whole seconds, as HTTP's header).
    /// </param>
    public GrpcException(StatusCode statusCode, string message, Google.Rpc.Status? details = null, TimeSpan? retryAfter = null)
        : base(message)
    {
        if (statusCode == StatusCode.Ok)
        {
            throw new ArgumentException("A GrpcException ends a call with an error; return normally for OK.", nameof(statusCode));
        }

        StatusCode = statusCode;
        Details = details is null ? null : new Google.Rpc.Status(details) { Code = (int)statusCode, Message = message };
        RetryAfter = retryAfter;
    }

    /// <summary>How long the client should wait before retrying, if the call may be retried.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The status the call ends with.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The rich status sent as <c>grpc-status-details-bin</c>, if any; its code and message equal the status.</summary>
    public Google.Rpc.Status? Details { get; }
}

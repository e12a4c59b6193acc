namespace HealthScoring.Api.Grpc;

/// <summary>Settings of the gRPC layer, bound from the configuration section <c>Grpc</c>.</summary>
public sealed class GrpcOptions
{
    /// <summary>The configuration section: <c>Grpc</c> (env: <c>Grpc__Url</c>, <c>Grpc__MaxReceiveMessageSize</c>, ...).</summary>
    public const string SectionName = "Grpc";

    /// <summary>Largest request message accepted, in bytes (gRPC's default: 4 MiB). Larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message sent, in bytes (gRPC's default: 4 MiB). Larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The dedicated cleartext HTTP/2 (h2c) endpoint that <c>ConfigureGrpcEndpoint()</c> adds; an <c>https://</c> URL
    /// gets TLS with ALPN instead.
    /// </summary>
    public string Url { get; set; } = "http://127.0.0.1:5081";
}

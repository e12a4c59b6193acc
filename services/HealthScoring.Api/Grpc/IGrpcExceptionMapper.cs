namespace HealthScoring.Api.Grpc;

/// <summary>
/// Turns an exception a handler did not expect into a status (the stand-in for a Grpc.AspNetCore interceptor that
/// catches and rethrows as <c>RpcException</c>). Registered in DI; the layer asks each mapper in turn before it falls
/// back to INTERNAL. A mapper that recognises the exception logs it as it sees fit; the layer does not.
/// </summary>
public interface IGrpcExceptionMapper
{
    /// <summary>The status to end the call with, or null to leave <paramref name="exception"/> to the next mapper (or INTERNAL).</summary>
    GrpcException? Map(Exception exception);
}

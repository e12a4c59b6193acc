using Google.Protobuf;
using Microsoft.AspNetCore.Routing.Patterns;

namespace HealthScoring.Api.Grpc;

/// <summary>
/// Maps gRPC methods to endpoints at <c>/{service}/{method}</c>, POST only (the stand-in for
/// <c>MapGrpcService&lt;T&gt;()</c>). Each call returns the endpoint's convention builder, so the host can chain
/// <c>.RequireAuthorization()</c>, <c>.AllowAnonymous()</c>, <c>.RequireHost("*:5081")</c> and the like.
/// </summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>Maps a unary method: one request message in, one response message out.</summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="service">The full service name, e.g. <c>healthscoring.v1.Ingest</c>.</param>
    /// <param name="method">The method name, e.g. <c>RecordUsage</c>.</param>
    /// <param name="handler">Returns the response, or throws <see cref="GrpcException"/> to end with another status.</param>
    public static IEndpointConventionBuilder MapGrpcUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, Func<TRequest, GrpcCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        var parser = new MessageParser<TRequest>(() => new TRequest());
        return MapMethod(endpoints, service, method, async call =>
        {
            var request = await call.ReadSingleMessageAsync(parser);
            var response = await handler(request, call.Context);
            await call.WriteMessageAsync(response, flush: false);
        });
    }

    /// <summary>Maps a client-streaming method: request messages as they arrive in, one response message out.</summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="service">The full service name, e.g. <c>healthscoring.v1.Ingest</c>.</param>
    /// <param name="method">The method name.</param>
    /// <param name="handler">
    /// Enumerates the requests (malformed or oversized ones throw <see cref="GrpcException"/> from the enumeration)
    /// and returns the response.
    /// </param>
    public static IEndpointConventionBuilder MapGrpcClientStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, Func<IAsyncEnumerable<TRequest>, GrpcCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        var parser = new MessageParser<TRequest>(() => new TRequest());
        return MapMethod(endpoints, service, method, async call =>
        {
            var response = await handler(call.ReadAllMessagesAsync(parser), call.Context);
            await call.WriteMessageAsync(response, flush: false);
        });
    }

    /// <summary>Maps a server-streaming method: one request message in, response messages written as they are produced.</summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="service">The full service name, e.g. <c>healthscoring.v1.Ingest</c>.</param>
    /// <param name="method">The method name.</param>
    /// <param name="handler">
    /// Writes the responses; returning ends the call with OK, throwing ends it with a status even after some
    /// messages were sent.
    /// </param>
    public static IEndpointConventionBuilder MapGrpcServerStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, Func<TRequest, IServerStreamWriter<TResponse>, GrpcCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        var parser = new MessageParser<TRequest>(() => new TRequest());
        return MapMethod(endpoints, service, method, async call =>
        {
            var request = await call.ReadSingleMessageAsync(parser);
            await handler(request, new StreamWriter<TResponse>(call), call.Context);
        });
    }

    /// <summary>
    /// Answers every other gRPC request (POST, <c>content-type: application/grpc*</c>, path <c>/{service}/{method}</c>)
    /// with status UNIMPLEMENTED, as gRPC servers do for unknown methods. Other requests are untouched: a REST POST to
    /// an unknown path still gets its 404. Map it once, after the methods.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcUnimplementedFallback(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // The constraint looks at the request's content type, so a non-gRPC request never selects this endpoint
        // (Grpc.AspNetCore uses the same trick) and routing's own 404/405 stay as they are.
        var pattern = RoutePatternFactory.Parse(
            "/{service}/{method}", defaults: null, parameterPolicies: new RouteValueDictionary { ["service"] = new GrpcRequestConstraint() });
        RequestDelegate unimplemented = http => GrpcCall.RunAsync(
            http, _ => Task.FromException(new GrpcException(StatusCode.Unimplemented, $"Method {http.Request.Path} is unimplemented.")));
        var builder = endpoints.Map(pattern, unimplemented)
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Post]))
            .WithDisplayName("gRPC unimplemented fallback");

        // Lowest priority, so that a host route like "/{a}/{b}" wins instead of becoming ambiguous.
        builder.Add(endpoint => ((RouteEndpointBuilder)endpoint).Order = int.MaxValue);
        return builder;
    }

    private static IEndpointConventionBuilder MapMethod(IEndpointRouteBuilder endpoints, string service, string method, Func<GrpcCall, Task> body)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ValidateName(service, nameof(service));
        ValidateName(method, nameof(method));
        RequestDelegate run = http => GrpcCall.RunAsync(http, body);
        return endpoints.MapPost($"/{service}/{method}", run).WithDisplayName($"gRPC /{service}/{method}");
    }

    private static void ValidateName(string name, string parameterName)
    {
        // Protobuf identifiers and dots only: anything else would be read as route-template syntax.
        ArgumentException.ThrowIfNullOrWhiteSpace(name, parameterName);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
        {
            throw new ArgumentException($"'{name}' is not a protobuf service or method name.", parameterName);
        }
    }

    private sealed class StreamWriter<T>(GrpcCall call) : IServerStreamWriter<T>
        where T : IMessage<T>
    {
        public Task WriteAsync(T message) => call.WriteMessageAsync(message, flush: true);
    }

    private sealed class GrpcRequestConstraint : IRouteConstraint
    {
        public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
            routeDirection == RouteDirection.UrlGeneration || GrpcProtocol.IsGrpcContentType(httpContext?.Request.ContentType);
    }
}

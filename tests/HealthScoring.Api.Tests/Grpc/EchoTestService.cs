using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
using Microsoft.AspNetCore.Routing;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>
/// The test-only service <c>healthscoring.test.Echo</c>, built on protobuf's wrapper types so that neither side
/// needs a compiled .proto. Each method exercises one behaviour of the layer.
/// </summary>
public sealed class EchoTestService
{
    public const string Name = "healthscoring.test.Echo";
    public const string ExpectedToken = "s3cret-token";
    public const string Secret = "Password=hunter2";

    private readonly ConcurrentDictionary<string, WaitProbe> _waits = new();

    /// <summary>What the handler of a Wait call with this id observed.</summary>
    public WaitProbe Waits(string id) => _waits.GetOrAdd(id, _ => new WaitProbe());

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGrpcUnary<StringValue, StringValue>(Name, "Echo", (request, context) =>
        {
            context.AddResponseTrailer("echo-length", request.Value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            context.AddResponseTrailer("echo-raw-bin", [0xFF, 0x00, 0x01]);
            return Task.FromResult(request);
        });

        app.MapGrpcUnary<StringValue, StringValue>(Name, "Fail", (request, _) =>
        {
            var badRequest = new Google.Rpc.BadRequest
            {
                FieldViolations = { new Google.Rpc.BadRequest.Types.FieldViolation { Field = "value", Description = request.Value } },
            };
            var details = new Google.Rpc.Status { Details = { Any.Pack(badRequest) } };
            throw new GrpcException(StatusCode.InvalidArgument, "The request is invalid.", details);
        });

        app.MapGrpcUnary<StringValue, StringValue>(Name, "Reject", (request, _) =>
            throw new GrpcException(StatusCode.FailedPrecondition, request.Value));

        app.MapGrpcUnary<StringValue, StringValue>(Name, "Whoami", (_, context) =>
            context.BearerToken == ExpectedToken
                ? Task.FromResult(new StringValue { Value = context.BearerToken })
                : throw new GrpcException(StatusCode.Unauthenticated, "A valid bearer token is required."));

        app.MapGrpcUnary<StringValue, StringValue>(Name, "Wait", async (request, context) =>
        {
            var probe = Waits(request.Value);
            probe.Started.TrySetResult(context.Deadline);
            var elapsed = Stopwatch.StartNew();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Cancelled.TrySetResult(elapsed.Elapsed);
                throw;
            }

            return new StringValue { Value = "waited" };
        });

        app.MapGrpcUnary<StringValue, StringValue>(Name, "Crash", (_, _) =>
            throw new InvalidOperationException($"Could not connect with {Secret}"));

        app.MapGrpcUnary<Int32Value, StringValue>(Name, "Fill", (request, _) =>
            Task.FromResult(new StringValue { Value = new string('x', request.Value) }));

        app.MapGrpcClientStreaming<Int32Value, Int32Value>(Name, "Sum", async (requests, context) =>
        {
            var sum = 0;
            await foreach (var request in requests.WithCancellation(context.CancellationToken))
            {
                sum += request.Value;
            }

            return new Int32Value { Value = sum };
        });

        // Writes |n| messages; a negative n then fails with an exception whose text must not reach the client.
        app.MapGrpcServerStreaming<Int32Value, StringValue>(Name, "Count", async (request, writer, _) =>
        {
            for (var i = 0; i < Math.Abs(request.Value); i++)
            {
                await writer.WriteAsync(new StringValue { Value = $"item {i}" });
            }

            if (request.Value < 0)
            {
                throw new InvalidOperationException($"Stream broke with {Secret}");
            }
        });

        // Writes one message, then waits for cancellation: shows that each message is flushed when written.
        app.MapGrpcServerStreaming<StringValue, StringValue>(Name, "Tick", async (request, writer, context) =>
        {
            await writer.WriteAsync(new StringValue { Value = "tick" });
            var probe = Waits(request.Value);
            probe.Started.TrySetResult(context.Deadline);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Cancelled.TrySetResult(TimeSpan.Zero);
                throw;
            }
        });
    }

    public sealed class WaitProbe
    {
        public TaskCompletionSource<DateTimeOffset?> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<TimeSpan> Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

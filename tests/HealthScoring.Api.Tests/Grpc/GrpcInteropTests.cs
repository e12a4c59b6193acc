using HealthScoring.Api.Grpc;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>
/// A real gRPC implementation (Debian's python3-grpcio, via interop_client.py) against the layer: what a client
/// library sees is what matters. Needs `bash scripts/test-deps.sh`; fails (never skips) without it.
/// </summary>
public sealed class GrpcInteropTests(GrpcTestHost host) : IClassFixture<GrpcTestHost>
{
    private Task<InteropResult> Run(string scenario, string? argument = null) => InteropClient.RunAsync(host.Port, scenario, argument);

    [Fact]
    public async Task A_unary_call_returns_the_response_and_the_handlers_trailers()
    {
        var result = await Run("unary_ok");

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        result.Result.GetString().ShouldBe("hello");
        result.Trailer("echo-length").ShouldBe("5");
        Convert.FromBase64String(result.Trailer("echo-raw-bin")!).ShouldBe([0xFF, 0x00, 0x01]);
    }

    [Fact]
    public async Task A_message_larger_than_the_HTTP2_flow_control_window_round_trips()
    {
        var result = await Run("large_ok", $"{1_500_000}");

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        result.Result.GetInt32().ShouldBe(1_500_000);
    }

    [Fact]
    public async Task An_InvalidArgument_with_BadRequest_details_is_readable_by_the_python_client()
    {
        var result = await Run("invalid_argument");

        result.Code.ShouldBe(StatusCode.InvalidArgument, result.ToString());
        result.Details.ShouldBe("The request is invalid.");
        result.Status.GetProperty("code").GetInt32().ShouldBe((int)StatusCode.InvalidArgument);
        result.Status.GetProperty("message").GetString().ShouldBe("The request is invalid.");
        var detail = result.Status.GetProperty("details").EnumerateArray().ShouldHaveSingleItem();
        detail.GetProperty("type_url").GetString().ShouldBe("type.googleapis.com/google.rpc.BadRequest");
        var violation = detail.GetProperty("field_violations").EnumerateArray().ShouldHaveSingleItem();
        violation.GetProperty("field").GetString().ShouldBe("value");
        violation.GetProperty("description").GetString().ShouldBe("must be positive");
    }

    [Fact]
    public async Task A_non_ASCII_status_message_round_trips_through_percent_encoding()
    {
        var result = await Run("non_ascii_message");

        result.Code.ShouldBe(StatusCode.FailedPrecondition, result.ToString());
        result.SentMessage.ShouldBe("Grüße ✓ 100% — 日本語\nline 2");
        result.Details.ShouldBe(result.SentMessage);
    }

    [Fact]
    public async Task A_call_without_a_bearer_token_is_Unauthenticated_and_with_one_succeeds()
    {
        var without = await Run("unauthenticated");
        var with = await Run("authenticated");

        without.Code.ShouldBe(StatusCode.Unauthenticated, without.ToString());
        without.Details.ShouldBe("A valid bearer token is required.");
        with.Code.ShouldBe(StatusCode.Ok, with.ToString());
        with.Result.GetString().ShouldBe(EchoTestService.ExpectedToken);
    }

    [Fact]
    public async Task The_client_deadline_ends_the_call_with_DeadlineExceeded_and_cancels_the_handler()
    {
        var id = Guid.NewGuid().ToString();

        var result = await Run("deadline", id);

        result.Code.ShouldBe(StatusCode.DeadlineExceeded, result.ToString());
        result.ElapsedMs.ShouldBeLessThan(2_000);
        var probe = host.Service.Waits(id);
        var deadline = await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        deadline.ShouldNotBeNull("grpcio sends grpc-timeout, which becomes the context's Deadline");
        var handlerRan = await probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        handlerRan.ShouldBeLessThan(TimeSpan.FromSeconds(2), "the handler's token fires at the deadline, not after its 5 s wait");
    }

    [Fact]
    public async Task An_unhandled_exception_is_Internal_with_a_generic_message()
    {
        var result = await Run("unhandled_exception");

        result.Code.ShouldBe(StatusCode.Internal, result.ToString());
        result.Details.ShouldBe("Exception was thrown by handler.");
        result.ToString().ShouldNotContain(EchoTestService.Secret);
    }

    [Fact]
    public async Task Client_streaming_sums_every_message_the_client_sent()
    {
        var result = await Run("client_streaming");

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        result.Result.GetInt32().ShouldBe(55);
    }

    [Fact]
    public async Task Server_streaming_delivers_each_message_and_ends_with_OK()
    {
        var result = await Run("server_streaming", "3");

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        result.Result.EnumerateArray().Select(e => e.GetString()).ShouldBe(["item 0", "item 1", "item 2"]);
    }

    [Fact]
    public async Task Server_streaming_that_fails_after_some_messages_delivers_them_then_ends_with_Internal()
    {
        var result = await Run("server_streaming", "-2");

        result.Code.ShouldBe(StatusCode.Internal, result.ToString());
        result.Result.EnumerateArray().Select(e => e.GetString()).ShouldBe(["item 0", "item 1"]);
        result.ToString().ShouldNotContain(EchoTestService.Secret);
    }

    [Theory]
    [InlineData("unimplemented_method")]
    [InlineData("unimplemented_service")]
    public async Task An_unknown_method_or_service_is_Unimplemented(string scenario)
    {
        var result = await Run(scenario);

        result.Code.ShouldBe(StatusCode.Unimplemented, result.ToString());
    }

    [Fact]
    public async Task A_request_message_over_the_limit_is_ResourceExhausted_naming_the_limit()
    {
        var result = await Run("resource_exhausted", $"{GrpcTestHost.MessageSizeLimit + 1}");

        result.Code.ShouldBe(StatusCode.ResourceExhausted, result.ToString());
        result.Details.ShouldNotBeNull().ShouldContain($"{GrpcTestHost.MessageSizeLimit} bytes");
    }
}

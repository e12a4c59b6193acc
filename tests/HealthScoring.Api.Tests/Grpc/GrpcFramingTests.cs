using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>Wire-level behaviour over HttpClient (HTTP/2, h2c): the malformed and unusual requests gRPC libraries never send.</summary>
public sealed class GrpcFramingTests(GrpcTestHost host) : IClassFixture<GrpcTestHost>, IDisposable
{
    private const string Echo = $"/{EchoTestService.Name}/Echo";
    private readonly HttpClient _client = GrpcHttp.CreateClient(host.BaseAddress);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _client.Dispose();

    private Task<GrpcResponse> Send(HttpRequestMessage request) => GrpcHttp.SendAsync(_client, request, Ct);

    private Task<GrpcResponse> Send(string path, byte[] body) => Send(GrpcHttp.Request(path, body));

    [Fact]
    public async Task A_unary_response_is_headers_one_message_and_status_trailers()
    {
        var response = await Send(Echo, GrpcHttp.Frame(new StringValue { Value = "hi" }));

        response.HttpStatus.ShouldBe(HttpStatusCode.OK);
        response.Headers["content-type"].ShouldBe("application/grpc");
        response.Headers["grpc-accept-encoding"].ShouldBe("identity");
        response.TrailersOnly.ShouldBeFalse();
        response.Trailers["grpc-status"].ShouldBe("0");
        response.Trailers["echo-length"].ShouldBe("2");
        response.Trailers["echo-raw-bin"].ShouldBe("/wAB", "binary metadata is base64, emitted unpadded");
        StringValue.Parser.ParseFrom(response.Messages.ShouldHaveSingleItem()).Value.ShouldBe("hi");
    }

    [Fact]
    public async Task Status_details_are_sent_as_unpadded_base64_of_a_google_rpc_Status_matching_the_status()
    {
        var response = await Send($"/{EchoTestService.Name}/Fail", GrpcHttp.Frame(new StringValue { Value = "bad" }));

        response.Status.ShouldBe(StatusCode.InvalidArgument);
        var raw = response.StatusMetadata["grpc-status-details-bin"];
        raw.ShouldNotEndWith("=");
        var padded = raw.PadRight(raw.Length + ((4 - (raw.Length % 4)) % 4), '=');
        var details = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(padded));
        details.Code.ShouldBe((int)StatusCode.InvalidArgument);
        details.Message.ShouldBe(response.Message);
        details.Details.ShouldHaveSingleItem().Unpack<Google.Rpc.BadRequest>().FieldViolations.ShouldHaveSingleItem().Description.ShouldBe("bad");
    }

    [Fact]
    public async Task A_status_message_is_percent_encoded_UTF8_on_the_wire()
    {
        var response = await Send($"/{EchoTestService.Name}/Reject", GrpcHttp.Frame(new StringValue { Value = "100% ✓\n" }));

        response.Status.ShouldBe(StatusCode.FailedPrecondition);
        response.RawMessage.ShouldBe("100%25 %E2%9C%93%0A");
        response.Message.ShouldBe("100% ✓\n");
    }

    [Fact]
    public async Task An_error_before_any_message_is_a_Trailers_Only_response()
    {
        var response = await Send($"/{EchoTestService.Name}/Whoami", GrpcHttp.Frame(new StringValue()));

        response.HttpStatus.ShouldBe(HttpStatusCode.OK);
        response.TrailersOnly.ShouldBeTrue();
        response.Headers["content-type"].ShouldBe("application/grpc");
        response.Status.ShouldBe(StatusCode.Unauthenticated);
        response.Messages.ShouldBeEmpty();
        response.Trailers.ShouldBeEmpty();
    }

    [Fact]
    public async Task An_unknown_gRPC_method_gets_HTTP_200_and_Unimplemented()
    {
        var response = await Send($"/{EchoTestService.Name}/Nope", GrpcHttp.Frame(new StringValue()));

        response.HttpStatus.ShouldBe(HttpStatusCode.OK);
        response.Status.ShouldBe(StatusCode.Unimplemented);
        response.Message.ShouldBe($"Method /{EchoTestService.Name}/Nope is unimplemented.");
    }

    [Fact]
    public async Task A_non_gRPC_POST_to_an_unknown_path_is_still_a_404()
    {
        var response = await Send(GrpcHttp.Request("/some/path", "{}"u8.ToArray(), "application/json"));

        response.HttpStatus.ShouldBe(HttpStatusCode.NotFound);
        response.Status.ShouldBeNull();
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    [InlineData("text/plain")]
    public async Task A_gRPC_method_called_with_another_content_type_is_HTTP_415(string contentType)
    {
        var response = await Send(GrpcHttp.Request(Echo, GrpcHttp.Frame(new StringValue()), contentType));

        response.HttpStatus.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        response.Status.ShouldBeNull();
    }

    [Fact]
    public async Task A_gRPC_method_accepts_application_grpc_proto()
    {
        var response = await Send(GrpcHttp.Request(Echo, GrpcHttp.Frame(new StringValue { Value = "p" }), "application/grpc+proto"));

        response.Status.ShouldBe(StatusCode.Ok);
    }

    [Fact]
    public async Task A_gRPC_method_called_with_the_JSON_codec_is_Unimplemented()
    {
        var response = await Send(GrpcHttp.Request(Echo, GrpcHttp.Frame(new StringValue()), "application/grpc+json"));

        response.Status.ShouldBe(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task A_gRPC_method_called_with_GET_is_HTTP_405()
    {
        var response = await Send(GrpcHttp.Request(Echo, [], method: HttpMethod.Get));

        response.HttpStatus.ShouldBe(HttpStatusCode.MethodNotAllowed);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 10, 1, 2, 3, 4 })]
    public async Task A_request_ending_inside_a_frame_is_Internal(byte[] body)
    {
        var response = await Send(Echo, body);

        response.Status.ShouldBe(StatusCode.Internal);
        response.Message.ShouldNotBeNull().ShouldStartWith("Incomplete message");
    }

    [Fact]
    public async Task A_frame_that_is_not_valid_protobuf_is_Internal()
    {
        var response = await Send(Echo, GrpcHttp.Frame([0xFF, 0xFF, 0xFF]));

        response.Status.ShouldBe(StatusCode.Internal);
        response.Message.ShouldBe("The request message is not a valid StringValue.");
    }

    [Fact]
    public async Task A_compressed_flag_without_grpc_encoding_is_Internal()
    {
        var response = await Send(Echo, GrpcHttp.Frame(new StringValue { Value = "z" }, compressedFlag: 1));

        response.Status.ShouldBe(StatusCode.Internal);
    }

    [Fact]
    public async Task A_compressed_message_in_an_unsupported_encoding_is_Unimplemented_and_identity_is_advertised()
    {
        var request = GrpcHttp.Request(Echo, GrpcHttp.Frame(new StringValue { Value = "z" }, compressedFlag: 1));
        request.Headers.Add("grpc-encoding", "gzip");

        var response = await Send(request);

        response.Status.ShouldBe(StatusCode.Unimplemented);
        response.Message.ShouldBe("Unsupported grpc-encoding 'gzip'. Supported encodings: identity.");
        response.Headers["grpc-accept-encoding"].ShouldBe("identity");
    }

    [Fact]
    public async Task A_compressed_flag_other_than_0_or_1_is_Internal()
    {
        var response = await Send(Echo, GrpcHttp.Frame(new StringValue(), compressedFlag: 2));

        response.Status.ShouldBe(StatusCode.Internal);
    }

    [Fact]
    public async Task An_oversized_message_is_refused_from_its_length_prefix_before_the_payload_arrives()
    {
        var response = await Send(Echo, GrpcHttp.Frame([], declaredLength: GrpcTestHost.MessageSizeLimit + 1));

        response.Status.ShouldBe(StatusCode.ResourceExhausted);
        response.Message.ShouldBe($"Received message exceeds the maximum configured message size ({GrpcTestHost.MessageSizeLimit + 1} > {GrpcTestHost.MessageSizeLimit} bytes).");
    }

    [Fact]
    public async Task A_response_message_over_the_send_limit_is_ResourceExhausted()
    {
        var response = await Send($"/{EchoTestService.Name}/Fill", GrpcHttp.Frame(new Int32Value { Value = GrpcTestHost.MessageSizeLimit }));

        response.Status.ShouldBe(StatusCode.ResourceExhausted);
        response.Messages.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_unary_call_with_other_than_one_request_message_is_Unimplemented(int messages)
    {
        var body = Enumerable.Repeat(GrpcHttp.Frame(new StringValue { Value = "m" }), messages).SelectMany(f => f).ToArray();

        var response = await Send(Echo, body);

        response.Status.ShouldBe(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task Client_streaming_reads_messages_however_they_are_split_into_DATA_frames()
    {
        var path = $"/{EchoTestService.Name}/Sum";
        var body = Enumerable.Range(1, 100).SelectMany(i => GrpcHttp.Frame(new Int32Value { Value = i })).ToArray();
        var trickled = GrpcHttp.Request(path, []);
        trickled.Content = new TrickleContent(body, chunkSize: 3);
        trickled.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/grpc");

        var empty = await Send(path, []);
        var packed = await Send(path, body);
        var split = await Send(trickled);

        Int32Value.Parser.ParseFrom(empty.Messages.ShouldHaveSingleItem()).Value.ShouldBe(0, "an empty stream is a valid client stream");
        Int32Value.Parser.ParseFrom(packed.Messages.ShouldHaveSingleItem()).Value.ShouldBe(5050);
        Int32Value.Parser.ParseFrom(split.Messages.ShouldHaveSingleItem()).Value.ShouldBe(5050);
        new[] { empty.Status, packed.Status, split.Status }.ShouldAllBe(s => s == StatusCode.Ok);
    }

    [Fact]
    public async Task A_grpc_timeout_header_ends_the_call_with_DeadlineExceeded_and_cancels_the_handler()
    {
        var id = Guid.NewGuid().ToString();
        var request = GrpcHttp.Request($"/{EchoTestService.Name}/Wait", GrpcHttp.Frame(new StringValue { Value = id }));
        request.Headers.Add("grpc-timeout", "200m");

        var response = await Send(request);

        response.Status.ShouldBe(StatusCode.DeadlineExceeded);
        var probe = host.Service.Waits(id);
        (await probe.Started.Task).ShouldNotBeNull().ShouldBeLessThan(DateTimeOffset.UtcNow.AddSeconds(1));
        (await probe.Cancelled.Task).ShouldBeLessThan(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Client_cancellation_fires_the_handlers_token()
    {
        var id = Guid.NewGuid().ToString();
        var probe = host.Service.Waits(id);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = _client.SendAsync(GrpcHttp.Request($"/{EchoTestService.Name}/Wait", GrpcHttp.Frame(new StringValue { Value = id })), HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);

        await cancel.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(call);
        (await probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeLessThan(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Server_streaming_flushes_each_message_as_it_is_written()
    {
        var id = Guid.NewGuid().ToString();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var response = await _client.SendAsync(
            GrpcHttp.Request($"/{EchoTestService.Name}/Tick", GrpcHttp.Frame(new StringValue { Value = id })), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var frame = new byte[5 + 6];
        using (response)
        {
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            await body.ReadExactlyAsync(frame, timeout.Token);
        }

        // The handler is still waiting: the message came from its flush, not from the end of the call. Disposing the
        // response mid-stream resets the stream, which the handler sees as cancellation.
        StringValue.Parser.ParseFrom(GrpcHttp.ReadFrames(frame).ShouldHaveSingleItem()).Value.ShouldBe("tick");
        await host.Service.Waits(id).Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public async Task An_unhandled_exception_is_logged_with_its_exception_but_not_sent()
    {
        var response = await Send($"/{EchoTestService.Name}/Crash", GrpcHttp.Frame(new StringValue()));

        response.Status.ShouldBe(StatusCode.Internal);
        response.Message.ShouldBe("Exception was thrown by handler.");
        string.Join(";", response.Headers.Values.Concat(response.Trailers.Values)).ShouldNotContain("hunter2");
        host.Logs.Entries.ShouldContain(e => e.Level == LogLevel.Error && e.Category == "HealthScoring.Api.Grpc"
            && e.Message.Contains($"/{EchoTestService.Name}/Crash", StringComparison.Ordinal)
            && e.Exception is InvalidOperationException);
    }

    /// <summary>Sends the body a few bytes per write, so that frames arrive split across many DATA frames.</summary>
    private sealed class TrickleContent(byte[] body, int chunkSize) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < body.Length; offset += chunkSize)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(chunkSize, body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Grpc;

/// <summary>
/// One call on the wire: checks the request, reads and writes length-prefixed messages, turns the handler's outcome
/// into a status and writes it. The rules cited are from grpc/grpc <c>doc/PROTOCOL-HTTP2.md</c> and <c>doc/statuscodes.md</c>.
/// </summary>
internal sealed class GrpcCall
{
    // CancelAfter takes at most uint.MaxValue - 1 ms (~49.7 days); a longer grpc-timeout is as good as none.
    private static readonly TimeSpan LongestDeadline = TimeSpan.FromDays(49);

    private readonly HttpContext _http;
    private readonly GrpcOptions _options;
    private readonly string? _requestEncoding;
    private bool _writing;
    private bool _completed;

    private GrpcCall(HttpContext http, GrpcOptions options, GrpcCallContext context)
    {
        _http = http;
        _options = options;
        _requestEncoding = http.Request.Headers["grpc-encoding"].ToString() is { Length: > 0 } encoding ? encoding : null;
        Context = context;
    }

    public GrpcCallContext Context { get; }

    /// <summary>Runs <paramref name="body"/> as a gRPC call on <paramref name="http"/> and always ends it with a status.</summary>
    public static async Task RunAsync(HttpContext http, Func<GrpcCall, Task> body)
    {
        var contentType = http.Request.ContentType;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            // The spec asks for 415 so that a plain HTTP client cannot mistake a gRPC error (HTTP 200) for success.
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        if (!HttpProtocol.IsHttp2(http.Request.Protocol) && !HttpProtocol.IsHttp3(http.Request.Protocol))
        {
            // Status travels in trailers, which HTTP/1.1 clients do not read: gRPC needs HTTP/2 (h2c or TLS + ALPN).
            http.Response.StatusCode = StatusCodes.Status505HttpVersionNotsupported;
            return;
        }

        LiftKestrelRequestLimits(http);
        var options = http.RequestServices.GetRequiredService<IOptions<GrpcOptions>>().Value;
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("HealthScoring.Api.Grpc");
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = GrpcProtocol.ContentType;
        http.Response.Headers["grpc-accept-encoding"] = "identity";

        // One token for the handler: the client's RST_STREAM (RequestAborted) or the deadline, whichever comes first.
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        DateTimeOffset? deadline = null;
        if (GrpcProtocol.TryParseTimeout(http.Request.Headers["grpc-timeout"], out var timeout) && timeout <= LongestDeadline)
        {
            deadline = DateTimeOffset.UtcNow + timeout;
            cancellation.CancelAfter(timeout);
        }

        var stopping = http.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        var call = new GrpcCall(http, options, new GrpcCallContext(http, cancellation.Token, deadline) { ServerStopping = stopping });
        (StatusCode Code, string Message, Google.Rpc.Status? Details, TimeSpan? RetryAfter) status = (StatusCode.Ok, "", null, null);
        try
        {
            if (!GrpcProtocol.IsProtobufContentType(contentType!))
            {
                throw new GrpcException(StatusCode.Unimplemented, $"Content-Type '{contentType}' is not supported: messages are protobuf (application/grpc or application/grpc+proto).");
            }

            await body(call);
        }
        catch (GrpcException ex)
        {
            status = (ex.StatusCode, ex.Message, ex.Details, ex.RetryAfter);
        }
        catch (GrpcServerStoppingException ex)
        {
            // A client stream the handler did not finish itself: what it read was handled, the rest is the client's to resend.
            status = (StatusCode.Unavailable, ex.Message, null, null);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Client cancel or deadline: decided below.
        }
        catch (Exception ex) when (!cancellation.IsCancellationRequested && Map(http, ex) is { } mapped)
        {
            // The host's mapper turned it into a status (e.g. a database outage into UNAVAILABLE); it logs as it sees fit.
            status = (mapped.StatusCode, mapped.Message, mapped.Details, mapped.RetryAfter);
        }
        catch (Exception ex)
        {
            // Exception text can hold connection strings, SQL, personal data: log it, never send it.
            logger.LogError(ex, "gRPC call {Method} failed with an unhandled exception.", http.Request.Path);
            status = (StatusCode.Internal, "Exception was thrown by handler.", null, null);
        }
        finally
        {
            call._completed = true;
        }

        if (http.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream (cancelled, or gave up at its own deadline): nothing can reach it any more.
            logger.LogDebug("gRPC call {Method} was cancelled by the client.", http.Request.Path);
            return;
        }

        if (cancellation.IsCancellationRequested)
        {
            // Past the deadline the outcome is DEADLINE_EXCEEDED whatever the handler did, as in Grpc.AspNetCore.
            logger.LogDebug("gRPC call {Method} exceeded its deadline.", http.Request.Path);
            status = (StatusCode.DeadlineExceeded, "Deadline exceeded.", null, null);
        }

        call.WriteStatus(status.Code, status.Message, status.Details, status.RetryAfter);
    }

    private static GrpcException? Map(HttpContext http, Exception exception)
    {
        foreach (var mapper in http.RequestServices.GetServices<IGrpcExceptionMapper>())
        {
            if (mapper.Map(exception) is { } mapped)
            {
                return mapped;
            }
        }

        return null;
    }

    /// <summary>Reads the one request message of a unary or server-streaming call.</summary>
    public async Task<T> ReadSingleMessageAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        // statuscodes.md: "Request cardinality violation ... UNIMPLEMENTED".
        var message = await ReadMessageAsync(parser, Context.CancellationToken)
            ?? throw new GrpcException(StatusCode.Unimplemented, "The request ended without a message; this method takes exactly one.");
        return await ReadMessageAsync(parser, Context.CancellationToken) is null
            ? message
            : throw new GrpcException(StatusCode.Unimplemented, "The request carried more than one message; this method takes exactly one.");
    }

    /// <summary>
    /// Reads the request messages of a client-streaming call as they arrive. Once the server is stopping
    /// (<see cref="GrpcCallContext.ServerStopping"/>) it yields only the whole messages already received; if the
    /// client had ended its stream by then, the sequence ends as usual, otherwise it throws
    /// <see cref="GrpcServerStoppingException"/> after them, so that a client that keeps its stream open cannot hold
    /// the shutdown up.
    /// </summary>
    public async IAsyncEnumerable<T> ReadAllMessagesAsync<T>(MessageParser<T> parser, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, IMessage<T>
    {
        var stopping = Context.ServerStopping;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Context.CancellationToken, cancellationToken, stopping);
        var read = 0;
        while (!stopping.IsCancellationRequested)
        {
            T? next;
            try
            {
                next = await ReadMessageAsync(parser, cancellation.Token);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested && !Context.CancellationToken.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Stopping while waiting for the client: a message cut in the middle was not received; it is resent.
                break;
            }

            if (next is null)
            {
                yield break;
            }

            read++;
            yield return next;
        }

        while (TryReadBufferedMessage(parser, out var buffered, out var ended))
        {
            if (buffered is null)
            {
                Debug.Assert(ended, "no message without the end of the stream");
                yield break;
            }

            read++;
            yield return buffered;
        }

        throw new GrpcServerStoppingException(read);
    }

    /// <summary>Writes one message; <paramref name="flush"/> sends it now (streaming) rather than with the trailers (unary).</summary>
    public async Task WriteMessageAsync(IMessage message, bool flush)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed)
        {
            throw new InvalidOperationException("The call has completed: no more messages can be written.");
        }

        if (_writing)
        {
            throw new InvalidOperationException("The previous write is still in progress: await each WriteAsync before the next.");
        }

        var cancellationToken = Context.CancellationToken;
        cancellationToken.ThrowIfCancellationRequested();
        var size = message.CalculateSize();
        if (size > _options.MaxSendMessageSize)
        {
            throw new GrpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({size} > {_options.MaxSendMessageSize} bytes).");
        }

        _writing = true;
        try
        {
            // Headers go out before the first message; after that the status can only travel in trailers.
            await _http.Response.StartAsync(cancellationToken);
            var writer = _http.Response.BodyWriter;
            var header = writer.GetSpan(GrpcProtocol.FrameHeaderSize);
            header[0] = 0; // identity: never compressed
            BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
            writer.Advance(GrpcProtocol.FrameHeaderSize);
            message.WriteTo(writer);
            if (flush)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }
        finally
        {
            _writing = false;
        }
    }

    private async Task<T?> ReadMessageAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var reader = _http.Request.BodyReader;
        while (true)
        {
            // DATA frame boundaries say nothing about message boundaries: buffer until a whole message is here.
            var (message, _, decided) = Take(reader, await reader.ReadAsync(cancellationToken), parser);
            if (decided)
            {
                return message;
            }
        }
    }

    /// <summary>
    /// Reads the next message if it is already here in whole, without waiting: true with the message, true with
    /// null and <paramref name="ended"/> when the client has ended its stream, false when more must arrive first.
    /// </summary>
    private bool TryReadBufferedMessage<T>(MessageParser<T> parser, out T? message, out bool ended)
        where T : class, IMessage<T>
    {
        message = null;
        ended = false;
        var reader = _http.Request.BodyReader;
        if (!reader.TryRead(out var result))
        {
            return false;
        }

        (message, ended, var decided) = Take(reader, result, parser);
        return decided;
    }

    /// <summary>
    /// One look at what has arrived: a whole message (consumed), or the end of the stream, or neither yet
    /// (<c>Decided</c> false: the caller waits for more).
    /// </summary>
    private (T? Message, bool Ended, bool Decided) Take<T>(PipeReader reader, ReadResult result, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var buffer = result.Buffer;
        var consumed = buffer.Start;
        var examined = buffer.End;
        try
        {
            if (TryReadFrame(buffer, out var payload))
            {
                consumed = examined = payload.End;
                return (Parse(parser, payload), false, true);
            }

            if (result.IsCompleted)
            {
                return buffer.IsEmpty
                    ? (null, true, true)
                    : throw new GrpcException(StatusCode.Internal, "Incomplete message: the request ended inside a length-prefixed message.");
            }

            return (null, false, false);
        }
        finally
        {
            reader.AdvanceTo(consumed, examined);
        }
    }

    private bool TryReadFrame(ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < GrpcProtocol.FrameHeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        switch (header[0])
        {
            case 0:
                break;
            case 1 when _requestEncoding is null or "identity":
                // "If the Message-Encoding header is omitted then the Compressed-Flag must be 0": a broken frame.
                throw new GrpcException(StatusCode.Internal, "The message is flagged compressed but the request has no grpc-encoding.");
            case 1:
                // "Compression mechanism used by client not supported at server: UNIMPLEMENTED" (grpc-accept-encoding says what is).
                throw new GrpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{_requestEncoding}'. Supported encodings: identity.");
            default:
                throw new GrpcException(StatusCode.Internal, $"Invalid compressed flag {header[0]}: a message frame starts with 0 or 1.");
        }

        // Checked from the header alone, so an oversized message is refused before it is buffered.
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > _options.MaxReceiveMessageSize)
        {
            throw new GrpcException(StatusCode.ResourceExhausted, $"Received message exceeds the maximum configured message size ({length} > {_options.MaxReceiveMessageSize} bytes).");
        }

        if (buffer.Length - GrpcProtocol.FrameHeaderSize < length)
        {
            return false;
        }

        payload = buffer.Slice(GrpcProtocol.FrameHeaderSize, length);
        return true;
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            // statuscodes.md: "Error parsing request proto: INTERNAL".
            throw new GrpcException(StatusCode.Internal, $"The request message is not a valid {typeof(T).Name}.");
        }
    }

    private void WriteStatus(StatusCode code, string message, Google.Rpc.Status? details, TimeSpan? retryAfter)
    {
        var response = _http.Response;

        // Nothing sent yet: a Trailers-Only response, the status in the one HEADERS frame that ends the stream.
        // Otherwise the status follows the messages as trailers. Kestrel sends RST_STREAM(NO_ERROR) itself when
        // this happens before the client finished sending, as the spec's "Early Server Closure" asks.
        var trailersOnly = !response.HasStarted;
        void Add(string key, string value)
        {
            if (trailersOnly)
            {
                response.Headers.Append(key, value);
            }
            else
            {
                response.AppendTrailer(key, value);
            }
        }

        Add("grpc-status", ((int)code).ToString(CultureInfo.InvariantCulture));
        if (message.Length > 0)
        {
            Add("grpc-message", GrpcProtocol.PercentEncode(message));
        }

        if (details is not null)
        {
            Add("grpc-status-details-bin", GrpcProtocol.ToUnpaddedBase64(details.ToByteArray()));
        }

        if (retryAfter is { } wait)
        {
            // gRPC's retry design (A6) reads the pushback in milliseconds; retry-after in whole seconds, rounded up, mirrors HTTP.
            var milliseconds = Math.Max(0, (long)Math.Ceiling(wait.TotalMilliseconds));
            Add("grpc-retry-pushback-ms", milliseconds.ToString(CultureInfo.InvariantCulture));
            Add("retry-after", Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        }

        foreach (var (key, value) in Context.ResponseTrailers)
        {
            Add(key, value);
        }
    }

    private static void LiftKestrelRequestLimits(HttpContext http)
    {
        // A stream may carry any number of messages, slowly: Kestrel's 30 MB body limit and minimum data rate would
        // cut it. GrpcOptions' per-message limits apply instead.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } maxBodySize)
        {
            maxBodySize.MaxRequestBodySize = null;
        }

        if (http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } minRequestRate)
        {
            minRequestRate.MinDataRate = null;
        }

        if (http.Features.Get<IHttpMinResponseDataRateFeature>() is { } minResponseRate)
        {
            minResponseRate.MinDataRate = null;
        }
    }
}

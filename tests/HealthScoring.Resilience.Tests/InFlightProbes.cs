using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using HealthScoring.Contracts.V1;
using HealthScoring.Testing;

namespace HealthScoring.Resilience.Tests;

/// <summary>
/// A <c>POST /v1/batch</c> held in flight on a raw HTTP/1.1 connection: it is sent with <c>Expect: 100-continue</c>,
/// and Kestrel answers "100 Continue" only when the endpoint begins to read the body, so once that arrives the
/// request is past authentication and inside the handler. The body then trickles (above Kestrel's minimum data
/// rate) and its last byte waits for <see cref="FinishAsync"/>.
/// </summary>
internal sealed class HeldHttpRequest : IAsyncDisposable
{
    private const int DripBytes = 200;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _body;
    private readonly CancellationTokenSource _release = new();
    private int _sent;
    private Task? _drip;

    private HeldHttpRequest(TcpClient tcp, byte[] body)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _body = body;
    }

    public static async Task<HeldHttpRequest> OpenAsync(Uri restUrl, string writeKey, byte[] body, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(restUrl.Host, restUrl.Port, cancellationToken);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var held = new HeldHttpRequest(tcp, body);
        try
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":"));
            var head = string.Create(CultureInfo.InvariantCulture,
                $"POST /v1/batch HTTP/1.1\r\nHost: {restUrl.Authority}\r\nAuthorization: Basic {basic}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
            await held._stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);
            var interim = await held.ReadHeadAsync(cancellationToken);
            if (!interim.StartsWith("HTTP/1.1 100 ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Expected 100 Continue, got: {interim}");
            }

            held._drip = held.DripAsync();
            return held;
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends the rest of the body and reads the answer: its status and body.</summary>
    public async Task<(int Status, string Body)> FinishAsync(CancellationToken cancellationToken)
    {
        await _release.CancelAsync();
        await _drip!;
        await _stream.WriteAsync(_body.AsMemory(_sent), cancellationToken);
        var head = await ReadHeadAsync(cancellationToken);
        var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        using var rest = new MemoryStream();
        await _stream.CopyToAsync(rest, cancellationToken); // Connection: close: the answer ends with the connection
        var body = head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Unchunk(rest.ToArray()) : rest.ToArray();
        return (status, Encoding.UTF8.GetString(body));
    }

    public async ValueTask DisposeAsync()
    {
        await _release.CancelAsync();
        if (_drip is not null)
        {
            await _drip;
        }

        _tcp.Dispose();
        _release.Dispose();
    }

    private async Task DripAsync()
    {
        try
        {
            while (_body.Length - _sent > DripBytes + 1)
            {
                await _stream.WriteAsync(_body.AsMemory(_sent, DripBytes), _release.Token);
                _sent += DripBytes;
                await Task.Delay(250, _release.Token);
            }

            await Task.Delay(Timeout.Infinite, _release.Token);
        }
        catch (OperationCanceledException)
        {
            // Released: FinishAsync sends the rest.
        }
    }

    /// <summary>Reads one response head (status line and headers) byte by byte, so nothing after it is consumed.</summary>
    private async Task<string> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            if (await _stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException($"The connection closed inside a response head: {Encoding.ASCII.GetString([.. head])}");
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }

    private static byte[] Unchunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (true)
        {
            var lineEnd = Array.IndexOf(chunked, (byte)'\r', at);
            var size = int.Parse(Encoding.ASCII.GetString(chunked, at, lineEnd - at).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            at = lineEnd + 2;
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(chunked, at, size);
            at += size + 2;
        }
    }
}

/// <summary>
/// An IngestStream call held open: it writes its request messages, then keeps the stream open (no end of stream)
/// until the server answers, as a client that streams for a long time does.
/// </summary>
internal sealed class HeldIngestStream : IDisposable
{
    private readonly HttpClient _client;
    private readonly OpenFrames _content;
    private readonly Task<HttpResponseMessage> _call;

    private HeldIngestStream(HttpClient client, OpenFrames content, Task<HttpResponseMessage> call)
    {
        _client = client;
        _content = content;
        _call = call;
    }

    public static HeldIngestStream Open(Uri grpcUrl, string key, IReadOnlyList<byte[]> frames)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = grpcUrl, Timeout = Timeout.InfiniteTimeSpan };
        var content = new OpenFrames(frames);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(GrpcIngestLoad.MethodPath, UriKind.Relative))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return new HeldIngestStream(client, content, client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None));
    }

    /// <summary>True once every frame was written (the stream stays open).</summary>
    public Task Written => _content.Written.Task;

    /// <summary>The answer: grpc-status, and the IngestResponse of the OK message or of the status details.</summary>
    public async Task<(string? Status, IngestResponse? Response)> AnswerAsync(CancellationToken cancellationToken)
    {
        using var response = await _call.WaitAsync(cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First() : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        var status = Header("grpc-status");
        if (status == "0")
        {
            return (status, GrpcIngestLoad.ReadSingleResponse(body));
        }

        return Header("grpc-status-details-bin") is { } details
            ? (status, GrpcIngestLoad.ParseDetails(details).Details.FirstOrDefault(d => d.Is(IngestResponse.Descriptor))?.Unpack<IngestResponse>())
            : (status, null);
    }

    public void Dispose()
    {
        _content.Release();
        _client.Dispose();
    }

    private sealed class OpenFrames : HttpContent
    {
        private readonly IReadOnlyList<byte[]> _frames;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OpenFrames(IReadOnlyList<byte[]> frames)
        {
            _frames = frames;
            Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        }

        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            foreach (var frame in _frames)
            {
                await stream.WriteAsync(frame, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }

            Written.TrySetResult();
            try
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The server answered and reset the stream: nothing more to send.
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

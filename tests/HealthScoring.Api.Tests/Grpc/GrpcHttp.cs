using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>
/// A bare gRPC client on HttpClient, for the framing cases a real gRPC library refuses to produce. Every request
/// sets HTTP/2 with RequestVersionExact itself: SendAsync ignores the client's defaults.
/// </summary>
internal static class GrpcHttp
{
    public static HttpClient CreateClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseAddress };

    /// <summary>One length-prefixed message: compressed flag, 4-byte big-endian length, payload.</summary>
    public static byte[] Frame(IMessage message, byte compressedFlag = 0) => Frame(message.ToByteArray(), compressedFlag);

    public static byte[] Frame(byte[] payload, byte compressedFlag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static HttpRequestMessage Request(string path, byte[] body, string contentType = "application/grpc", HttpMethod? method = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return new HttpRequestMessage(method ?? HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
    }

    /// <summary>Sends and reads the whole response; the status comes from the trailers, or from the headers of a Trailers-Only response.</summary>
    public static async Task<GrpcResponse> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
        var trailers = response.TrailingHeaders.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
        return new GrpcResponse(response.StatusCode, headers, trailers, ReadFrames(body));
    }

    public static List<byte[]> ReadFrames(ReadOnlySpan<byte> body)
    {
        var frames = new List<byte[]>();
        while (body.Length >= 5)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
            frames.Add(body.Slice(5, length).ToArray());
            body = body[(5 + length)..];
        }

        body.Length.ShouldBe(0, "the response body must hold whole length-prefixed messages only");
        return frames;
    }
}

internal sealed record GrpcResponse(HttpStatusCode HttpStatus, Dictionary<string, string> Headers, Dictionary<string, string> Trailers, List<byte[]> Messages)
{
    /// <summary>True when the status came in the response headers (no messages, no separate trailers).</summary>
    public bool TrailersOnly => Headers.ContainsKey("grpc-status");

    public Dictionary<string, string> StatusMetadata => TrailersOnly ? Headers : Trailers;

    public HealthScoring.Api.Grpc.StatusCode? Status =>
        StatusMetadata.TryGetValue("grpc-status", out var status) ? (HealthScoring.Api.Grpc.StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) : null;

    public string? RawMessage => StatusMetadata.GetValueOrDefault("grpc-message");

    public string? Message => RawMessage is null ? null : Uri.UnescapeDataString(RawMessage);
}

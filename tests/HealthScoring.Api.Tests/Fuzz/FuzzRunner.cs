using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Observability;
using HealthScoring.Api.Tests.Grpc;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>
/// Sends fuzz cases to the host over real sockets (REST over HTTP/1.1, gRPC over h2c), a few at a time, and judges
/// every answer: no 5xx and no INTERNAL/UNKNOWN from a handler; every HTTP error a problem document with a title or
/// detail; every gRPC error a status with a message; nothing that must be rejected accepted.
/// </summary>
internal sealed class FuzzRunner(Uri restUrl, Uri grpcUrl) : IDisposable
{
    /// <summary>
    /// The INTERNAL answers the gRPC spec itself prescribes for a broken request (statuscodes.md: "Error parsing
    /// request proto"; PROTOCOL-HTTP2.md: a compressed flag without grpc-encoding, a request ending inside a frame).
    /// They are the framing layer's verdict on the bytes, not a handler failure, and are counted apart.
    /// </summary>
    private static readonly string[] ProtocolInternalMessages =
    [
        "Incomplete message:", "The request message is not a valid", "The message is flagged compressed", "Invalid compressed flag",
    ];

    private static readonly string[] ProblemTexts = ["title", "detail"];

    private readonly HttpClient _rest = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false, MaxConnectionsPerServer = 32 })
    {
        BaseAddress = restUrl,
        Timeout = TimeSpan.FromMinutes(2),
    };

    private readonly HttpClient _grpc = new(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
    {
        BaseAddress = grpcUrl,
        Timeout = TimeSpan.FromMinutes(2),
    };

    public void Dispose()
    {
        _rest.Dispose();
        _grpc.Dispose();
    }

    public async Task<FuzzReport> RunAsync(IEnumerable<FuzzCase> cases, int concurrency, CancellationToken cancellationToken)
    {
        var report = new FuzzReport();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (fuzzCase, ct) =>
        {
            var (answer, failure) = fuzzCase.IsGrpc ? await SendGrpcAsync(fuzzCase, ct) : await SendRestAsync(fuzzCase, ct);
            report.Record(fuzzCase, answer, failure);
        });
        return report;
    }

    private async Task<(string Answer, string? Failure)> SendRestAsync(FuzzCase c, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), new Uri(c.Path, UriKind.Relative));
        if (c.Body is not null)
        {
            request.Content = c.SendLength ? new ByteArrayContent(c.Body) : new UnknownLengthContent(c.Body);
            if (!string.IsNullOrEmpty(c.ContentType))
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            }
        }

        // A large body waits for the server's go-ahead, so an early 413 is read instead of cutting the upload.
        request.Headers.ExpectContinue = c.Body is { Length: > 1_000_000 } && c.SendLength;
        foreach (var (name, value) in c.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        // Each request carries its case number as its correlation id, which the host echoes: an answer carrying
        // another case's id means a request's framing leaked into the next one on its connection (smuggling).
        var requestId = $"fuzz-case-{c.Number}";
        request.Headers.TryAddWithoutValidation(CorrelationIdMiddleware.HeaderName, requestId);
        var (response, bytes, lost) = await ExchangeAsync(_rest, request, ct);
        if (lost is not null)
        {
            return ("no answer", lost);
        }

        using (response)
        {
            var text = System.Text.Encoding.UTF8.GetString(bytes);
            var status = (int)response.StatusCode;
            var answer = $"HTTP {status}";
            if (response.Headers.TryGetValues(CorrelationIdMiddleware.HeaderName, out var echoed) && echoed.Single() != requestId)
            {
                return (answer, $"the answer ({status}) belongs to another request, {echoed.Single()}: {Shorten(text)}");
            }
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (status >= 500)
            {
                return (answer, $"server error {status}: {Shorten(text)}");
            }

            if (status == 400 && text.Length == 0 && response.Headers.ConnectionClose == true)
            {
                // Kestrel's own refusal of a request it cannot parse (a NUL in the target, say): the host never saw it.
                return ("HTTP 400 (Kestrel: malformed request)", null);
            }

            if (status >= 400)
            {
                // The sign-in page answers a failed form with the form again (HTML, with its message), as browsers need.
                if (c.Path.StartsWith("/dashboard/sign-in", StringComparison.Ordinal) && mediaType == "text/html")
                {
                    return (answer, null);
                }

                if (mediaType != "application/problem+json")
                {
                    return (answer, $"{status} is not a problem document ({mediaType ?? "no content type"}): {Shorten(text)}");
                }

                return (answer, ExplainsItself(text) ? null : $"{status} problem without a title or detail: {Shorten(text)}");
            }

            return (answer, c.MustReject && status < 300 ? $"accepted ({status}) a payload that must be rejected: {Shorten(text)}" : null);
        }
    }

    private async Task<(string Answer, string? Failure)> SendGrpcAsync(FuzzCase c, CancellationToken ct)
    {
        using var request = GrpcHttp.Request(c.Path, c.Body ?? [], c.ContentType ?? "application/grpc");
        foreach (var (name, value) in c.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var (http, body, lost) = await ExchangeAsync(_grpc, request, ct);
        if (lost is not null)
        {
            return ("no answer", lost);
        }

        using (http)
        {
            var code = (int)http.StatusCode;
            if (code != 200)
            {
                // The spec's answer to a request that is not gRPC at all (its content type) is an HTTP error, 415.
                var mediaType = http.Content.Headers.ContentType?.MediaType;
                return ($"HTTP {code}", code >= 500 ? $"server error {code}"
                    : !c.MustReject ? $"HTTP {code} for a gRPC request"
                    : mediaType == "application/problem+json" && ExplainsItself(System.Text.Encoding.UTF8.GetString(body)) ? null
                    : $"{code} is not a problem document ({mediaType ?? "no content type"})");
            }

            if (!WholeFrames(body))
            {
                return ("broken answer", "the response body is not whole length-prefixed messages");
            }

            var headers = http.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
            var trailers = http.TrailingHeaders.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
            var response = new GrpcResponse(http.StatusCode, headers, trailers, []);
            return Judge(c, response);
        }
    }

    /// <summary>Sends and reads the whole answer; a lost connection or the client's timeout is a failure, not an exception.</summary>
    private static async Task<(HttpResponseMessage Response, byte[] Body, string? Lost)> ExchangeAsync(HttpClient client, HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            var response = await client.SendAsync(request, ct);
            return (response, await response.Content.ReadAsByteArrayAsync(ct), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (null!, [], $"no answer: {ex.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null!, [], "no answer within the client's timeout");
        }
    }

    private static (string Answer, string? Failure) Judge(FuzzCase c, GrpcResponse response)
    {
        if (response.Status is not { } status)
        {
            return ("no status", "a gRPC answer without grpc-status");
        }

        var message = response.Message ?? "";
        if (status == StatusCode.Internal && ProtocolInternalMessages.Any(m => message.StartsWith(m, StringComparison.Ordinal)))
        {
            return ("INTERNAL (broken frame or protobuf)", null);
        }

        var answer = status.ToString();
        return status switch
        {
            StatusCode.Internal or StatusCode.Unknown => (answer, $"{status}: {message}"),
            StatusCode.Ok => (answer, c.MustReject ? "OK for a payload that must be rejected" : null),
            _ => (answer, message.Length == 0 ? $"{status} without a grpc-message" : null),
        };
    }

    private static bool WholeFrames(ReadOnlySpan<byte> body)
    {
        while (body.Length >= 5)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
            if (length > body.Length - 5)
            {
                return false;
            }

            body = body[(5 + (int)length)..];
        }

        return body.Length == 0;
    }

    private static bool ExplainsItself(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && ProblemTexts.Any(p => root.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString()));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>A body sent without Content-Length (chunked), as a streaming client would.</summary>
    private sealed class UnknownLengthContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>Counts per door and answer, and every failure.</summary>
internal sealed class FuzzReport
{
    private readonly ConcurrentDictionary<(FuzzDoor Door, string Answer), int> _counts = new();
    private readonly ConcurrentQueue<(FuzzCase Case, string Failure)> _failures = new();

    public int Total => _counts.Values.Sum();

    public IReadOnlyList<(FuzzCase Case, string Failure)> Failures => [.. _failures.OrderBy(f => f.Case.Number)];

    /// <summary>Server errors: HTTP 5xx, and gRPC INTERNAL/UNKNOWN from a handler.</summary>
    public int ServerErrors => _failures.Count(f => f.Failure.StartsWith("server error", StringComparison.Ordinal) || f.Failure.StartsWith("Internal", StringComparison.Ordinal) || f.Failure.StartsWith("Unknown", StringComparison.Ordinal));

    public int Count(FuzzDoor door) => _counts.Where(c => c.Key.Door == door).Sum(c => c.Value);

    public void Record(FuzzCase fuzzCase, string answer, string? failure)
    {
        _counts.AddOrUpdate((fuzzCase.Door, answer), 1, (_, n) => n + 1);
        if (failure is not null)
        {
            _failures.Enqueue((fuzzCase, failure));
        }
    }

    /// <summary>The summary the test prints: the headline figure, then each door's answers.</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"fuzz: {Total} payloads, {ServerErrors} 5xx";
        foreach (var door in _counts.Keys.Select(k => k.Door).Distinct().Order())
        {
            var answers = _counts.Where(c => c.Key.Door == door).OrderByDescending(c => c.Value).Select(c => $"{c.Key.Answer}: {c.Value}");
            yield return $"  {door}: {Count(door)} ({string.Join(", ", answers)})";
        }
    }
}

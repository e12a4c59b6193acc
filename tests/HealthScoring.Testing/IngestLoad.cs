using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Testing;

/// <summary>Pre-built request payloads and how many events each holds; senders take them in order, each exactly once.</summary>
public sealed class PayloadSet(IReadOnlyList<byte[]> payloads, IReadOnlyList<int> eventCounts)
{
    private int _next = -1;

    public IReadOnlyList<byte[]> Payloads { get; } = payloads;

    public IReadOnlyList<int> EventCounts { get; } = eventCounts;

    public int TotalEvents { get; } = eventCounts.Sum();

    public long TotalBytes { get; } = payloads.Sum(p => (long)p.Length);

    /// <summary>
    /// The payloads were sent before (a fault test resends what was not acknowledged): their events may be stored
    /// already, so a first answer may count duplicates.
    /// </summary>
    public bool Resent { get; init; }

    /// <summary>True once every payload was taken.</summary>
    public bool IsEmpty => Volatile.Read(ref _next) >= Payloads.Count - 1;

    /// <summary>The next payload's index, or false when all were taken.</summary>
    public bool TryTake(out int index)
    {
        index = Interlocked.Increment(ref _next);
        return index < Payloads.Count;
    }
}

/// <summary>
/// What a load run saw: elapsed time from the first request to the last answer, the API's counts summed over the
/// successful answers, and the failed attempts that were retried (with the first failure's description).
/// </summary>
public sealed record LoadOutcome(TimeSpan Elapsed, int Sent, long Accepted, long Duplicates, long Unassigned, int Requests, int Retries, string? FirstFailure)
{
    public double Rate => Sent / Elapsed.TotalSeconds;
}

/// <summary>Thread-safe progress and counters for concurrent senders.</summary>
internal sealed class LoadCounters(ProgressLog log, string label, long total, Stopwatch clock)
{
    private readonly Lock _lock = new();
    private long _done;
    private long _accepted;
    private long _duplicates;
    private long _unassigned;
    private int _requests;
    private int _retries;
    private string? _firstFailure;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Unassigned => Interlocked.Read(ref _unassigned);

    public int Requests => Volatile.Read(ref _requests);

    public int Retries => Volatile.Read(ref _retries);

    public string? FirstFailure => Volatile.Read(ref _firstFailure);

    public void Progress(long events)
    {
        var done = Interlocked.Add(ref _done, events);
        lock (_lock)
        {
            log.Report(label, done, total, clock.Elapsed);
        }
    }

    public void Answered(long accepted, long duplicates, long unassigned)
    {
        Interlocked.Add(ref _accepted, accepted);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _unassigned, unassigned);
        Interlocked.Increment(ref _requests);
    }

    public void Failed(string description)
    {
        Interlocked.Increment(ref _retries);
        Interlocked.CompareExchange(ref _firstFailure, description, null);
    }
}

/// <summary>
/// How the senders treat failures: as Segment's libraries do, a 5xx (or a broken connection) is retried with
/// jittered exponential backoff. Every failed attempt is counted and reported; none is hidden.
/// </summary>
internal static class Retry
{
    /// <summary>Attempts per request (or per call) before the run fails: generous, as Segment's pipelines retry for hours.</summary>
    public const int MaxAttempts = 30;

    /// <summary>Before attempt n+1: 100 ms · 2^(n-1), at most 2 s, times a random 0.5-1.5 (so that colliding senders part).</summary>
    public static TimeSpan Backoff(int failedAttempt) =>
        TimeSpan.FromMilliseconds(Math.Min(100 * (1 << Math.Min(failedAttempt - 1, 10)), 2_000) * (0.5 + Random.Shared.NextDouble()));

    /// <summary>Runs a sender; its failure cancels the others, so that the run stops at the first unrecoverable error.</summary>
    public static async Task Guard(Func<Task> sender, CancellationTokenSource failed)
    {
        try
        {
            await Task.Yield();
            await sender();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await failed.CancelAsync();
            throw;
        }
    }

    public static string Snippet(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 600));
        return body.Length > 600 ? text + "…" : text;
    }
}

/// <summary>
/// Segment's HTTP tracking API under load: a number of HTTP/1.1 connections, each posting <c>/v1/batch</c> bodies
/// back to back (Basic auth, the write key as user name). Every request must end in 200 with all its events
/// accepted; a 5xx, 429 or broken connection is retried (the API deduplicates by messageId, so a retry of a
/// request whose events were stored answers them as duplicates), any other answer fails the run.
/// </summary>
public static class SegmentHttpLoad
{
    /// <summary>Posts every payload of <paramref name="queue"/>; <paramref name="recorder"/>, when given, sees each acknowledgement and failure.</summary>
    public static async Task<LoadOutcome> RunAsync(Uri restUrl, string writeKey, PayloadSet queue, int concurrency, ProgressLog log, CancellationToken cancellationToken, LoadRecorder? recorder = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = restUrl, Timeout = TimeSpan.FromMinutes(5) };
        var authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        var batchUri = new Uri("v1/batch", UriKind.Relative);

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var counters = new LoadCounters(log, "http: acknowledged", queue.TotalEvents, clock);

        async Task<(HttpStatusCode? Status, byte[] Body, string? Error)> PostAsync(int index)
        {
            recorder?.Sending();
            using var content = new ByteArrayContent(queue.Payloads[index]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, batchUri) { Content = content };
            request.Headers.Authorization = authorization;
            try
            {
                using var response = await client.SendAsync(request, failed.Token);
                return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(failed.Token), null);
            }
            catch (HttpRequestException ex)
            {
                return (null, [], ex.Message);
            }
        }

        async Task SendAllAsync()
        {
            while (queue.TryTake(out var index))
            {
                var events = queue.EventCounts[index];
                for (var attempt = 1; ; attempt++)
                {
                    var (status, body, error) = await PostAsync(index);
                    if (status == HttpStatusCode.OK)
                    {
                        using var answer = JsonDocument.Parse(body);
                        var root = answer.RootElement;
                        var ok = root.TryGetProperty("accepted", out var a) & root.TryGetProperty("duplicates", out var d) & root.TryGetProperty("unassigned", out var u);
                        // Duplicates only where an earlier attempt of this very request may have stored the events.
                        if (!ok || a.GetInt32() + d.GetInt32() != events || (attempt == 1 && !queue.Resent && d.GetInt32() != 0))
                        {
                            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                                $"POST /v1/batch (request {index}, attempt {attempt}, {events} events) answered 200 with other counts: {Retry.Snippet(body)}"));
                        }

                        counters.Answered(a.GetInt32(), d.GetInt32(), u.GetInt32());
                        counters.Progress(events);
                        recorder?.Acknowledged("http", [index]);
                        break;
                    }

                    var what = status is { } s
                        ? string.Create(CultureInfo.InvariantCulture, $"POST /v1/batch (request {index}, attempt {attempt}, {events} events) answered {(int)s}: {Retry.Snippet(body)}")
                        : string.Create(CultureInfo.InvariantCulture, $"POST /v1/batch (request {index}, attempt {attempt}, {events} events) failed: {error}");
                    recorder?.Failed(new LoadFailure("http", what, status is null, status is { } code ? (int)code : null, null));
                    var retryable = status is null || (int)status >= 500 || status == HttpStatusCode.TooManyRequests;
                    if (!retryable || attempt == Retry.MaxAttempts)
                    {
                        throw new InvalidOperationException(what);
                    }

                    counters.Failed(what);
                    await Task.Delay(Retry.Backoff(attempt), failed.Token);
                }
            }
        }

        var senders = new List<Task>(concurrency);
        for (var i = 0; i < concurrency; i++)
        {
            senders.Add(Retry.Guard(SendAllAsync, failed));
        }

        await Task.WhenAll(senders);
        clock.Stop();
        return new LoadOutcome(clock.Elapsed, queue.TotalEvents, counters.Accepted, counters.Duplicates, counters.Unassigned, counters.Requests, counters.Retries, counters.FirstFailure);
    }
}

/// <summary>
/// <c>healthscoring.v1.Ingest/IngestStream</c> under load with a bare HttpClient as the gRPC client (h2c: HTTP/2
/// with RequestVersionExact on each request, <c>application/grpc</c>, 5-byte length-prefixed messages, status in
/// the trailers): a number of concurrent client-streaming calls, each writing request messages taken from the
/// shared set until it is empty or it has written <see cref="MaxMessagesPerCall"/> (then the next call starts), and
/// reading its one <see cref="IngestResponse"/> and status 0. A call that ends
/// with UNKNOWN, ABORTED, INTERNAL or UNAVAILABLE, or breaks, is retried whole (its messages again, then more from
/// the set): the API deduplicates by messageId and answers what it had stored as duplicates.
/// </summary>
public static class GrpcIngestLoad
{
    public const string MethodPath = "/healthscoring.v1.Ingest/IngestStream";

    /// <summary>The unary method, one request message per call (<see cref="RunAsync"/> with <c>unary: true</c>).</summary>
    public const string UnaryMethodPath = "/healthscoring.v1.Ingest/IngestBatch";

    /// <summary>
    /// Messages per call before it is closed and answered: the API answers a stream only at its end, so this bounds
    /// what a failed call must send again (and how long the client waits for an acknowledgement).
    /// </summary>
    public const int MaxMessagesPerCall = 10;

    private static readonly HashSet<string> RetryableStatuses = ["2", "10", "13", "14"];

    /// <summary>
    /// Sends every payload of <paramref name="queue"/> on <paramref name="calls"/> concurrent IngestStream calls (or
    /// IngestBatch calls, one message each, when <paramref name="unary"/>); <paramref name="recorder"/>, when given,
    /// sees each acknowledgement and failure. A stream the server ended with UNAVAILABLE while shutting down counts
    /// the messages its details say were handled as acknowledged, and sends the rest again.
    /// </summary>
    public static async Task<LoadOutcome> RunAsync(Uri grpcUrl, string key, PayloadSet queue, int calls, ProgressLog log, CancellationToken cancellationToken, LoadRecorder? recorder = null, bool unary = false)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var sender = unary ? "grpc-unary" : "grpc-stream";
        var maxMessages = unary ? 1 : MaxMessagesPerCall;
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = grpcUrl, Timeout = Timeout.InfiniteTimeSpan };
        var uri = new Uri(unary ? UnaryMethodPath : MethodPath, UriKind.Relative);

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var counters = new LoadCounters(log, "grpc: sent", queue.TotalEvents, clock);
        var delivered = 0;

        async Task<(string? Status, string? Message, IngestResponse? Answer, string? Error, Google.Rpc.Status? Details)> CallAsync(FramesContent content)
        {
            recorder?.Sending();
            using var request = new HttpRequestMessage(HttpMethod.Post, uri)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = content,
            };
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, failed.Token);
                var body = await response.Content.ReadAsByteArrayAsync(failed.Token);

                // The status is in the trailers, or in the headers of a Trailers-Only answer (an error before any message).
                var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
                var message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
                var details = Header(response.TrailingHeaders, "grpc-status-details-bin") ?? Header(response.Headers, "grpc-status-details-bin");
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return (status, $"HTTP {(int)response.StatusCode}", null, null, null);
                }

                return (status, message is null ? null : Uri.UnescapeDataString(message), status == "0" ? ReadSingleResponse(body) : null, null, details is null ? null : ParseDetails(details));
            }
            catch (HttpRequestException ex)
            {
                return (null, null, null, ex.Message, null);
            }
            catch (IOException ex)
            {
                return (null, null, null, ex.Message, null);
            }
        }

        async Task StreamAllAsync()
        {
            while (!queue.IsEmpty)
            {
                await StreamOneCallAsync();
            }
        }

        async Task StreamOneCallAsync()
        {
            IReadOnlyList<int> resend = [];
            if (unary)
            {
                // A unary call carries exactly one message: take it before calling, so that none goes out empty.
                if (!queue.TryTake(out var only))
                {
                    return;
                }

                counters.Progress(queue.EventCounts[only]);
                resend = [only];
            }

            for (var attempt = 1; ; attempt++)
            {
                using var content = new FramesContent(queue, resend, counters, maxMessages);
                var (status, message, answer, error, details) = await CallAsync(content);
                if (answer is not null)
                {
                    if (answer.Accepted + answer.Duplicates != content.Events || answer.Errors.Count != 0 || (attempt == 1 && !queue.Resent && answer.Duplicates != 0))
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"{sender} (attempt {attempt}) was sent {content.Events:N0} events and answered accepted {answer.Accepted:N0}, duplicates {answer.Duplicates:N0}, {answer.Errors.Count} errors."));
                    }

                    counters.Answered(answer.Accepted, answer.Duplicates, answer.Unassigned);
                    // All this call wrote is stored now, including what a failed attempt of it had taken.
                    Interlocked.Add(ref delivered, content.Events);
                    recorder?.Acknowledged(sender, content.Close());
                    return;
                }

                var taken = content.Close();
                var what = string.Create(CultureInfo.InvariantCulture,
                    $"{sender} (attempt {attempt}, {taken.Count} messages taken) ended with {(error is null ? $"grpc-status {status ?? "(none)"}: {message}" : error)}");
                recorder?.Failed(new LoadFailure(sender, what, error is not null, null, status));
                if ((error is null && (status is null || !RetryableStatuses.Contains(status))) || attempt == Retry.MaxAttempts)
                {
                    throw new InvalidOperationException(what);
                }

                counters.Failed(what);
                if (status == Unavailable && details?.Details.FirstOrDefault(d => d.Is(IngestResponse.Descriptor))?.Unpack<IngestResponse>() is { } handled)
                {
                    // The server stopped reading this stream (shutting down) and says what it handled: those messages
                    // are durable; only the rest is sent again.
                    var done = HandledPrefix(taken, handled, queue, what);
                    counters.Answered(handled.Accepted, handled.Duplicates, handled.Unassigned);
                    Interlocked.Add(ref delivered, done.Sum(i => queue.EventCounts[i]));
                    recorder?.Acknowledged(sender, done);
                    taken = [.. taken.Skip(done.Count)];
                }

                resend = taken;
                await Task.Delay(Retry.Backoff(attempt), failed.Token);
            }
        }

        var senders = new List<Task>(calls);
        for (var i = 0; i < calls; i++)
        {
            senders.Add(Retry.Guard(StreamAllAsync, failed));
        }

        await Task.WhenAll(senders);
        clock.Stop();
        if (delivered != queue.TotalEvents)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The calls delivered {delivered:N0} events, expected {queue.TotalEvents:N0}."));
        }

        return new LoadOutcome(clock.Elapsed, delivered, counters.Accepted, counters.Duplicates, counters.Unassigned, counters.Requests, counters.Retries, counters.FirstFailure);
    }

    private const string Unavailable = "14";

    /// <summary>
    /// The first of <paramref name="taken"/> (in the order written) that <paramref name="handled"/> covers: the server
    /// reads a stream in order and handles whole request messages, each item accepted, duplicate or rejected.
    /// </summary>
    private static List<int> HandledPrefix(IReadOnlyList<int> taken, IngestResponse handled, PayloadSet queue, string what)
    {
        var events = handled.Accepted + handled.Duplicates + handled.Errors.Select(e => e.Index).Distinct().Count();
        var done = new List<int>();
        var sum = 0;
        foreach (var index in taken)
        {
            if (sum >= events)
            {
                break;
            }

            sum += queue.EventCounts[index];
            done.Add(index);
        }

        return sum == events
            ? done
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{what}: its details count {events:N0} handled events, which is not a whole number of the messages written ({sum:N0} after {done.Count})."));
    }

    /// <summary>A <c>grpc-status-details-bin</c> value: an unpadded base64 <see cref="Google.Rpc.Status"/>.</summary>
    public static Google.Rpc.Status ParseDetails(string base64) =>
        Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=')));

    /// <summary>The one <see cref="IngestResponse"/> of an OK answer's body (a 5-byte-prefixed message).</summary>
    public static IngestResponse ReadSingleResponse(byte[] body)
    {
        if (body.Length < 5)
        {
            throw new InvalidOperationException($"IngestStream answered OK without a response message ({body.Length} bytes).");
        }

        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        if (body[0] != 0 || 5 + length != body.Length)
        {
            throw new InvalidOperationException($"IngestStream's answer is not one uncompressed message (flag {body[0]}, length {length}, body {body.Length} bytes).");
        }

        return IngestResponse.Parser.ParseFrom(body, 5, length);
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    /// <summary>
    /// The request body of one call: the frames of a failed attempt first (if any), then frames taken from the set
    /// until it is empty, each flushed as written. <see cref="Close"/> stops it taking more, so that what a failed
    /// call took is known exactly even if its body is still being written when its answer arrives.
    /// </summary>
    private sealed class FramesContent : HttpContent
    {
        private readonly PayloadSet _queue;
        private readonly IReadOnlyList<int> _resend;
        private readonly LoadCounters _counters;
        private readonly int _maxMessages;
        private readonly Lock _lock = new();
        private readonly List<int> _taken = [];
        private bool _closed;
        private int _events;

        public FramesContent(PayloadSet queue, IReadOnlyList<int> resend, LoadCounters counters, int maxMessages)
        {
            _queue = queue;
            _resend = resend;
            _counters = counters;
            _maxMessages = maxMessages;
            Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        }

        /// <summary>Events of all payloads written.</summary>
        public int Events => Volatile.Read(ref _events);

        /// <summary>Takes no more payloads; returns every payload this call wrote or began to write (to resend if it failed).</summary>
        public IReadOnlyList<int> Close()
        {
            lock (_lock)
            {
                _closed = true;
                return [.. _taken];
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            // HttpClient may call this again (a new connection when the first never got going): write all taken so far again.
            List<int> again;
            lock (_lock)
            {
                again = _taken.Count > 0 ? [.. _taken] : [.. _resend];
                _taken.Clear();
                _taken.AddRange(again);
            }

            Volatile.Write(ref _events, 0);
            foreach (var index in again)
            {
                await WriteAsync(stream, index, cancellationToken);
            }

            while (true)
            {
                int index;
                lock (_lock)
                {
                    if (_closed || _taken.Count >= _maxMessages || !_queue.TryTake(out index))
                    {
                        break;
                    }

                    _taken.Add(index);
                }

                await WriteAsync(stream, index, cancellationToken);
                _counters.Progress(_queue.EventCounts[index]);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        private async Task WriteAsync(Stream stream, int index, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(_queue.Payloads[index], cancellationToken);
            await stream.FlushAsync(cancellationToken);
            Interlocked.Add(ref _events, _queue.EventCounts[index]);
        }
    }
}

using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using HealthScoring.Api.Ingestion;

namespace HealthScoring.Cli.Import;

/// <summary>
/// Sends a JSON-lines file of Segment calls to a HealthScoring API's <c>POST /v1/batch</c>, as a Segment library
/// would: batches under the 500 KB limit, HTTP Basic auth with the write key as user name, a few requests in flight.
/// A batch that meets a retryable failure (connection error, 408, 429, 5xx) is sent again, whole, after the wait the
/// server asks for (<c>Retry-After</c>) or a growing backoff: messageIds make the repeat store nothing twice.
/// </summary>
internal sealed class HttpEventSender(HttpClient http, HttpEventSender.Options options)
{
    /// <summary>How the sender batches and retries; the defaults suit a local API.</summary>
    public sealed record Options
    {
        /// <summary>Largest request body; Segment's batch limit is 500 KB, and a little headroom avoids a 413.</summary>
        public int MaxBatchBytes { get; init; } = 480 * 1024;

        /// <summary>Requests in flight at once.</summary>
        public int Concurrency { get; init; } = 4;

        /// <summary>Attempts per batch before the import gives up.</summary>
        public int MaxAttempts { get; init; } = 10;

        /// <summary>First backoff; it doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
        public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

        public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(20);
    }

    /// <summary>One request's worth of lines, and the file line each batch index stands for.</summary>
    private sealed record Batch(byte[] Body, int[] Lines, long FilePosition);

    /// <summary>Authenticates <paramref name="client"/> with <paramref name="writeKey"/> the way Segment libraries do.</summary>
    public static void UseWriteKey(HttpClient client, string writeKey) =>
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));

    public async Task<ImportSummary> SendAsync(FileInfo file, CancellationToken cancellationToken)
    {
        var summary = new ImportSummary();
        var summaryLock = new Lock();
        await using var input = JsonLinesFile.Open(file);
        long sent = 0;
        await Progress.RunAsync($"sending {file.Name} to {http.BaseAddress}", input.Length, "bytes", "events", async report =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var channel = Channel.CreateBounded<Batch>(new BoundedChannelOptions(options.Concurrency * 2) { SingleWriter = true });
            var senders = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
            {
                await foreach (var batch in channel.Reader.ReadAllAsync(stop.Token))
                {
                    var answer = await SendWithRetriesAsync(batch, stop.Token);
                    lock (summaryLock)
                    {
                        summary.Add(answer.Accepted, answer.Duplicates, answer.Unassigned, answer.Errors);
                    }

                    report(batch.FilePosition, Interlocked.Add(ref sent, batch.Lines.Length));
                }
            }, stop.Token)).ToList();

            var lines = 0;
            try
            {
                lines = await ReadBatchesAsync(input, channel.Writer, line =>
                {
                    lock (summaryLock)
                    {
                        summary.Add(0, 0, 0, [new ItemError(line, "", "malformed JSON (not one JSON object)")]);
                    }
                }, stop.Token);
            }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
            finally
            {
                channel.Writer.TryComplete();
            }

            // The first sender to fail stops the others, so the import ends with that failure rather than a hang.
            var running = senders.ToList();
            while (running.Count > 0)
            {
                var done = await Task.WhenAny(running);
                running.Remove(done);
                if (done.IsFaulted)
                {
                    await stop.CancelAsync();
                    await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
                    await done;
                }
            }

            summary.Lines = lines;
            report(input.Length, Interlocked.Read(ref sent));
            return true;
        });
        return summary;
    }

    private async Task<int> ReadBatchesAsync(JsonLinesFile input, ChannelWriter<Batch> writer, Action<int> onMalformed, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(options.MaxBatchBytes + 1024);
        var lines = new List<int>();
        var lineNumber = 0;

        async Task FlushAsync()
        {
            if (lines.Count == 0)
            {
                return;
            }

            body.Write("]}"u8);
            await writer.WriteAsync(new Batch(body.WrittenSpan.ToArray(), [.. lines], input.Position), cancellationToken);
            body.ResetWrittenCount();
            lines.Clear();
        }

        while (await input.Reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(line.Trim());
            if (lines.Count > 0 && body.WrittenCount + bytes.Length + 3 > options.MaxBatchBytes)
            {
                await FlushAsync();
            }

            // Lines go as they are and the server validates each; a line that is not even JSON would spoil its whole
            // request, so it is rejected here, as the direct import rejects it.
            if (!IsJsonObject(bytes))
            {
                onMalformed(lineNumber);
                continue;
            }

            body.Write(lines.Count == 0 ? "{\"batch\":["u8 : ","u8);
            body.Write<byte>(bytes);
            lines.Add(lineNumber);
        }

        await FlushAsync();
        return lineNumber;
    }

    private static bool IsJsonObject(byte[] line)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed record Answer(long Accepted, long Duplicates, long Unassigned, IReadOnlyList<ItemError> Errors);

    private async Task<Answer> SendWithRetriesAsync(Batch batch, CancellationToken cancellationToken)
    {
        var backoff = options.FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            TimeSpan? wait = null;
            try
            {
                using var content = new ByteArrayContent(batch.Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(new Uri("v1/batch", UriKind.Relative), content, cancellationToken);
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest)
                {
                    if (await ReadAnswerAsync(response, batch, cancellationToken) is { } answer)
                    {
                        return answer;
                    }
                }

                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new CliException($"{http.BaseAddress} refused the write key ({(int)response.StatusCode}): check --write-key.");
                }

                failure = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                if (!IsRetryable(response.StatusCode))
                {
                    throw new CliException($"{http.BaseAddress}v1/batch answered {failure} for the batch starting at line {batch.Lines[0]}: {await DetailAsync(response, cancellationToken)}");
                }

                wait = response.Headers.RetryAfter?.Delta
                    ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            }
            catch (HttpRequestException ex)
            {
                failure = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = "the request timed out";
            }

            if (attempt >= options.MaxAttempts)
            {
                throw new CliException($"Gave up on the batch starting at line {batch.Lines[0]} after {attempt} attempts ({failure}); rerun the import: what was stored is not stored twice.");
            }

            var delay = wait is { } asked && asked > TimeSpan.Zero ? (asked < options.MaxBackoff ? asked : options.MaxBackoff) : backoff;
            await Task.Delay(delay, cancellationToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
        }
    }

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>The counts of a 200, or of a 400 that lists per-item errors; null for a 400 about the whole request.</summary>
    private static async Task<Answer?> ReadAnswerAsync(HttpResponseMessage response, Batch batch, CancellationToken cancellationToken)
    {
        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        var root = document.RootElement;
        long Count(string name) => root.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) ? n : 0;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return new Answer(Count("accepted"), Count("duplicates"), Count("unassigned"), []);
        }

        if (!root.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var items = new List<ItemError>();
        foreach (var error in errors.EnumerateArray())
        {
            var index = error.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) && n >= 0 && n < batch.Lines.Length ? n : 0;
            items.Add(new ItemError(
                batch.Lines[index],
                error.TryGetProperty("field", out var field) ? field.GetString() ?? "" : "",
                error.TryGetProperty("reason", out var reason) ? reason.GetString() ?? "rejected" : "rejected"));
        }

        return new Answer(Count("accepted"), Count("duplicates"), Count("unassigned"), items);
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.TryGetProperty("detail", out var detail) && detail.GetString() is { } said)
            {
                return said;
            }
        }
        catch (JsonException)
        {
            // Not problem details: show the start of whatever it was.
        }

        return text.Length > 200 ? text[..200] : text;
    }
}

using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace HealthScoring.Integrations.Stripe;

/// <summary>One event read from a Stripe events file.</summary>
/// <param name="LineNumber">1-based line of the file.</param>
/// <param name="IndexInPage">The event's index in <c>data</c> when the line is a <c>GET /v1/events</c> list page; null for a line holding one event.</param>
/// <param name="Result">The parsed event, or the error for this line or page item.</param>
public sealed record StripeEventsFileEntry(long LineNumber, int? IndexInPage, StripeEventParseResult Result);

/// <summary>
/// Streams a JSON-lines file of Stripe events: each non-blank line is either one event object or one
/// <c>GET /v1/events</c> list page (<c>{"object":"list","data":[…]}</c>), whose events are yielded in page order.
/// The file may be gzip-compressed (by a <c>.gz</c> name or the gzip magic bytes). Lines are read one at a time;
/// a bad line yields an <see cref="InvalidStripeEvent"/> with its line number and reading goes on.
/// </summary>
public static class StripeEventsFile
{
    public static IEnumerable<StripeEventsFileEntry> Read(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ReadFile(path, cancellationToken);
    }

    /// <summary>
    /// Reads from <paramref name="stream"/>, which is left open; gzip is detected from the first bytes. The stream is
    /// consumed, so the sequence can be enumerated once.
    /// </summary>
    public static IEnumerable<StripeEventsFileEntry> Read(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadStream(stream, gzipByName: false, cancellationToken);
    }

    public static IAsyncEnumerable<StripeEventsFileEntry> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ReadFileAsync(path, cancellationToken);
    }

    /// <summary>Reads from <paramref name="stream"/>, which is left open; gzip is detected from the first bytes.</summary>
    public static IAsyncEnumerable<StripeEventsFileEntry> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadStreamAsync(stream, gzipByName: false, cancellationToken);
    }

    /// <summary>Parses one line: an event, a list page of events, or (for anything else) one error entry. A blank line gives nothing.</summary>
    public static IReadOnlyList<StripeEventsFileEntry> ParseLine(string line, long lineNumber)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (string.IsNullOrWhiteSpace(line))
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!IsListPage(root))
            {
                return [new StripeEventsFileEntry(lineNumber, null, StripeEventParser.Parse(root))];
            }

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                var error = new StripeEventParseError(StripeEventErrorKind.MissingField, "data", "The list page has no 'data' array.");
                return [new StripeEventsFileEntry(lineNumber, null, new InvalidStripeEvent(error))];
            }

            var entries = new List<StripeEventsFileEntry>(data.GetArrayLength());
            var index = 0;
            foreach (var stripeEvent in data.EnumerateArray())
            {
                entries.Add(new StripeEventsFileEntry(lineNumber, index++, StripeEventParser.Parse(stripeEvent)));
            }

            return entries;
        }
        catch (JsonException ex)
        {
            var error = new StripeEventParseError(StripeEventErrorKind.InvalidJson, "$", $"Line {lineNumber} is not valid JSON: {ex.Message}");
            return [new StripeEventsFileEntry(lineNumber, null, new InvalidStripeEvent(error))];
        }
    }

    private static bool IsListPage(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("object", out var kind)
        && kind.ValueKind == JsonValueKind.String
        && kind.ValueEquals("list"u8);

    private static bool HasGzipName(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    private static FileStream OpenFile(string path, bool useAsync) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            Options = FileOptions.SequentialScan | (useAsync ? FileOptions.Asynchronous : FileOptions.None),
        });

    private static IEnumerable<StripeEventsFileEntry> ReadFile(string path, CancellationToken cancellationToken)
    {
        using var file = OpenFile(path, useAsync: false);
        foreach (var entry in ReadStream(file, HasGzipName(path), cancellationToken))
        {
            yield return entry;
        }
    }

    private static async IAsyncEnumerable<StripeEventsFileEntry> ReadFileAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var file = OpenFile(path, useAsync: true);
        await using (file)
        {
            await foreach (var entry in ReadStreamAsync(file, HasGzipName(path), cancellationToken))
            {
                yield return entry;
            }
        }
    }

    private static IEnumerable<StripeEventsFileEntry> ReadStream(Stream raw, bool gzipByName, CancellationToken cancellationToken)
    {
        var prefix = new byte[2];
        var prefixLength = raw.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        using var decoded = Decode(raw, prefix.AsMemory(0, prefixLength), gzipByName);
        using var reader = new StreamReader(decoded, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        long lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lineNumber++;
            foreach (var entry in ParseLine(line, lineNumber))
            {
                yield return entry;
            }
        }
    }

    private static async IAsyncEnumerable<StripeEventsFileEntry> ReadStreamAsync(
        Stream raw,
        bool gzipByName,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = new byte[2];
        var prefixLength = await raw.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken);
        var decoded = Decode(raw, prefix.AsMemory(0, prefixLength), gzipByName);
        await using (decoded)
        {
            using var reader = new StreamReader(decoded, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            long lineNumber = 0;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                foreach (var entry in ParseLine(line, lineNumber))
                {
                    yield return entry;
                }
            }
        }
    }

    /// <summary>Puts the peeked bytes back in front of the stream and adds gzip decompression when needed. Disposing the result leaves <paramref name="raw"/> open.</summary>
    private static Stream Decode(Stream raw, ReadOnlyMemory<byte> peeked, bool gzipByName)
    {
        var isGzip = gzipByName || (peeked.Length == 2 && peeked.Span[0] == 0x1F && peeked.Span[1] == 0x8B);
        var whole = new PrefixedStream(peeked.ToArray(), raw);
        return isGzip ? new GZipStream(whole, CompressionMode.Decompress, leaveOpen: false) : whole;
    }

    /// <summary>A read-only stream that yields <c>prefix</c> and then the rest of <c>inner</c>; it does not own <c>inner</c>.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private int _prefixPosition;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (TakePrefix(buffer) is var taken and > 0)
            {
                return taken;
            }

            return inner.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (TakePrefix(buffer.Span) is var taken and > 0)
            {
                return ValueTask.FromResult(taken);
            }

            return inner.ReadAsync(buffer, cancellationToken);
        }

        private int TakePrefix(Span<byte> buffer)
        {
            var remaining = prefix.Length - _prefixPosition;
            if (remaining == 0 || buffer.IsEmpty)
            {
                return 0;
            }

            var count = Math.Min(remaining, buffer.Length);
            prefix.AsSpan(_prefixPosition, count).CopyTo(buffer);
            _prefixPosition += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

using System.Buffers;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using HealthScoring.Api.Resilience;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Segment's HTTP tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/):
/// POST /v1/track, /v1/identify, /v1/group and /v1/batch, authenticated by write key, so an existing Segment or
/// RudderStack pipeline can point at HealthScoring unchanged.
/// </summary>
public static class SegmentHttpEndpoints
{
    public static IEndpointRouteBuilder MapSegmentIngestion(this IEndpointRouteBuilder app)
    {
        // Ingest is limited in events (BackPressure), not by the per-request query limit.
        var v1 = app.MapGroup("/v1").RequireAuthorization(TenancyExtensions.IngestPolicy).DisableAntiforgery().DisableRateLimiting();
        v1.MapPost("/track", (HttpContext http, IngestionPipeline pipeline, IOptions<IngestionOptions> options, BackPressure limits) => SingleAsync(http, pipeline, options.Value, limits, MessageType.Track));
        v1.MapPost("/identify", (HttpContext http, IngestionPipeline pipeline, IOptions<IngestionOptions> options, BackPressure limits) => SingleAsync(http, pipeline, options.Value, limits, MessageType.Identify));
        v1.MapPost("/group", (HttpContext http, IngestionPipeline pipeline, IOptions<IngestionOptions> options, BackPressure limits) => SingleAsync(http, pipeline, options.Value, limits, MessageType.Group));
        v1.MapPost("/batch", BatchAsync);
        return app;
    }

    private static async Task<IResult> SingleAsync(HttpContext http, IngestionPipeline pipeline, IngestionOptions options, BackPressure limits, MessageType type)
    {
        // The slot is taken before the body is read, so that waiting requests hold no parsed bodies.
        using var slot = await limits.EnterIngestAsync(http.RequestAborted);
        var (body, size, problem) = await ReadBodyAsync(http, options.MaxMessageBytes);
        if (problem is not null)
        {
            return problem;
        }

        using var document = body!;
        var item = SegmentJsonReader.Read(document.Root, 0, type, size);
        limits.TakeEvents(BackPressure.IngestPartition(http.User), 1);
        var outcome = await pipeline.IngestAsync(http.User.TenantId(), [item], item.Message?.SentAt, "http", http.RequestAborted);
        return Answer(outcome, 1);
    }

    private static async Task<IResult> BatchAsync(HttpContext http, IngestionPipeline pipeline, IOptions<IngestionOptions> options, BackPressure limits)
    {
        using var slot = await limits.EnterIngestAsync(http.RequestAborted);
        var (body, _, problem) = await ReadBodyAsync(http, options.Value.MaxBatchBytes);
        if (problem is not null)
        {
            return problem;
        }

        using var document = body!;
        var root = document.Root;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
        {
            return Problem(StatusCodes.Status400BadRequest, "Not a batch", "The body must be a JSON object with a \"batch\" array of track, identify and group calls.");
        }

        DateTimeOffset? sentAt = null;
        if (root.TryGetProperty("sentAt", out var sent) && (sent.ValueKind != JsonValueKind.String || !SegmentJsonReader.TryParseTime(sent.GetString()!, out var parsed) || (sentAt = parsed) is null))
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad sentAt", "\"sentAt\" must be an ISO-8601 date and time.");
        }

        var hasContext = root.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object;
        if (hasContext && StorableJson.Check(JsonMarshal.GetRawUtf8Value(c)) is { } unstorable)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad context", $"The batch's \"context\" {unstorable}.");
        }

        var batchContext = hasContext ? JsonSerializer.Deserialize<JsonObject>(c) : null;
        var items = new List<ParsedItem>(batch.GetArrayLength());
        var index = 0;
        foreach (var element in batch.EnumerateArray())
        {
            // The message's size in characters, as its raw text would have, without copying it into a string.
            var item = SegmentJsonReader.Read(element, index++, null, Encoding.UTF8.GetCharCount(JsonMarshal.GetRawUtf8Value(element)));
            if (batchContext is not null && item.Message is not null)
            {
                // Batch-level context applies to every message, under what the message says itself.
                var merged = (JsonObject)batchContext.DeepClone();
                foreach (var (key, value) in item.Message.Context ?? [])
                {
                    merged[key] = value?.DeepClone();
                }

                item = item with { Message = item.Message with { Context = merged } };
            }

            items.Add(item);
        }

        limits.TakeEvents(BackPressure.IngestPartition(http.User), items.Count);
        var outcome = await pipeline.IngestAsync(http.User.TenantId(), items, sentAt, "http", http.RequestAborted);
        return Answer(outcome, items.Count);
    }

    private static IResult Answer(IngestOutcome outcome, int count)
    {
        if (outcome.Errors.Count == 0)
        {
            return TypedResults.Ok(new { success = true, accepted = outcome.Accepted, duplicates = outcome.Duplicates, unassigned = outcome.Unassigned });
        }

        var rejected = outcome.Errors.Select(e => e.Index).Distinct().Count();
        return TypedResults.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "Some messages were rejected",
            detail: $"{rejected} of {count} message(s) were rejected; the other {count - rejected} were stored (or already had been).",
            extensions: new Dictionary<string, object?>
            {
                ["accepted"] = outcome.Accepted,
                ["duplicates"] = outcome.Duplicates,
                ["unassigned"] = outcome.Unassigned,
                ["errors"] = outcome.Errors.Select(e => new { index = e.Index, field = e.Field, reason = e.Reason }).ToList(),
            });
    }

    /// <summary>
    /// A parsed body and the pooled buffer it was read into. A JsonDocument parsed from memory reads its values from
    /// that memory for as long as it lives, so the buffer goes back to the pool only when the document is disposed:
    /// returned earlier, another request would rent it and overwrite this one's messages while they are read.
    /// </summary>
    internal sealed class PooledJson(JsonDocument document, byte[] buffer) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public JsonElement Root => document.RootElement;

        public void Dispose()
        {
            document.Dispose();
            if (Interlocked.Exchange(ref _buffer, null) is { } rented)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Reads the body up to <paramref name="limit"/> bytes (after gzip, if any) and parses it as JSON.</summary>
    internal static async Task<(PooledJson? Document, int Size, IResult? Problem)> ReadBodyAsync(HttpContext http, int limit)
    {
        if (http.Request.ContentLength > limit && !IsGzip(http))
        {
            return (null, 0, TooLarge(limit));
        }

        var source = IsGzip(http) ? new GZipStream(http.Request.Body, CompressionMode.Decompress, leaveOpen: true) : http.Request.Body;
        var buffer = ArrayPool<byte>.Shared.Rent(limit + 1);
        var parsed = false;
        try
        {
            var length = 0;
            try
            {
                int read;
                while (length <= limit && (read = await source.ReadAsync(buffer.AsMemory(length, limit + 1 - length), http.RequestAborted)) > 0)
                {
                    length += read;
                }
            }
            catch (InvalidDataException)
            {
                return (null, 0, Problem(StatusCodes.Status400BadRequest, "Bad gzip body", "Content-Encoding says gzip but the body is not valid gzip."));
            }
            catch (BadHttpRequestException ex)
            {
                // The client sent less than it announced, or broke off: its error, not the host's (nothing was stored).
                return (null, 0, Problem(ex.StatusCode, "Incomplete request body", $"The body could not be read whole: {ex.Message}"));
            }

            if (length > limit)
            {
                return (null, 0, TooLarge(limit));
            }

            // JSON is UTF-8 (RFC 8259); the parser would let invalid bytes through inside strings.
            if (!Utf8.IsValid(buffer.AsSpan(0, length)))
            {
                return (null, 0, Problem(StatusCodes.Status400BadRequest, "Malformed JSON", "The body is not valid UTF-8."));
            }

            try
            {
                var document = JsonDocument.Parse(buffer.AsMemory(0, length), new JsonDocumentOptions { MaxDepth = 64 });
                parsed = true;
                return (new PooledJson(document, buffer), length, null);
            }
            catch (JsonException ex)
            {
                return (null, 0, Problem(StatusCodes.Status400BadRequest, "Malformed JSON", $"The body is not valid JSON: {ex.Message}"));
            }
        }
        finally
        {
            if (!parsed)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (source != http.Request.Body)
            {
                await source.DisposeAsync();
            }
        }
    }

    private static bool IsGzip(HttpContext http) => http.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase);

    private static ProblemHttpResult TooLarge(int limit) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Payload too large", $"The request is larger than {limit / 1024} KB, the limit for this endpoint (Segment's limits: 32 KB per message, 500 KB per batch).");

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(statusCode: status, title: title, detail: detail);
}

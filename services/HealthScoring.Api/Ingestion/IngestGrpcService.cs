using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Resilience;
using HealthScoring.Api.Tenancy;
using HealthScoring.Contracts.V1;
using StatusCode = HealthScoring.Api.Grpc.StatusCode;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// <c>healthscoring.v1.Ingest</c> (protos/healthscoring/v1/ingest.proto): the same pipeline as the Segment HTTP
/// API, for backend services. Authenticated by <c>authorization: Bearer &lt;key&gt;</c> metadata; rejected items
/// come back as INVALID_ARGUMENT with a google.rpc.BadRequest naming each one, after the valid ones were stored.
/// </summary>
public static class IngestGrpcService
{
    public const string Service = "healthscoring.v1.Ingest";

    public static IEndpointRouteBuilder MapIngestGrpc(this IEndpointRouteBuilder app)
    {
        // Anonymous at the HTTP level: the key is checked here, so that a missing or bad key is a gRPC
        // UNAUTHENTICATED status with a message, not a bare HTTP 401.
        app.MapGrpcUnary<IngestBatchRequest, IngestResponse>(Service, "IngestBatch", BatchAsync).AllowAnonymous();
        app.MapGrpcClientStreaming<IngestBatchRequest, IngestResponse>(Service, "IngestStream", StreamAsync).AllowAnonymous();
        return app;
    }

    private static async Task<IngestResponse> BatchAsync(IngestBatchRequest request, GrpcCallContext context)
    {
        var caller = await AuthenticateAsync(context);
        var outcome = await caller.IngestAsync(request, 0, context.CancellationToken);
        return Answer(outcome, request.Messages.Count);
    }

    /// <summary>
    /// Each message is stored as it arrives. A refusal (rate limit, busy host, database away) ends the call with a
    /// retryable status; messages stored before it are not acknowledged, so the client sends the stream again and
    /// their messageIds make the repeat store nothing twice.
    /// </summary>
    private static async Task<IngestResponse> StreamAsync(IAsyncEnumerable<IngestBatchRequest> requests, GrpcCallContext context)
    {
        var caller = await AuthenticateAsync(context);
        var total = IngestOutcome.Empty;
        var count = 0;
        try
        {
            await foreach (var request in requests.WithCancellation(context.CancellationToken))
            {
                total = total.Add(await caller.IngestAsync(request, count, context.CancellationToken));
                count += request.Messages.Count;
            }
        }
        catch (GrpcServerStoppingException stopped)
        {
            // The host is shutting down with the stream still open: answer what was read (committed, so durable),
            // and leave the rest to the client's retry. UNAVAILABLE, not OK: an OK would let a client take the
            // messages it wrote after the last one read as delivered.
            var message = $"The server is shutting down: the first {stopped.MessagesRead} request message(s) of this stream ({count} events) were handled and are durable " +
                "(their counts are in the details); the rest were not read: send them again.";
            throw new GrpcException(StatusCode.Unavailable, message, Details(total, Response(total)));
        }

        return Answer(total, count);
    }

    private static async Task<Caller> AuthenticateAsync(GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync();
        var services = context.HttpContext.RequestServices;
        return new Caller(principal.TenantId, principal.KeyId, services.GetRequiredService<IngestionPipeline>(), services.GetRequiredService<BackPressure>());
    }

    private sealed record Caller(string TenantId, string KeyId, IngestionPipeline Pipeline, BackPressure Limits)
    {
        /// <summary>One request message through the same limits as an HTTP batch: a host slot, then the key's events.</summary>
        public async Task<IngestOutcome> IngestAsync(IngestBatchRequest request, int offset, CancellationToken cancellationToken)
        {
            using var slot = await Limits.EnterIngestAsync(cancellationToken);
            Limits.TakeEvents(KeyId, request.Messages.Count);
            return await Pipeline.IngestAsync(TenantId, Read(request, offset), request.SentAt?.ToDateTimeOffset(), "grpc", cancellationToken);
        }
    }

    private static IngestResponse Answer(IngestOutcome outcome, int count)
    {
        var response = Response(outcome);
        if (outcome.Errors.Count == 0)
        {
            return response;
        }

        var rejected = outcome.Errors.Select(e => e.Index).Distinct().Count();
        var message = $"{rejected} of {count} message(s) were rejected; the other {count - rejected} were stored (or already had been).";
        throw new GrpcException(StatusCode.InvalidArgument, message, Details(outcome, response));
    }

    private static IngestResponse Response(IngestOutcome outcome)
    {
        var response = new IngestResponse { Accepted = outcome.Accepted, Duplicates = outcome.Duplicates, Unassigned = outcome.Unassigned };
        response.Errors.AddRange(outcome.Errors.Select(e => new Contracts.V1.ItemError { Index = e.Index, Field = e.Field, Reason = e.Reason }));
        return response;
    }

    /// <summary>The rich status: a google.rpc.BadRequest naming each rejected item (when any), then the <see cref="IngestResponse"/>.</summary>
    private static Google.Rpc.Status Details(IngestOutcome outcome, IngestResponse response)
    {
        var status = new Google.Rpc.Status();
        if (outcome.Errors.Count > 0)
        {
            var badRequest = new Google.Rpc.BadRequest();
            badRequest.FieldViolations.AddRange(outcome.Errors.Select(e => new Google.Rpc.BadRequest.Types.FieldViolation
            {
                Field = string.IsNullOrEmpty(e.Field) ? $"messages[{e.Index}]" : $"messages[{e.Index}].{e.Field}",
                Description = e.Reason,
            }));
            status.Details.Add(Any.Pack(badRequest));
        }

        status.Details.Add(Any.Pack(response));
        return status;
    }

    private static List<ParsedItem> Read(IngestBatchRequest request, int offset)
    {
        var items = new List<ParsedItem>(request.Messages.Count);
        for (var i = 0; i < request.Messages.Count; i++)
        {
            items.Add(Read(request.Messages[i], offset + i));
        }

        return items;
    }

    private static ParsedItem Read(SegmentMessage message, int index)
    {
        try
        {
            return ReadUnchecked(message, index);
        }
        catch (InvalidStructException ex)
        {
            return new ParsedItem(index, null, [new ItemError(index, ex.Field, ex.Message)]);
        }
    }

    private static ParsedItem ReadUnchecked(SegmentMessage message, int index)
    {
        var size = message.CalculateSize();
        IncomingMessage? m = message.CallCase switch
        {
            SegmentMessage.CallOneofCase.Track => From(MessageType.Track, message.Track.Common, size) with
            {
                Event = Text(message.Track.Event),
                Properties = Json(message.Track.Properties, "properties"),
                GroupId = Text(message.Track.GroupId),
            },
            SegmentMessage.CallOneofCase.Identify => From(MessageType.Identify, message.Identify.Common, size) with { Traits = Json(message.Identify.Traits, "traits") },
            SegmentMessage.CallOneofCase.Group => From(MessageType.Group, message.Group.Common, size) with
            {
                GroupId = Text(message.Group.GroupId),
                Traits = Json(message.Group.Traits, "traits"),
            },
            _ => null,
        };
        if (m is null)
        {
            return new ParsedItem(index, null, [new ItemError(index, "call", "one of track, identify or group is required")]);
        }

        // As over HTTP, a track may name its account in context.groupId.
        if (m.Type == MessageType.Track && m.GroupId is null && m.Context?["groupId"] is JsonValue g && g.TryGetValue(out string? fromContext))
        {
            m = m with { GroupId = fromContext };
        }

        return new ParsedItem(index, m, []);
    }

    private static IncomingMessage From(MessageType type, Common? common, int size) => new()
    {
        Type = type,
        MessageId = Text(common?.MessageId),
        UserId = Text(common?.UserId),
        AnonymousId = Text(common?.AnonymousId),
        Context = Json(common?.Context, "context"),
        Timestamp = common?.Timestamp?.ToDateTimeOffset(),
        SentAt = common?.SentAt?.ToDateTimeOffset(),
        Size = size,
    };

    private static string? Text(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The deepest nesting accepted in a Struct, as System.Text.Json's default for HTTP bodies.</summary>
    private const int MaxDepth = 64;

    /// <summary>
    /// A protobuf Struct as the JsonObject the HTTP path would have parsed, built directly (formatting to JSON text
    /// and parsing it back cost most of a gRPC event's CPU). NaN and infinities, which JSON cannot hold, are refused.
    /// </summary>
    internal static JsonObject? Json(Struct? value, string field) => value is null ? null : ToObject(value, 1, field);

    private static JsonObject ToObject(Struct value, int depth, string name)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidStructException($"nests deeper than {MaxDepth} levels", name);
        }

        var json = new JsonObject();
        foreach (var (key, item) in value.Fields)
        {
            json[Storable(key, name)] = ToNode(item, depth, name);
        }

        return json;
    }

    private static JsonNode? ToNode(Value value, int depth, string name) => value.KindCase switch
    {
        Value.KindOneofCase.NullValue or Value.KindOneofCase.None => null,
        Value.KindOneofCase.BoolValue => JsonValue.Create(value.BoolValue),
        Value.KindOneofCase.StringValue => JsonValue.Create(Storable(value.StringValue, name)),
        Value.KindOneofCase.NumberValue when double.IsFinite(value.NumberValue) => JsonValue.Create(value.NumberValue),
        Value.KindOneofCase.NumberValue => throw new InvalidStructException("holds a NaN or infinite number, which JSON cannot represent", name),
        Value.KindOneofCase.StructValue => ToObject(value.StructValue, depth + 1, name),
        Value.KindOneofCase.ListValue => ToArray(value.ListValue, depth + 1, name),
        _ => throw new InvalidStructException($"holds an unknown value kind {value.KindCase}", name),
    };

    private static JsonArray ToArray(ListValue list, int depth, string name)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidStructException($"nests deeper than {MaxDepth} levels", name);
        }

        var array = new JsonArray();
        foreach (var item in list.Values)
        {
            array.Add(ToNode(item, depth, name));
        }

        return array;
    }

    // PostgreSQL's jsonb cannot hold NUL (protobuf strings can; unpaired surrogates cannot reach here: the decoder replaces them).
    private static string Storable(string text, string name) =>
        text.Contains('\0', StringComparison.Ordinal) ? throw new InvalidStructException("holds a NUL character, which cannot be stored", name) : text;

    private sealed class InvalidStructException(string reason, string field) : Exception(reason)
    {
        public string Field { get; } = field;
    }
}

using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
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
        var (tenant, pipeline) = await AuthenticateAsync(context);
        var outcome = await pipeline.IngestAsync(tenant, Read(request, 0), request.SentAt?.ToDateTimeOffset(), "grpc", context.CancellationToken);
        return Answer(outcome, request.Messages.Count);
    }

    private static async Task<IngestResponse> StreamAsync(IAsyncEnumerable<IngestBatchRequest> requests, GrpcCallContext context)
    {
        var (tenant, pipeline) = await AuthenticateAsync(context);
        var total = IngestOutcome.Empty;
        var count = 0;
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            total = total.Add(await pipeline.IngestAsync(tenant, Read(request, count), request.SentAt?.ToDateTimeOffset(), "grpc", context.CancellationToken));
            count += request.Messages.Count;
        }

        return Answer(total, count);
    }

    private static async Task<(string Tenant, IngestionPipeline Pipeline)> AuthenticateAsync(GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync();
        return (principal.TenantId, context.HttpContext.RequestServices.GetRequiredService<IngestionPipeline>());
    }

    private static IngestResponse Answer(IngestOutcome outcome, int count)
    {
        var response = new IngestResponse { Accepted = outcome.Accepted, Duplicates = outcome.Duplicates, Unassigned = outcome.Unassigned };
        response.Errors.AddRange(outcome.Errors.Select(e => new Contracts.V1.ItemError { Index = e.Index, Field = e.Field, Reason = e.Reason }));
        if (outcome.Errors.Count == 0)
        {
            return response;
        }

        var badRequest = new Google.Rpc.BadRequest();
        badRequest.FieldViolations.AddRange(outcome.Errors.Select(e => new Google.Rpc.BadRequest.Types.FieldViolation
        {
            Field = string.IsNullOrEmpty(e.Field) ? $"messages[{e.Index}]" : $"messages[{e.Index}].{e.Field}",
            Description = e.Reason,
        }));
        var rejected = outcome.Errors.Select(e => e.Index).Distinct().Count();
        var message = $"{rejected} of {count} message(s) were rejected; the other {count - rejected} were stored (or already had been).";
        var status = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
        status.Details.Add(Any.Pack(badRequest));
        status.Details.Add(Any.Pack(response));
        throw new GrpcException(StatusCode.InvalidArgument, message, status);
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

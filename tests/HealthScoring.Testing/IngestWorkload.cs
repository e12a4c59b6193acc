using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Ingestion;
using HealthScoring.Contracts.V1;
using HealthScoring.EventStore;

namespace HealthScoring.Testing;

/// <summary>One generated Segment <c>track</c> call, held compactly (the default workload is a million of them).</summary>
/// <param name="MessageId">Segment's messageId (a random UUID, as Segment's libraries send).</param>
/// <param name="Account">Index of the account (Segment group) the user belongs to.</param>
/// <param name="User">Index of the user within the account.</param>
/// <param name="Event">Index into <see cref="IngestWorkload.EventNames"/>.</param>
/// <param name="Feature">Index into <see cref="IngestWorkload.Features"/> (properties.feature).</param>
/// <param name="Count">properties.count.</param>
/// <param name="Ticks">When it happened (UTC ticks, whole milliseconds as Segment's ISO-8601 timestamps carry).</param>
public readonly record struct TrackCall(Guid MessageId, int Account, byte User, byte Event, byte Feature, byte Count, long Ticks);

/// <summary>
/// The ingest benchmark's input: deterministic Segment track calls of users of many accounts, in time order over
/// the 90 days before <see cref="Until"/>, each naming its account in <c>context.groupId</c>; and the same calls in
/// each shape a side needs: Segment batch JSON, gRPC <see cref="IngestBatchRequest"/> frames, or the stored
/// <see cref="TrackRecorded"/> event (for the raw append and the psql reference).
/// </summary>
public sealed class IngestWorkload
{
    private const int Seed = 20_261_122;

    /// <summary>The stored type name of <see cref="TrackRecorded"/> (the API registers it so).</summary>
    public const string TrackTypeName = "segment.track";

    public static readonly string[] EventNames =
        ["login", "report_viewed", "dashboard_opened", "export_created", "api_call", "seat_added", "alert_acknowledged", "integration_synced"];

    public static readonly string[] Features = ["reports", "dashboards", "alerts", "exports", "integrations", "admin"];

    private const string LibraryName = "healthscoring-bench";
    private const string LibraryVersion = "1.0.0";

    private static readonly TimeSpan Window = TimeSpan.FromDays(90);

    private IngestWorkload(TrackCall[] calls, string[] accountIds, string[][] users, DateTimeOffset until)
    {
        Calls = calls;
        AccountIds = accountIds;
        Users = users;
        Until = until;
    }

    public TrackCall[] Calls { get; }

    /// <summary>Account ids (Segment groupIds), by index.</summary>
    public string[] AccountIds { get; }

    /// <summary>User ids per account.</summary>
    public string[][] Users { get; }

    /// <summary>Every call happened before this instant (the start of the current UTC day) and at most 90 days before it.</summary>
    public DateTimeOffset Until { get; }

    /// <summary>Accounts that got at least one call (all of them unless there are more accounts than calls).</summary>
    public int AccountsUsed => Math.Min(AccountIds.Length, Calls.Length);

    /// <summary>
    /// Generates <paramref name="count"/> calls over <paramref name="accounts"/> accounts of 1-8 users each; every
    /// account gets count/accounts calls (the first count%accounts one more). Same arguments and day, same calls.
    /// </summary>
    public static IngestWorkload Generate(int count, int accounts, ProgressLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var sw = Stopwatch.StartNew();
        var random = new Random(Seed);
        var accountIds = new string[accounts];
        var users = new string[accounts][];
        for (var a = 0; a < accounts; a++)
        {
            accountIds[a] = string.Create(CultureInfo.InvariantCulture, $"account-{a + 1:D5}");
            users[a] = new string[1 + random.Next(8)];
            for (var u = 0; u < users[a].Length; u++)
            {
                users[a][u] = string.Create(CultureInfo.InvariantCulture, $"user-{a + 1:D5}-{u + 1:D2}");
            }
        }

        var accountOf = new int[count];
        for (var i = 0; i < count; i++)
        {
            accountOf[i] = i % accounts;
        }

        random.Shuffle(accountOf);

        var until = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero);
        var first = until - Window;
        var slot = Window.Ticks / count;
        var calls = new TrackCall[count];
        Span<byte> id = stackalloc byte[16];
        for (var i = 0; i < count; i++)
        {
            var a = accountOf[i];
            random.NextBytes(id);
            id[7] = (byte)((id[7] & 0x0F) | 0x40); // a well-formed version 4 (random) UUID
            id[8] = (byte)((id[8] & 0x3F) | 0x80);
            var ticks = first.Ticks + (slot * i) + random.NextInt64(slot);
            ticks -= ticks % TimeSpan.TicksPerMillisecond;
            calls[i] = new TrackCall(
                new Guid(id),
                a,
                (byte)random.Next(users[a].Length),
                (byte)random.Next(EventNames.Length),
                (byte)random.Next(Features.Length),
                (byte)(1 + random.Next(50)),
                ticks);
            if ((i + 1) % 100_000 == 0 || i + 1 == count)
            {
                log.Report("generating", i + 1, count, sw.Elapsed);
            }
        }

        return new IngestWorkload(calls, accountIds, users, until);
    }

    public string MessageId(int i) => Calls[i].MessageId.ToString("D");

    public string UserId(int i) => Users[Calls[i].Account][Calls[i].User];

    public string AccountId(int i) => AccountIds[Calls[i].Account];

    public DateTimeOffset Timestamp(int i) => new(Calls[i].Ticks, TimeSpan.Zero);

    /// <summary>The stream the API files the call under.</summary>
    public string StreamId(int i) => IngestionPipeline.AccountStream(AccountId(i));

    /// <summary>The event id the API derives from the messageId.</summary>
    public Guid EventId(int i) => IngestionPipeline.EventIdOf(MessageId(i));

    // ---------------------------------------------------------------- Segment HTTP: POST /v1/batch

    /// <summary>
    /// The body of one <c>/v1/batch</c> request with calls [<paramref name="offset"/>, +<paramref name="count"/>): no
    /// sentAt, so that the API stores each timestamp as sent (no clock-skew shift), as the reference does.
    /// </summary>
    public byte[] SegmentBatchJson(int offset, int count)
    {
        using var buffer = new MemoryStream(count * 360);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("batch");
            for (var i = offset; i < offset + count; i++)
            {
                var c = Calls[i];
                json.WriteStartObject();
                json.WriteString("type", "track");
                json.WriteString("messageId", c.MessageId);
                json.WriteString("userId", UserId(i));
                json.WriteString("event", EventNames[c.Event]);
                json.WriteStartObject("properties");
                json.WriteString("feature", Features[c.Feature]);
                json.WriteNumber("count", c.Count);
                json.WriteEndObject();
                json.WriteStartObject("context");
                json.WriteString("groupId", AccountIds[c.Account]);
                json.WriteStartObject("library");
                json.WriteString("name", LibraryName);
                json.WriteString("version", LibraryVersion);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteString("timestamp", Timestamp(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    // ---------------------------------------------------------------- gRPC: healthscoring.v1.Ingest/IngestStream

    /// <summary>One length-prefixed (5-byte header) <see cref="IngestBatchRequest"/> with calls [<paramref name="offset"/>, +<paramref name="count"/>).</summary>
    public byte[] IngestBatchFrame(int offset, int count)
    {
        var request = new IngestBatchRequest();
        for (var i = offset; i < offset + count; i++)
        {
            var c = Calls[i];
            var context = new Struct();
            context.Fields["groupId"] = Value.ForString(AccountIds[c.Account]);
            var library = new Struct();
            library.Fields["name"] = Value.ForString(LibraryName);
            library.Fields["version"] = Value.ForString(LibraryVersion);
            context.Fields["library"] = Value.ForStruct(library);
            var properties = new Struct();
            properties.Fields["feature"] = Value.ForString(Features[c.Feature]);
            properties.Fields["count"] = Value.ForNumber(c.Count);
            request.Messages.Add(new SegmentMessage
            {
                Track = new Track
                {
                    Common = new Common
                    {
                        MessageId = MessageId(i),
                        UserId = UserId(i),
                        Timestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Timestamp(i)),
                        Context = context,
                    },
                    Event = EventNames[c.Event],
                    Properties = properties,
                },
            });
        }

        var size = request.CalculateSize();
        var frame = new byte[5 + size];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
        request.WriteTo(frame.AsSpan(5));
        return frame;
    }

    // ---------------------------------------------------------------- the stored shape

    /// <summary>The call as the API stores it: a <see cref="TrackRecorded"/> in the account's stream, id derived from the messageId.</summary>
    public StreamEvent Stored(int i, DateTimeOffset receivedAt, EventMetadata metadata)
    {
        var c = Calls[i];
        var properties = new JsonObject
        {
            ["feature"] = Features[c.Feature],
            ["count"] = (int)c.Count,
        };
        var context = new JsonObject
        {
            ["groupId"] = AccountIds[c.Account],
            ["library"] = new JsonObject { ["name"] = LibraryName, ["version"] = LibraryVersion },
        };
        var data = new TrackRecorded(MessageId(i), UserId(i), null, EventNames[c.Event], properties, context, receivedAt, null);
        return new StreamEvent(StreamId(i), new NewEvent(EventId(i), data, metadata, Timestamp(i)));
    }
}

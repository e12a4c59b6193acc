using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>The gRPC doors: hostile messages, broken protobuf, and broken framing (grpc/grpc doc/PROTOCOL-HTTP2.md).</summary>
internal sealed partial class FuzzGenerator
{
    private const string IngestService = "/healthscoring.v1.Ingest/";
    private const string AccountsService = "/healthscoring.v1.Accounts/";

    private FuzzCase GrpcIngest(Random random, int n)
    {
        var path = IngestService + (random.Next(3) == 0 ? "IngestStream" : "IngestBatch");
        var request = new IngestBatchRequest();
        for (var i = 0; i < random.Next(1, 5); i++)
        {
            request.Messages.Add(SegmentMessage(random, n, i));
        }

        List<KeyValuePair<string, string>> auth = [Bearer(random.Next(2) == 0 ? targets.WriteKey : targets.ApiKey)];
        FuzzCase Make(string mutation, byte[] body, bool mustReject, string contentType = "application/grpc", List<KeyValuePair<string, string>>? headers = null) =>
            new(n, FuzzDoor.GrpcIngest, mutation, "POST", path, body, contentType, headers ?? auth, mustReject);

        switch (random.Next(16))
        {
            case 0:
                foreach (var m in request.Messages)
                {
                    Hostile(random, m, HostileValues.Storable);
                }

                return Make("hostile strings in fields", GrpcHttp.Frame(request.ToByteArray()), false);
            case 1:
                return Make("random bytes as protobuf", GrpcHttp.Frame(RandomBytes(random, random.Next(1, 2_000))), false);
            case 2:
                {
                    var bytes = request.ToByteArray();
                    for (var flips = random.Next(1, 6); flips > 0; flips--)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    return Make("bit flips in the protobuf", GrpcHttp.Frame(bytes[..random.Next(1, bytes.Length + 1)]), false);
                }

            case 3:
                {
                    var bytes = request.ToByteArray();
                    return Make("length prefix longer than the message", GrpcHttp.Frame(bytes, declaredLength: (uint)(bytes.Length + random.Next(1, 10_000))), true);
                }

            case 4:
                return Make("huge declared length", GrpcHttp.Frame(request.ToByteArray(), declaredLength: HostileValues.Pick(random, [4_194_305u, 2_147_483_647u, uint.MaxValue])), true);
            case 5:
                {
                    var flag = (byte)(random.Next(3) == 0 ? 1 : random.Next(2, 256));
                    var headers = random.Next(2) == 0 ? auth : [.. auth, new("grpc-encoding", HostileValues.Pick(random, ["gzip", "deflate", "snappy", "identity"]))];
                    return Make("compressed flag", GrpcHttp.Frame(request.ToByteArray(), compressedFlag: flag), flag != 1 || headers.Count > 1, headers: headers);
                }

            case 6:
                return Make("truncated frame header", GrpcHttp.Frame(request.ToByteArray())[..random.Next(1, 5)], true);
            case 7:
                return Make("wrong content type", GrpcHttp.Frame(request.ToByteArray()), true,
                    contentType: HostileValues.Pick(random, ["application/json", "text/plain", "application/grpc+json", "application/grpc-web", "application/grpc-web+proto", "application/grpcx", "application/octet-stream"]));
            case 8:
                return Make("bogus auth", GrpcHttp.Frame(request.ToByteArray()), true, headers: HostileAuth(random, grpc: true));
            case 9:
                return Make("deeply nested Struct", GrpcHttp.Frame(DeepTrackRequest(random, n)), true);
            case 10:
                foreach (var m in request.Messages)
                {
                    var properties = m.Track?.Properties ?? m.Identify?.Traits ?? m.Group?.Traits;
                    properties?.Fields.Add("n", Value.ForNumber(HostileValues.Pick(random, [double.NaN, double.PositiveInfinity, double.NegativeInfinity])));
                }

                return Make("NaN or infinity in a Struct", GrpcHttp.Frame(request.ToByteArray()), true);
            case 11:
                return path.EndsWith("IngestBatch", StringComparison.Ordinal)
                    ? Make("not exactly one message", random.Next(2) == 0 ? [] : [.. GrpcHttp.Frame(request.ToByteArray()), .. GrpcHttp.Frame(request.ToByteArray())], true)
                    : Make("empty stream", [], false);
            case 12:
                {
                    // The same number of bytes as the marker, so every length prefix stays right.
                    foreach (var m in request.Messages)
                    {
                        SetEvent(m, "MARKERX");
                    }

                    return Make("invalid UTF-8 in a string field", GrpcHttp.Frame(Replace(request.ToByteArray(), "MARKERX", [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80])), false);
                }

            case 13:
                foreach (var m in request.Messages)
                {
                    SetEvent(m, HostileValues.Huge(random, random.Next(1_000, 200_000)));
                }

                return Make("huge event name", GrpcHttp.Frame(request.ToByteArray()), true);
            case 14:
                {
                    var frames = Enumerable.Range(0, random.Next(2, 6)).SelectMany(_ => GrpcHttp.Frame(request.ToByteArray())).ToList();
                    frames.AddRange(GrpcHttp.Frame(RandomBytes(random, 64))[..random.Next(1, 69)]);
                    return Make("stream ending in a broken frame", [.. frames], false);
                }

            default:
                foreach (var m in request.Messages)
                {
                    Hostile(random, m, r => HostileValues.Pick(r, HostileValues.Nul));
                }

                return Make("NUL in fields", GrpcHttp.Frame(request.ToByteArray()), true,
                    headers: [.. auth, new("grpc-timeout", HostileValues.Pick(random, ["abc", "0n", "99999999H", "1S", "-5m", "100000000S"]))]);
        }
    }

    private SegmentMessage SegmentMessage(Random random, int n, int i)
    {
        var common = new Common
        {
            MessageId = $"fuzz-grpc-{seed}-{n}-{i}",
            UserId = $"fuzz-user-{random.Next(40)}",
            Timestamp = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero)),
            Context = new Struct(),
        };
        var account = $"fuzz-acct-{random.Next(20)}";
        return random.Next(3) switch
        {
            0 => new SegmentMessage { Track = new Track { Common = common, Event = HostileValues.Pick(random, EventNames), GroupId = account, Properties = new Struct { Fields = { ["plan"] = Value.ForString("pro") } } } },
            1 => new SegmentMessage { Identify = new Identify { Common = common, Traits = new Struct { Fields = { ["name"] = Value.ForString("Fuzz User") } } } },
            _ => new SegmentMessage { Group = new Group { Common = common, GroupId = account, Traits = new Struct { Fields = { ["name"] = Value.ForString("Fuzz Co") } } } },
        };
    }

    /// <summary>Puts <paramref name="value"/> strings into every string field and a Struct value of the message.</summary>
    private static void Hostile(Random random, SegmentMessage message, Func<Random, string> value)
    {
        var common = message.Track?.Common ?? message.Identify?.Common ?? message.Group.Common;
        switch (random.Next(5))
        {
            case 0:
                common.UserId = value(random);
                break;
            case 1:
                common.MessageId = value(random);
                break;
            case 2:
                common.AnonymousId = value(random);
                break;
            case 3:
                common.Context.Fields[value(random)] = Value.ForString(value(random));
                break;
            default:
                SetEvent(message, value(random));
                break;
        }

        var structure = message.Track?.Properties ?? message.Identify?.Traits ?? message.Group.Traits;
        structure.Fields[value(random)] = Value.ForList(Value.ForString(value(random)), Value.ForStruct(new Struct { Fields = { [value(random)] = Value.ForString(value(random)) } }));
    }

    private static void SetEvent(SegmentMessage message, string text)
    {
        if (message.Track is not null)
        {
            message.Track.Event = text;
        }
        else if (message.Group is not null)
        {
            message.Group.GroupId = text;
        }
        else
        {
            message.Identify.Common.UserId = text;
        }
    }

    /// <summary>
    /// An IngestBatch with one track whose properties nest Struct → Value → Struct … thousands of levels deep,
    /// written from the outside in (building it as objects would recurse as deep as the parser must refuse to).
    /// </summary>
    private byte[] DeepTrackRequest(Random random, int n)
    {
        var depth = HostileValues.Pick(random, [65, 99, 101, 1_000, 20_000]);
        var inner = new byte[] { 0x11, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F }; // Value.number_value = 1.0
        var valueLength = inner.Length;
        var prefixes = new List<byte[]>(depth);
        for (var level = 0; level < depth; level++)
        {
            // Struct { fields: entry { key: "a", value: Value } }, wrapped as the next Value's struct_value.
            var entry = 3 + 1 + VarintSize(valueLength) + valueLength;
            var structure = 1 + VarintSize(entry) + entry;
            prefixes.Add([0x2A, .. Varint(structure), 0x0A, .. Varint(entry), 0x0A, 0x01, (byte)'a', 0x12, .. Varint(valueLength)]);
            valueLength = 1 + VarintSize(structure) + structure;
        }

        // The chain is the outermost Value: its tag, its Struct's length, then that Struct, the track's properties.
        byte[] chain = [.. prefixes.AsEnumerable().Reverse().SelectMany(p => p), .. inner];
        var properties = chain[(1 + VarintSize(ReadVarint(chain.AsSpan(1))))..];
        var track = new Track { Common = new Common { MessageId = $"fuzz-deep-{seed}-{n}", UserId = "fuzz-user-deep" }, Event = "Deep" }.ToByteArray();
        byte[] trackBytes = [.. track, 0x1A, .. Varint(properties.Length), .. properties];
        byte[] segment = [0x0A, .. Varint(trackBytes.Length), .. trackBytes];
        return [0x0A, .. Varint(segment.Length), .. segment];
    }

    private static int ReadVarint(ReadOnlySpan<byte> bytes)
    {
        var value = 0;
        for (var i = 0; i < 5; i++)
        {
            value |= (bytes[i] & 0x7F) << (7 * i);
            if ((bytes[i] & 0x80) == 0)
            {
                break;
            }
        }

        return value;
    }

    private static int VarintSize(int value) => CodedOutputStream.ComputeRawVarint32Size((uint)value);

    private static byte[] Varint(int value)
    {
        var bytes = new List<byte>(5);
        var v = (uint)value;
        while (v >= 0x80)
        {
            bytes.Add((byte)(v | 0x80));
            v >>= 7;
        }

        bytes.Add((byte)v);
        return [.. bytes];
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    // ---------- gRPC Accounts ----------

    private FuzzCase GrpcQuery(Random random, int n)
    {
        List<KeyValuePair<string, string>> auth = [Bearer(targets.ApiKey)];
        string Id() => random.Next(4) == 0 ? HostileValues.Pick(random, [.. targets.AccountIds]) : random.Next(5) == 0 ? HostileValues.Huge(random, random.Next(300, 20_000)) : AnyString(random);
        Date Day() => new() { Year = HostileValues.Pick(random, [0, 1, 2026, 9999, 10000, -1, int.MaxValue, int.MinValue]), Month = random.Next(-2, 15), Day = random.Next(-2, 33) };
        FuzzCase Make(string method, string mutation, IMessage message, bool mustReject = false, List<KeyValuePair<string, string>>? headers = null) =>
            new(n, FuzzDoor.GrpcQuery, mutation, "POST", AccountsService + method, GrpcHttp.Frame(message.ToByteArray()), "application/grpc", headers ?? auth, mustReject);

        switch (random.Next(8))
        {
            case 0:
                return Make("GetAccountHealth", "hostile account id", new GetAccountHealthRequest { AccountId = Id() });
            case 1:
                return Make("GetScoreHistory", "hostile id and dates", new GetScoreHistoryRequest { AccountId = Id(), From = random.Next(2) == 0 ? Day() : null, To = random.Next(2) == 0 ? Day() : null });
            case 2:
                return Make("ListAccounts", "hostile filters", new ListAccountsRequest
                {
                    Band = (Band)HostileValues.Pick(random, [0, 1, 2, 3, 4, 99, -1, int.MaxValue]),
                    Sort = (Contracts.V1.AccountSort)HostileValues.Pick(random, [0, 1, 2, 3, 5, 6, 99, -7]),
                    PageSize = HostileValues.Pick(random, [0, 1, 500, 501, -1, int.MaxValue, int.MinValue]),
                    PageToken = random.Next(2) == 0 ? "" : AnyString(random) + Convert.ToBase64String(RandomBytes(random, random.Next(1, 200))),
                    Query = random.Next(2) == 0 ? "" : AnyString(random),
                    Owner = random.Next(3) == 0 ? AnyString(random) : "",
                    Plan = random.Next(3) == 0 ? AnyString(random) : "",
                    Segment = random.Next(3) == 0 ? AnyString(random) : "",
                });
            case 3:
                // A live stream: only requests the server must refuse at once (a valid one would wait for changes).
                return random.Next(2) == 0
                    ? Make("WatchHealth", "invalid band", new WatchHealthRequest { Band = (Band)HostileValues.Pick(random, [99, -1, int.MaxValue]), AccountIds = { AnyString(random) } }, true)
                    : Make("WatchHealth", "bogus auth", new WatchHealthRequest { AccountIds = { Id() } }, true, HostileAuth(random, grpc: true));
            case 4:
                return Make(HostileValues.Pick(random, ["GetAccountHealth", "ListAccounts", "GetScoreHistory"]), "write key reads", new GetAccountHealthRequest { AccountId = Id() }, true, [Bearer(targets.WriteKey)]);
            case 5:
                return new(n, FuzzDoor.GrpcQuery, "random bytes as protobuf", "POST", AccountsService + HostileValues.Pick(random, ["GetAccountHealth", "ListAccounts", "GetScoreHistory", "WatchHealth"]),
                    GrpcHttp.Frame(RandomBytes(random, random.Next(1, 500))), "application/grpc", [.. auth, new("grpc-timeout", "2S")], false);
            case 6:
                return new(n, FuzzDoor.GrpcQuery, "unknown method", "POST", HostileValues.Pick(random, ["/healthscoring.v1.Accounts/DeleteEverything", "/healthscoring.v1.Admin/Drop", "/x/y"]),
                    GrpcHttp.Frame(RandomBytes(random, 10)), "application/grpc", auth, true);
            default:
                return Make(HostileValues.Pick(random, ["GetAccountHealth", "GetScoreHistory"]), "NUL or lone surrogate in the id", new GetAccountHealthRequest { AccountId = HostileValues.Pick(random, HostileValues.Unstorable) });
        }
    }

    private static string AnyString(Random random) => random.Next(6) == 0 ? HostileValues.Pick(random, HostileValues.Unstorable) : HostileValues.Storable(random);
}

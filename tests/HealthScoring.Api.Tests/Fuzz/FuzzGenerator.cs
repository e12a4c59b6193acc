using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>
/// A deterministic generator of malformed, truncated, oversized, wrongly-typed and hostile requests for every door
/// of the host. Case <c>n</c> of seed <c>s</c> is always the same request, whatever order or concurrency they are
/// sent in (each case draws from its own <see cref="Random"/> seeded from <c>s</c> and <c>n</c>).
/// </summary>
internal sealed partial class FuzzGenerator(int seed, FuzzTargets targets)
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string[] SingleEndpoints = ["track", "identify", "group"];
    private static readonly string[] EventNames = ["Report Viewed", "Session Started", "Export Created", "Seat Limit Reached"];

    /// <summary>Cases 0 .. count-1.</summary>
    public IEnumerable<FuzzCase> Generate(int count)
    {
        for (var n = 0; n < count; n++)
        {
            yield return Case(n);
        }
    }

    public FuzzCase Case(int n)
    {
        var random = new Random(unchecked((seed * 1_000_003) + n));
        var door = random.Next(100) switch
        {
            < 36 => FuzzDoor.HttpIngest,
            < 56 => FuzzDoor.GrpcIngest,
            < 63 => FuzzDoor.StripeWebhook,
            < 85 => FuzzDoor.RestQuery,
            < 95 => FuzzDoor.GrpcQuery,
            _ => FuzzDoor.Dashboard,
        };
        return door switch
        {
            FuzzDoor.HttpIngest => HttpIngest(random, n),
            FuzzDoor.GrpcIngest => GrpcIngest(random, n),
            FuzzDoor.StripeWebhook => StripeWebhook(random, n),
            FuzzDoor.RestQuery => RestQuery(random, n),
            FuzzDoor.GrpcQuery => GrpcQuery(random, n),
            _ => Dashboard(random, n),
        };
    }

    // ---------- HTTP ingest (Segment's API) ----------

    private static readonly string[] MessageFields =
    [
        "messageId", "userId", "anonymousId", "event", "groupId", "type", "timestamp", "sentAt", "originalTimestamp", "properties.plan",
        "properties.nested.deeper", "traits.name", "traits.owner", "context.groupId", "context.page.title", "context.ip", "context.traits.email",
    ];

    private FuzzCase HttpIngest(Random random, int n)
    {
        var endpoint = random.Next(4) == 0 ? "batch" : SingleEndpoints[random.Next(3)];
        var path = "/v1/" + endpoint;
        var messages = Enumerable.Range(0, endpoint == "batch" ? random.Next(1, 6) : 1).Select(i => Message(random, n, i, endpoint == "batch" ? null : endpoint)).ToList();
        JsonNode Document() => endpoint == "batch" ? new JsonObject { ["batch"] = new JsonArray([.. messages]), ["sentAt"] = "2026-11-01T10:00:05Z" } : messages[0];
        byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(random.Next(2) == 0 ? node.ToJsonString() : node.ToJsonString(Relaxed));
        List<KeyValuePair<string, string>> auth = [Bearer(random.Next(2) == 0 ? targets.WriteKey : targets.ApiKey)];
        if (random.Next(2) == 0)
        {
            auth = [Basic(targets.WriteKey)];
        }

        FuzzCase Make(string mutation, byte[] body, bool mustReject, string? contentType = "application/json", List<KeyValuePair<string, string>>? headers = null, bool sendLength = true) =>
            new(n, FuzzDoor.HttpIngest, mutation, "POST", path, body, contentType, headers ?? auth, mustReject, sendLength);

        switch (random.Next(19))
        {
            case 0:
                foreach (var m in messages)
                {
                    SetPath(m, HostileValues.Pick(random, MessageFields), HostileValues.Storable(random));
                }

                return Make("hostile string in a field", Bytes(Document()), false);
            case 1:
                SetPath(messages[random.Next(messages.Count)], HostileValues.Pick(random, MessageFields), HostileValues.WrongType(random));
                return Make("wrong type in a field", Bytes(Document()), false);
            case 2:
                {
                    var bytes = Bytes(Document());
                    return Make("truncated JSON", bytes[..random.Next(bytes.Length)], true);
                }

            case 3:
                return Make("malformed JSON", Malformed(random, Document().ToJsonString()), true);
            case 4:
                return Oversized(random, n, path, endpoint, auth);
            case 5:
                return Make("deep nesting", Replace(Bytes(Marked(messages, endpoint, "properties.deep", "DEEP")), "\"DEEP\"", Nesting(random)), true);
            case 6:
                // Bytes that are not UTF-8 inside a string value of every message.
                return Make("invalid UTF-8", Replace(Bytes(Marked(messages, endpoint, HostileValues.Pick(random, MessageFields), "BADUTF8")), "BADUTF8", InvalidUtf8(random)), true);
            case 7:
                {
                    // Written as JSON escapes by hand: a serializer would replace an unpaired surrogate with U+FFFD.
                    var escape = HostileValues.Pick(random, ["nul\\u0000inside", "\\u0000", "lone \\ud800 high", "lone \\uDC00 low", "\\udfff\\ud800 reversed", "\\ud800"]);
                    var marked = Bytes(Marked(messages, endpoint, HostileValues.Pick(random, MessageFields), "UNSTORABLE"));
                    return Make("NUL or lone surrogate in a field", Replace(marked, "UNSTORABLE", Encoding.ASCII.GetBytes(escape)), true);
                }
            case 8:
                foreach (var m in messages)
                {
                    foreach (var field in MessageFields.Where(f => f != "type"))
                    {
                        SetPath(m, field, HostileValues.Pick(random, HostileValues.Sql));
                    }
                }

                return Make("SQL injection in every field", Bytes(Document()), false);
            case 9:
                foreach (var m in messages)
                {
                    foreach (var field in MessageFields.Where(f => f != "type"))
                    {
                        SetPath(m, field, HostileValues.Pick(random, HostileValues.Html));
                    }
                }

                return Make("HTML injection in every field", Bytes(Document()), false);
            case 10:
                {
                    var literal = HostileValues.Pick(random, HostileValues.HugeNumbers);
                    return Make("huge number", Replace(Bytes(Marked(messages, endpoint, HostileValues.Pick(random, MessageFields), "NUMBER")), "\"NUMBER\"", Encoding.ASCII.GetBytes(literal)), false);
                }

            case 11:
                {
                    var text = Bytes(Document());
                    var field = HostileValues.Pick(random, ["type", "event", "userId", "messageId", "properties", "batch"]);
                    var duplicate = Encoding.UTF8.GetBytes($"\"{field}\":{(random.Next(2) == 0 ? "123" : "\"duplicate\"")},");
                    return Make("duplicate keys", [(byte)'{', .. duplicate, .. text[1..]], false);
                }

            case 12:
                return Make("wrong content type", Bytes(Document()), false,
                    contentType: HostileValues.Pick(random, ["text/plain", "text/html", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "image/png", ""]));
            case 13:
                return ContentEncoding(random, n, path, Bytes(Document()), auth);
            case 14:
                return Make("bogus auth", Bytes(Document()), true, headers: HostileAuth(random, grpc: false));
            case 15:
                return Make("wrong root or missing fields", Encoding.UTF8.GetBytes(WrongRoot(random, endpoint)), true);
            case 16:
                foreach (var m in messages)
                {
                    SetPath(m, HostileValues.Pick(random, ["userId", "messageId", "anonymousId"]), HostileValues.Huge(random, random.Next(1_000, 30_000)));
                }

                return Make("huge id string", Bytes(Document()), true);
            case 17:
                foreach (var m in messages)
                {
                    SetPath(m, HostileValues.Pick(random, ["timestamp", "sentAt", "originalTimestamp"]), HostileValues.Pick(random, HostileValues.Times));
                    SetPath(m, HostileValues.Pick(random, ["timestamp", "sentAt", "originalTimestamp"]), HostileValues.Pick(random, HostileValues.Times));
                }

                return Make("hostile timestamps", Bytes(Document()), false);
            default:
                foreach (var m in messages)
                {
                    SetPath(m, "properties.blob", HostileValues.Huge(random, random.Next(100, 20_000)));
                }

                return Make("large but allowed strings", Bytes(Document()), false);
        }
    }

    private JsonObject Message(Random random, int n, int i, string? endpointType)
    {
        var type = endpointType ?? SingleEndpoints[random.Next(3)];
        var account = $"fuzz-acct-{random.Next(20)}";
        var m = new JsonObject();
        if (endpointType is null)
        {
            m["type"] = type;
        }

        m["messageId"] = $"fuzz-{seed}-{n}-{i}";
        m["userId"] = $"fuzz-user-{random.Next(40)}";
        m["timestamp"] = "2026-11-01T10:00:00Z";
        switch (type)
        {
            case "track":
                m["event"] = HostileValues.Pick(random, EventNames);
                m["properties"] = new JsonObject { ["plan"] = "pro", ["count"] = random.Next(100) };
                m["context"] = new JsonObject { ["groupId"] = account };
                break;
            case "identify":
                m["traits"] = new JsonObject { ["email"] = "fuzz@example.com", ["name"] = "Fuzz User" };
                break;
            default:
                m["groupId"] = account;
                m["traits"] = new JsonObject { ["name"] = "Fuzz Co" };
                break;
        }

        return m;
    }

    /// <summary>Sets a dotted path (creating objects on the way; a non-object on the way is replaced).</summary>
    private static void SetPath(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        var node = root;
        foreach (var part in parts[..^1])
        {
            if (node[part] is not JsonObject next)
            {
                next = [];
                node[part] = next;
            }

            node = next;
        }

        node[parts[^1]] = value;
    }

    private static JsonObject Marked(List<JsonObject> messages, string endpoint, string path, string marker)
    {
        foreach (var m in messages)
        {
            SetPath(m, path, marker);
        }

        return endpoint == "batch" ? new JsonObject { ["batch"] = new JsonArray([.. messages]) } : messages[0];
    }

    /// <summary>Every occurrence of <paramref name="marker"/> (as UTF-8) replaced by <paramref name="replacement"/>.</summary>
    private static byte[] Replace(byte[] source, string marker, byte[] replacement)
    {
        var pattern = Encoding.UTF8.GetBytes(marker);
        var output = new List<byte>(source.Length + replacement.Length);
        var span = source.AsSpan();
        while (true)
        {
            var at = span.IndexOf(pattern);
            if (at < 0)
            {
                output.AddRange(span);
                return [.. output];
            }

            output.AddRange(span[..at]);
            output.AddRange(replacement);
            span = span[(at + pattern.Length)..];
        }
    }

    private static byte[] Nesting(Random random)
    {
        var depth = HostileValues.Pick(random, ["65", "100", "1000", "5000", "20000"]);
        var levels = int.Parse(depth, System.Globalization.CultureInfo.InvariantCulture);
        var (open, close) = random.Next(2) == 0 ? ("{\"a\":", "}") : ("[", "]");
        var builder = new StringBuilder((open.Length + close.Length) * levels + 1);
        builder.Insert(0, open, levels).Append('1').Insert(builder.Length, close, levels);
        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    private static byte[] InvalidUtf8(Random random) => random.Next(6) switch
    {
        0 => [0xFF],
        1 => [0xC0, 0x80],
        2 => [0xED, 0xA0, 0x80],
        3 => [0xE2, 0x82],
        4 => [0xF8, 0x88, 0x80, 0x80, 0x80],
        _ => [(byte)'a', 0x80, (byte)'b'],
    };

    private static byte[] Malformed(Random random, string json)
    {
        var broken = random.Next(9) switch
        {
            0 => json + "}",
            1 => "{,," + json[1..],
            2 => json.Replace("\"", "'", StringComparison.Ordinal),
            3 => "{type:\"track\"," + json[1..],
            4 => json[..^1] + ",\"x\":NaN}",
            5 => "/* comment */" + json,
            6 => json[..^1] + ",\"x\":\"unterminated}",
            7 => json + "\n" + json,
            _ => json.Replace(":", "=", StringComparison.Ordinal),
        };
        return Encoding.UTF8.GetBytes(broken);
    }

    private static string WrongRoot(Random random, string endpoint) => endpoint == "batch"
        ? HostileValues.Pick(random, ["[]", "\"batch\"", "42", "null", "{}", "{\"batch\":{}}", "{\"batch\":null}", "{\"batch\":[1,\"x\",null,[]]}", "{\"batch\":[{}]}", "{\"batch\":[],\"sentAt\":\"yesterday\"}", "{\"batch\":[],\"sentAt\":5}"])
        : HostileValues.Pick(random, ["[]", "\"track\"", "42", "null", "{}", "true", "{\"userId\":null}", "{\"messageId\":\"x\"}", "{\"userId\":[],\"event\":{}}"]);

    private FuzzCase Oversized(Random random, int n, string path, string endpoint, List<KeyValuePair<string, string>> auth)
    {
        // Segment's limits: 32 KB per message, 500 KB per batch; some far over, a few over Kestrel's 30 MB too.
        int[] sizes = endpoint == "batch" ? [520_000, 1_000_000, 6_000_000] : [33_000, 100_000, 600_000, 3_000_000];
        var size = random.Next(40) == 0 ? 40_000_000 : sizes[random.Next(sizes.Length)];
        var prefix = endpoint == "batch"
            ? $"{{\"batch\":[{{\"type\":\"track\",\"messageId\":\"fuzz-{seed}-{n}-big\",\"userId\":\"u\",\"event\":\"Big\",\"properties\":{{\"blob\":\""
            : $"{{\"messageId\":\"fuzz-{seed}-{n}-big\",\"userId\":\"u\",\"event\":\"Big\",\"groupId\":\"g\",\"properties\":{{\"blob\":\"";
        var suffix = endpoint == "batch" ? "\"}}]}" : "\"}}";
        var body = new byte[size];
        Encoding.ASCII.GetBytes(prefix).CopyTo(body, 0);
        body.AsSpan(prefix.Length, size - prefix.Length - suffix.Length).Fill((byte)'x');
        Encoding.ASCII.GetBytes(suffix).CopyTo(body, size - suffix.Length);
        // Without a length (chunked) only up to Kestrel's 30 MB: past it Kestrel stops draining and drops the connection.
        return new FuzzCase(n, FuzzDoor.HttpIngest, "oversized body", "POST", path, body, "application/json", auth, true, SendLength: size > 6_000_000 || random.Next(3) != 0);
    }

    private static FuzzCase ContentEncoding(Random random, int n, string path, byte[] json, List<KeyValuePair<string, string>> auth)
    {
        switch (random.Next(4))
        {
            case 0:
                return new(n, FuzzDoor.HttpIngest, "gzip body", "POST", path, Gzip(json), "application/json", [.. auth, new("Content-Encoding", "gzip")], false);
            case 1:
                return new(n, FuzzDoor.HttpIngest, "gzip header on a plain body", "POST", path, json, "application/json", [.. auth, new("Content-Encoding", "gzip")], true);
            case 2:
                {
                    // A few KB that inflate past the 500 KB limit.
                    var bomb = new byte[8_000_000];
                    bomb.AsSpan().Fill((byte)' ');
                    return new(n, FuzzDoor.HttpIngest, "gzip bomb", "POST", path, Gzip(bomb), "application/json", [.. auth, new("Content-Encoding", "gzip")], true);
                }

            default:
                {
                    var gz = Gzip(json);
                    return new(n, FuzzDoor.HttpIngest, "truncated gzip", "POST", path, gz[..(gz.Length / 2)], "application/json", [.. auth, new("Content-Encoding", "gzip")], true);
                }
        }
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    // ---------- credentials ----------

    private static KeyValuePair<string, string> Bearer(string key) => new("Authorization", "Bearer " + key);

    private static KeyValuePair<string, string> Basic(string user) => new("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":")));

    /// <summary>Credentials that must never be accepted: none, unknown, revoked, tampered, malformed, another tenant named.</summary>
    private List<KeyValuePair<string, string>> HostileAuth(Random random, bool grpc) => random.Next(11) switch
    {
        0 => [],
        1 => [Bearer($"hs_wk_{random.Next():x8}_{Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()))}")],
        2 => [new("Authorization", "Basic !!!not-base64!!!")],
        3 => [Basic("hs_wk_unknown")],
        4 => [Bearer(targets.RevokedKey)],
        5 => [Bearer(targets.WriteKey + "x")],
        6 => [Bearer(new string('k', 4_000))],
        7 => [new("Authorization", "Digest username=\"x\"")],
        8 => [Bearer(HostileValues.Pick(random, HostileValues.Sql).Replace(" ", "", StringComparison.Ordinal))],
        9 => [new("Authorization", grpc ? "Bearer" : "Basic")],
        _ => [Bearer(grpc ? targets.ApiKey : targets.WriteKey), new("X-HealthScoring-Tenant", "globex")],
    };
}

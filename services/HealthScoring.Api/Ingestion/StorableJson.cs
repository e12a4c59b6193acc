using System.Globalization;
using System.Text.Unicode;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// Whether JSON text can be stored and read back as it came: PostgreSQL's text and jsonb refuse NUL characters
/// (<c>\u0000</c>) and unpaired surrogates, every reader of the log expects UTF-8, and numbers beyond a double's range
/// overflow the readers that use them (and, far enough out, jsonb's numeric). System.Text.Json accepts all of these
/// while parsing, so they are checked on the raw text before anything is stored.
/// </summary>
public static class StorableJson
{
    /// <summary>Exponents past this are refused even when they round to zero (PostgreSQL's numeric has limits too).</summary>
    private const int MaxExponent = 400;

    /// <summary>Null when <paramref name="utf8"/> (well-formed JSON) can be stored; else why not, for the caller's error.</summary>
    public static string? Check(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            return "is not valid UTF-8";
        }

        var inString = false;
        var pendingHighSurrogate = false;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (inString)
            {
                if (b == '"')
                {
                    inString = false;
                    if (pendingHighSurrogate)
                    {
                        return "holds an unpaired surrogate (\\uD800-\\uDFFF), which is not Unicode text";
                    }

                    continue;
                }

                if (b != '\\')
                {
                    if (pendingHighSurrogate)
                    {
                        return "holds an unpaired surrogate (\\uD800-\\uDFFF), which is not Unicode text";
                    }

                    continue;
                }

                // An escape: \uXXXX is the only one that can spell NUL or a surrogate.
                if (i + 1 < utf8.Length && utf8[i + 1] == 'u' && i + 5 < utf8.Length
                    && int.TryParse(System.Text.Encoding.ASCII.GetString(utf8.Slice(i + 2, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                {
                    i += 5;
                    if (code == 0)
                    {
                        return "holds a NUL character (\\u0000), which cannot be stored";
                    }

                    var isHigh = code is >= 0xD800 and <= 0xDBFF;
                    var isLow = code is >= 0xDC00 and <= 0xDFFF;
                    if ((isLow && !pendingHighSurrogate) || (!isLow && pendingHighSurrogate))
                    {
                        return "holds an unpaired surrogate (\\uD800-\\uDFFF), which is not Unicode text";
                    }

                    pendingHighSurrogate = isHigh;
                    continue;
                }

                if (pendingHighSurrogate)
                {
                    return "holds an unpaired surrogate (\\uD800-\\uDFFF), which is not Unicode text";
                }

                i++;
                continue;
            }

            if (b == '"')
            {
                inString = true;
            }
            else if (b == '-' || (b >= '0' && b <= '9'))
            {
                var end = i;
                while (end < utf8.Length && (utf8[end] is (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E' || (utf8[end] >= '0' && utf8[end] <= '9')))
                {
                    end++;
                }

                if (!InRange(utf8[i..end]))
                {
                    return "holds a number outside the range of a 64-bit floating-point number";
                }

                i = end - 1;
            }
        }

        return null;
    }

    private static bool InRange(ReadOnlySpan<byte> number)
    {
        var text = System.Text.Encoding.ASCII.GetString(number);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            return false;
        }

        var e = text.IndexOfAny(['e', 'E']);
        return e < 0 || (int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent) && Math.Abs(exponent) <= MaxExponent);
    }
}

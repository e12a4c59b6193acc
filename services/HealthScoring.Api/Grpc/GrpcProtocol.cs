using System.Globalization;
using System.Text;

namespace HealthScoring.Api.Grpc;

/// <summary>The wire rules of grpc/grpc <c>doc/PROTOCOL-HTTP2.md</c> that need no I/O.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";

    /// <summary>Compressed-Flag (1 byte) + Message-Length (4 bytes, big-endian).</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>
    /// "Content-Type → application/grpc [(+proto / +json / {custom})]": what the spec calls a gRPC request. Anything
    /// else (including application/grpc-web) gets HTTP 415.
    /// </summary>
    public static bool IsGrpcContentType(string? contentType) =>
        contentType is not null
        && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == ContentType.Length || contentType[ContentType.Length] is '+' or ';');

    /// <summary>Only protobuf messages are understood: <c>application/grpc</c> or <c>application/grpc+proto</c>.</summary>
    public static bool IsProtobufContentType(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals(ContentType, StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals(ContentType + "+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Parses <c>grpc-timeout</c>: "positive integer as ASCII string of at most 8 digits" followed by a unit
    /// H, M, S, m (milli), u (micro) or n (nano). Eight digits of hours still fit in TimeSpan ticks.
    /// </summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is null || value.Length is < 2 or > 9 || value.AsSpan(0, value.Length - 1).ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        var amount = long.Parse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture);
        long? ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * TimeSpan.TicksPerMicrosecond,
            'n' => amount / TimeSpan.NanosecondsPerTick,
            _ => null,
        };
        if (ticks is null)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    /// <summary>
    /// <c>grpc-message</c> is UTF-8, then percent-encoded: every byte outside 0x20-0x7E, and '%' itself, becomes
    /// %XX. That keeps the header ASCII (Kestrel rejects anything else) and lets clients recover the exact text.
    /// </summary>
    public static string PercentEncode(string message)
    {
        if (!message.Any(c => c is < ' ' or > '~' or '%'))
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var encoded = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }

    /// <summary>Binary headers are base64; the spec says implementations "should emit un-padded values".</summary>
    public static string ToUnpaddedBase64(byte[] value) => Convert.ToBase64String(value).TrimEnd('=');
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HealthScoring.Integrations.Stripe;

/// <summary>Why a <c>Stripe-Signature</c> header was accepted or rejected.</summary>
public enum StripeSignatureStatus
{
    Valid,
    MissingHeader,
    MalformedHeader,
    NoV1Signature,
    SignatureMismatch,
    TimestampOutsideTolerance,
}

/// <summary>
/// The outcome of <see cref="StripeWebhookSignature.Verify"/>. <see cref="Message"/> is safe to log: it never
/// contains the endpoint secret, the expected signature or the signatures from the header.
/// </summary>
/// <param name="Status">Valid, or why not.</param>
/// <param name="Message">A loggable sentence.</param>
/// <param name="Timestamp">The header's <c>t=</c> value when it could be read.</param>
public sealed record StripeSignatureVerification(StripeSignatureStatus Status, string Message, DateTimeOffset? Timestamp)
{
    public bool IsValid => Status == StripeSignatureStatus.Valid;
}

/// <summary>
/// Checks and produces Stripe webhook signatures (the <c>v1</c> scheme): HMAC-SHA256 over
/// <c>"{t}.{raw body}"</c> keyed with the endpoint secret's UTF-8 bytes, lowercase hex.
/// Stands in for Stripe.net's <c>EventUtility.ValidateSignature</c>.
/// </summary>
public static class StripeWebhookSignature
{
    public const string HeaderName = "Stripe-Signature";

    public static TimeSpan DefaultTolerance { get; } = TimeSpan.FromSeconds(300);

    private const int HashSize = 32;

    /// <summary>
    /// Verifies <paramref name="signatureHeader"/> against the raw request body exactly as received. Never throws
    /// for anything that came with the request; a null or empty secret or a negative tolerance is a configuration
    /// error and throws <see cref="ArgumentException"/>.
    /// </summary>
    public static StripeSignatureVerification Verify(
        string? signatureHeader,
        ReadOnlySpan<byte> rawBody,
        string endpointSecret,
        DateTimeOffset now,
        TimeSpan? tolerance = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpointSecret);
        var allowed = tolerance ?? DefaultTolerance;
        ArgumentOutOfRangeException.ThrowIfLessThan(allowed, TimeSpan.Zero, nameof(tolerance));

        if (string.IsNullOrWhiteSpace(signatureHeader))
        {
            return Fail(StripeSignatureStatus.MissingHeader, $"The {HeaderName} header is missing or empty.", null);
        }

        if (!TryParseHeader(signatureHeader, out var timestampText, out var unixSeconds, out var v1Signatures, out var problem))
        {
            return Fail(StripeSignatureStatus.MalformedHeader, $"The {HeaderName} header is malformed: {problem}.", null);
        }

        var timestamp = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        if (v1Signatures.Count == 0)
        {
            return Fail(
                StripeSignatureStatus.NoV1Signature,
                $"The {HeaderName} header has no v1 signature; other schemes (such as v0) are not accepted.",
                timestamp);
        }

        Span<byte> expected = stackalloc byte[HashSize];
        ComputeHash(endpointSecret, timestampText, rawBody, expected);
        if (!AnyMatches(v1Signatures, expected))
        {
            return Fail(
                StripeSignatureStatus.SignatureMismatch,
                $"None of the {v1Signatures.Count} v1 signature(s) in the {HeaderName} header matches the body signed with this endpoint's secret; "
                + "check the endpoint secret and that the body is passed exactly as received.",
                timestamp);
        }

        var skewSeconds = now.ToUnixTimeSeconds() - unixSeconds;
        if (Math.Abs(skewSeconds) > allowed.TotalSeconds)
        {
            var direction = skewSeconds > 0 ? "old" : "in the future";
            return Fail(
                StripeSignatureStatus.TimestampOutsideTolerance,
                $"The signature timestamp is {Math.Abs(skewSeconds).ToString(CultureInfo.InvariantCulture)} s {direction}, "
                + $"beyond the {allowed.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s tolerance.",
                timestamp);
        }

        return new StripeSignatureVerification(StripeSignatureStatus.Valid, "The signature is valid.", timestamp);
    }

    /// <summary>Builds the header Stripe would send for <paramref name="rawBody"/> at <paramref name="timestamp"/> (for tests and fakes).</summary>
    public static string Sign(ReadOnlySpan<byte> rawBody, string endpointSecret, DateTimeOffset timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpointSecret);
        var timestampText = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={timestampText},v1={ComputeSignature(rawBody, endpointSecret, timestampText)}";
    }

    /// <summary>The lowercase hex <c>v1</c> signature of <c>"{timestamp}.{rawBody}"</c>.</summary>
    public static string ComputeSignature(ReadOnlySpan<byte> rawBody, string endpointSecret, string timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpointSecret);
        ArgumentNullException.ThrowIfNull(timestamp);
        Span<byte> hash = stackalloc byte[HashSize];
        ComputeHash(endpointSecret, timestamp, rawBody, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static void ComputeHash(string secret, string timestampText, ReadOnlySpan<byte> rawBody, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.ASCII.GetBytes(timestampText));
        hmac.AppendData("."u8);
        hmac.AppendData(rawBody);
        hmac.GetHashAndReset(destination);
    }

    private static bool AnyMatches(List<string> candidates, ReadOnlySpan<byte> expected)
    {
        Span<byte> candidate = stackalloc byte[HashSize];
        var matched = false;
        foreach (var hex in candidates)
        {
            // A value of the wrong length or with non-hex characters simply does not match.
            if (hex.Length != HashSize * 2 || Convert.FromHexString(hex, candidate, out _, out var written) != System.Buffers.OperationStatus.Done || written != HashSize)
            {
                continue;
            }

            matched |= CryptographicOperations.FixedTimeEquals(candidate, expected);
        }

        return matched;
    }

    private static bool TryParseHeader(
        string header,
        out string timestampText,
        out long unixSeconds,
        out List<string> v1Signatures,
        out string problem)
    {
        timestampText = string.Empty;
        unixSeconds = 0;
        v1Signatures = [];
        problem = string.Empty;
        string? firstTimestamp = null;

        foreach (var rawItem in header.Split(','))
        {
            var item = rawItem.Trim();
            if (item.Length == 0)
            {
                continue;
            }

            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                problem = "every item must be a key=value pair";
                return false;
            }

            var key = item[..equals];
            var value = item[(equals + 1)..];
            if (key == "t")
            {
                // Like Stripe's SDKs, the first t= wins.
                firstTimestamp ??= value;
            }
            else if (key == "v1")
            {
                v1Signatures.Add(value);
            }
        }

        if (firstTimestamp is null)
        {
            problem = "it has no t= timestamp";
            return false;
        }

        if (firstTimestamp.Length == 0
            || !firstTimestamp.All(char.IsAsciiDigit)
            || !long.TryParse(firstTimestamp, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds)
            || unixSeconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            problem = "the t= timestamp is not a whole number of Unix seconds";
            return false;
        }

        // The signed string uses the timestamp exactly as Stripe wrote it in the header.
        timestampText = firstTimestamp;
        return true;
    }

    private static StripeSignatureVerification Fail(StripeSignatureStatus status, string message, DateTimeOffset? timestamp) =>
        new(status, message, timestamp);
}

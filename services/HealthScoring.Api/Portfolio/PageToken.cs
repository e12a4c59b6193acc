using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HealthScoring.Api.Portfolio;

/// <summary>
/// A keyset position: the sort key and account id of the last row of the previous page, bound to the sort and
/// filters it was made for (a token reused with other filters would skip or repeat rows, so it is refused).
/// Encoded as base64url(JSON + 16 bytes of its SHA-256): the digest catches a damaged or edited token. It is an
/// integrity check, not a secret: a forged token can only move the start of the caller's own tenant's list.
/// </summary>
public sealed record PageToken(
    [property: JsonPropertyName("s")] AccountSort Sort,
    [property: JsonPropertyName("f")] string FilterHash,
    [property: JsonPropertyName("n")] double? Number,
    [property: JsonPropertyName("t")] string? Text,
    [property: JsonPropertyName("a")] string AccountId)
{
    private const int DigestLength = 16;
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static string HashOf(AccountFilter filter)
    {
        var canonical = JsonSerializer.Serialize(filter);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)).AsSpan(0, 8));
    }

    public string Encode()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this, Json);
        var digest = SHA256.HashData(json).AsSpan(0, DigestLength);
        return Base64Url.EncodeToString([.. json, .. digest]);
    }

    /// <summary>The token, or null when it is malformed, altered, or made for another sort or other filters.</summary>
    public static PageToken? Decode(string token, AccountSort sort, AccountFilter filter)
    {
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            return null;
        }

        if (bytes.Length <= DigestLength)
        {
            return null;
        }

        var json = bytes.AsSpan(0, bytes.Length - DigestLength);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(json).AsSpan(0, DigestLength), bytes.AsSpan(bytes.Length - DigestLength)))
        {
            return null;
        }

        PageToken? decoded;
        try
        {
            decoded = JsonSerializer.Deserialize<PageToken>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }

        var keyed = sort == AccountSort.Name ? decoded?.Text is not null : decoded?.Number is not null;
        return decoded is not null && keyed && decoded.AccountId is not null && decoded.Sort == sort && decoded.FilterHash == HashOf(filter) ? decoded : null;
    }
}

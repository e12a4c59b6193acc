using System.Security.Cryptography;
using System.Text;

namespace HealthScoring.EventStore;

/// <summary>Event ids derived from ids that outside systems give (Segment's messageId, Stripe's evt_ id).</summary>
public static class EventIds
{
    /// <summary>
    /// The same <paramref name="source"/> and <paramref name="externalId"/> always give the same id (a name-based,
    /// RFC 9562 version 8 UUID from SHA-256), so a message received twice is stored once.
    /// </summary>
    public static Guid Derive(string source, string externalId)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(externalId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{source}\n{externalId}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}

using System.Security.Cryptography;
using System.Text;

namespace HealthScoring.Integrations.Stripe.Client;

/// <summary>
/// Idempotency keys derived from our own ids, so that a retried call and a redelivered message send the same key and
/// Stripe replays the first result instead of acting twice.
/// </summary>
public static class StripeIdempotencyKeys
{
    /// <summary>Stripe accepts keys up to 255 characters.</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// <c>hs:{operation}:{id1}:{id2}…</c>; a key that would be too long is shortened to a hash of itself. Use ids
    /// that name the operation (a message id, a score run id), not the content: a content-derived key would replay an
    /// old result when a value changes back (score 80, then 75, then 80 again within 24 hours).
    /// </summary>
    public static string For(string operation, params ReadOnlySpan<string> ids)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(operation);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(operation.Length, 64, nameof(operation));
        var builder = new StringBuilder("hs:").Append(operation);
        foreach (var id in ids)
        {
            builder.Append(':').Append(id);
        }

        var key = builder.ToString();
        return key.Length <= MaxLength ? key : $"hs:{operation}:sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}";
    }

    /// <summary>The key <see cref="IStripeClient.CreateMeterEventAsync"/> uses by default: one per meter event identifier.</summary>
    public static string ForMeterEvent(string identifier) => For("meter-event", identifier);

    /// <summary>A fresh key for an operation that has no id of ours; it still stays the same across the call's retries.</summary>
    public static string Random() => $"hs:{Guid.NewGuid():N}";
}

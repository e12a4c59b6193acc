using System.Globalization;

namespace HealthScoring.Integrations.Stripe.Client;

public static class StripeHealthScoreExtensions
{
    public const string ScoreKey = "health_score";
    public const string BandKey = "health_band";

    /// <summary>
    /// Writes a customer's health score (rounded to a whole number) and band into its metadata. The idempotency key
    /// derives from <paramref name="operationId"/> (the scoring run or message id) and the customer, so a redelivered
    /// message sends the same key and Stripe replays the first write rather than applying an old score again later.
    /// </summary>
    public static Task<StripeObject> UpdateHealthScoreAsync(
        this IStripeClient client,
        string customerId,
        double score,
        string band,
        string operationId,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(band);
        ArgumentException.ThrowIfNullOrWhiteSpace(operationId);
        if (!double.IsFinite(score))
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "A health score is a finite number.");
        }

        var metadata = new Dictionary<string, string?>
        {
            [ScoreKey] = Math.Round(score, MidpointRounding.AwayFromZero).ToString(CultureInfo.InvariantCulture),
            [BandKey] = band,
        };
        return client.UpdateCustomerMetadataAsync(customerId, metadata, StripeIdempotencyKeys.For("health-score", operationId, customerId), cancellationToken);
    }
}

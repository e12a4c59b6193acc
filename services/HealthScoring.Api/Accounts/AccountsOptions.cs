namespace HealthScoring.Api.Accounts;

/// <summary>Settings of the daily per-account aggregates' projection (section <c>Accounts</c>).</summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Accounts";

    /// <summary>Whether this host runs the projection (false on ingest-only hosts; see <see cref="AccountsExtensions.AddAccountsProjection"/>).</summary>
    public bool RunProjection { get; set; } = true;

    /// <summary>
    /// The share of time the projection may take while this host's ingest is saturated, in (0, 1]: after a batch that
    /// took t it pauses t × (1/share − 1) (at most 30 s). 1 never pauses. Acknowledging events is what senders wait
    /// for; the aggregates catch up once the burst is over.
    /// </summary>
    public double ProjectionShareUnderIngest { get; set; } = 0.25;
}

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
    /// for; the aggregates catch up once the burst is over, or sooner when they fall <see cref="MaxLagUnderIngest"/>
    /// behind.
    /// </summary>
    public double ProjectionShareUnderIngest { get; set; } = 0.1;

    /// <summary>
    /// How far behind the log the aggregates may fall while they give way to ingest: once the last event of a batch
    /// was recorded longer ago than this, the projection stops pausing until it is back within it. It bounds how stale
    /// features and the dashboard's usage can be under sustained load, at the cost of ingest's rate.
    /// </summary>
    public TimeSpan MaxLagUnderIngest { get; set; } = TimeSpan.FromMinutes(2);
}

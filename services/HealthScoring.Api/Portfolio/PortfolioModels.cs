namespace HealthScoring.Api.Portfolio;

/// <summary>How a list is ordered; each has a fixed direction and ties break on the account id.</summary>
public enum AccountSort
{
    /// <summary>Churn probability, highest first: at-risk accounts first.</summary>
    Risk,

    /// <summary>MRR × churn probability, highest first.</summary>
    MrrAtRisk,

    /// <summary>Health score, lowest first.</summary>
    Score,

    /// <summary>MRR, highest first.</summary>
    Mrr,

    /// <summary>Name, A to Z.</summary>
    Name,
}

/// <summary>The filters of a list; null means "any". Band, owner, plan and segment match exactly; <see cref="Query"/> searches name and id.</summary>
public sealed record AccountFilter(string? Band, string? Segment, string? Owner, string? Plan, string? Query);

/// <summary>A validated list request.</summary>
public sealed record AccountListRequest(AccountFilter Filter, AccountSort Sort, int PageSize, PageToken? After);

/// <summary>Score trend: change over 7 days, its direction, and the last ≤ 30 scores, oldest first.</summary>
public sealed record Trend(int? Delta7d, string Direction, IReadOnlyList<int> Sparkline);

/// <summary>One account's latest verdict with what it is worth (money in the currency's major unit).</summary>
public record AccountSummary(
    string AccountId,
    string Name,
    int HealthScore,
    string Band,
    double ChurnProbability,
    double? ExpansionProbability,
    double Mrr,
    double MrrAtRisk,
    string? Owner,
    string? Plan,
    string? Segment,
    DateOnly AsOf,
    DateTimeOffset ScoredAt,
    Trend Trend);

/// <summary>A driver of a verdict, in plain words.</summary>
/// <param name="Feature">The feature.</param>
/// <param name="Value">Its value for the account (null when missing).</param>
/// <param name="Contribution">Its share of the model's output (log-odds): positive raises the probability.</param>
/// <param name="Text">The driver in plain words.</param>
/// <param name="Direction"><c>raises-risk</c> or <c>lowers-risk</c> (for expansion drivers: raises or lowers the expansion odds).</param>
public sealed record Driver(string Feature, double? Value, double Contribution, string Direction, string Text);

/// <summary>The account page: the summary (flat, as REST shows it), why, and the composite's components.</summary>
public sealed record AccountDetail : AccountSummary
{
    public AccountDetail(AccountSummary summary, IReadOnlyList<Driver> drivers, IReadOnlyList<Driver> expansionDrivers, IReadOnlyDictionary<string, double> components)
        : base(summary)
    {
        Drivers = drivers;
        ExpansionDrivers = expansionDrivers;
        Components = components;
    }

    public IReadOnlyList<Driver> Drivers { get; init; }

    public IReadOnlyList<Driver> ExpansionDrivers { get; init; }

    public IReadOnlyDictionary<string, double> Components { get; init; }
}

/// <summary>Totals over the whole filtered set, not the page.</summary>
/// <param name="Accounts">Accounts matching the filters.</param>
/// <param name="AtRisk">Those in the at-risk band.</param>
/// <param name="MrrAtRisk">Σ MRR × churn probability.</param>
/// <param name="ExpansionPipeline">Σ MRR × expansion probability: the expected value of the expansion signals.</param>
public sealed record PortfolioTotals(int Accounts, int AtRisk, double MrrAtRisk, double ExpansionPipeline);

/// <summary>One page of a list.</summary>
public sealed record AccountPage(IReadOnlyList<AccountSummary> Accounts, string? NextPageToken, PortfolioTotals Totals);

/// <summary>One point of an account's score history.</summary>
public sealed record HistoryPoint(DateOnly AsOf, int HealthScore, string Band, double ChurnProbability, double? ExpansionProbability);

/// <summary>A request field that failed validation: its name as the caller spelled it (REST camelCase) and why.</summary>
public sealed record FieldError(string Field, string Message);

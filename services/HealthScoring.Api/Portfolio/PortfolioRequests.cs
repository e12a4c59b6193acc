using System.Globalization;
using HealthScoring.Api.Scoring;

namespace HealthScoring.Api.Portfolio;

/// <summary>
/// Validation of the portfolio's inputs, one place for REST and gRPC. Errors name the field as REST spells it
/// (camelCase); gRPC renames them to its snake_case fields.
/// </summary>
public static class PortfolioRequests
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary>The sort parameter's values.</summary>
    public static IReadOnlyDictionary<string, AccountSort> Sorts { get; } = new Dictionary<string, AccountSort>(StringComparer.Ordinal)
    {
        ["risk"] = AccountSort.Risk,
        ["mrrAtRisk"] = AccountSort.MrrAtRisk,
        ["score"] = AccountSort.Score,
        ["mrr"] = AccountSort.Mrr,
        ["name"] = AccountSort.Name,
    };

    /// <summary>A list request, or the errors of its fields. Empty strings count as absent.</summary>
    public static (AccountListRequest? Request, IReadOnlyList<FieldError> Errors) ParseList(
        string? band, string? segment, string? owner, string? plan, string? q, string? sort, int? pageSize, string? pageToken)
    {
        var errors = new List<FieldError>();
        band = Blank(band);
        if (band is not null && !HealthScoreProfile.Bands.Contains(band))
        {
            errors.Add(new FieldError("band", $"band must be one of {string.Join(", ", HealthScoreProfile.Bands)}."));
        }

        var order = AccountSort.Risk;
        if (Blank(sort) is { } s && !Sorts.TryGetValue(s, out order))
        {
            errors.Add(new FieldError("sort", $"sort must be one of {string.Join(", ", Sorts.Keys)}."));
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            errors.Add(new FieldError("pageSize", $"pageSize must be between 1 and {MaxPageSize}."));
        }

        foreach (var (field, value) in new[] { ("segment", segment), ("owner", owner), ("plan", plan), ("q", q), ("pageToken", pageToken) })
        {
            if (value?.Contains('\0', StringComparison.Ordinal) == true)
            {
                errors.Add(new FieldError(field, $"{field} must not contain NUL characters."));
            }
        }

        var filter = new AccountFilter(band, Blank(segment), Blank(owner), Blank(plan), Blank(q));
        PageToken? after = null;
        if (errors.Count == 0 && Blank(pageToken) is { } token)
        {
            after = PageToken.Decode(token, order, filter);
            if (after is null)
            {
                errors.Add(new FieldError("pageToken", "pageToken is not a token this list returned with the same filters and sort; start again without it."));
            }
        }

        return errors.Count > 0 ? (null, errors) : (new AccountListRequest(filter, order, pageSize ?? DefaultPageSize, after), errors);
    }

    /// <summary>A history range (inclusive dates as YYYY-MM-DD), or the errors of its fields.</summary>
    public static (DateOnly? From, DateOnly? To, IReadOnlyList<FieldError> Errors) ParseRange(string? from, string? to)
    {
        var errors = new List<FieldError>();
        var start = Date(from, "from", errors);
        var end = Date(to, "to", errors);
        if (start > end)
        {
            errors.Add(new FieldError("from", "from must not be after to."));
        }

        return (start, end, errors);
    }

    private static DateOnly? Date(string? text, string field, List<FieldError> errors)
    {
        if (Blank(text) is not { } value)
        {
            return null;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors.Add(new FieldError(field, $"{field} must be a date as YYYY-MM-DD."));
        return null;
    }

    /// <summary>
    /// Whether an account could have this id: PostgreSQL text cannot hold NUL, so no stored id contains one (asking
    /// the database would only fail). An id that cannot exist is simply not found.
    /// </summary>
    public static bool CanExist(string accountId) => !accountId.Contains('\0', StringComparison.Ordinal);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Accounts;

/// <summary>Query-string dates (YYYY-MM-DD) with their RFC 9457 answer when malformed, naming the field.</summary>
public static class DateQuery
{
    /// <summary>The dates a query may name: windows and as-of dates are computed from them, so the calendar's ends are out.</summary>
    public static readonly DateOnly Earliest = new(1900, 1, 1);

    /// <inheritdoc cref="Earliest"/>
    public static readonly DateOnly Latest = new(2999, 12, 31);

    /// <summary>Parses <paramref name="value"/> when given; a problem naming <paramref name="field"/> when it is not a date.</summary>
    public static bool TryParse(string? value, string field, out DateOnly? date, out ProblemHttpResult? problem)
    {
        date = null;
        problem = null;
        if (value is null)
        {
            return true;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) && parsed >= Earliest && parsed <= Latest)
        {
            date = parsed;
            return true;
        }

        problem = Invalid(field, $"{field} must be a date as YYYY-MM-DD, from {Earliest:yyyy-MM-dd} to {Latest:yyyy-MM-dd}.");
        return false;
    }

    /// <summary>A 400 problem naming the field at fault.</summary>
    public static ProblemHttpResult Invalid(string field, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {field}", detail: detail,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>
    /// A [from, to] window: <paramref name="to"/> defaults to <paramref name="defaultTo"/>, <paramref name="from"/> to
    /// <paramref name="defaultDays"/> days before it; at most <paramref name="maxDays"/> days long.
    /// </summary>
    public static bool TryParseRange(string? from, string? to, DateOnly defaultTo, int defaultDays, int maxDays, out (DateOnly From, DateOnly To) range, out ProblemHttpResult? problem)
    {
        range = default;
        if (!TryParse(from, "from", out var f, out problem) || !TryParse(to, "to", out var t, out problem))
        {
            return false;
        }

        var end = t ?? defaultTo;
        var start = f ?? end.AddDays(1 - defaultDays);
        if (start > end)
        {
            problem = Invalid("from", "from must not be after to.");
            return false;
        }

        if (end.DayNumber - start.DayNumber + 1 > maxDays)
        {
            problem = Invalid("from", $"The window may span at most {maxDays} days.");
            return false;
        }

        range = (start, end);
        return true;
    }
}

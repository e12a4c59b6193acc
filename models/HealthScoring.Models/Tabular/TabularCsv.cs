using System.Globalization;
using CsvHelper;

namespace HealthScoring.Models.Tabular;

/// <summary>
/// Loads a labelled table from CSV into a <see cref="FeatureMatrix"/>: numeric columns as they are, every other column
/// one-hot encoded. The <see cref="TabularSchema"/> it returns applies the same encoding to new rows.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A column is numeric when every non-missing value parses as a finite invariant-culture number; otherwise it is
/// categorical, with one feature per observed level, named <c>column=level</c> (levels trimmed, in ordinal order).</item>
/// <item>Missing values are blank, whitespace, <c>NA</c>, <c>N/A</c>, <c>NaN</c> or <c>null</c> (any case): NaN for a
/// numeric column, NaN in each of a categorical column's one-hot features.</item>
/// <item>Labels: <c>Yes/No</c>, <c>True/False</c>, <c>1/0</c>, any case; anything else is an error naming the value and line.</item>
/// <item>Data errors throw <see cref="InvalidDataException"/> with the column, value and line at fault.</item>
/// </list>
/// </remarks>
public static class TabularCsv
{
    private static readonly string[] MissingTokens = ["NA", "N/A", "NaN", "null"];

    /// <summary>Loads the CSV file at <paramref name="path"/>; see <see cref="Load(TextReader, string, string?)"/>.</summary>
    public static TabularDataset Load(string path, string labelColumn, string? idColumn = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path);
        return Load(reader, labelColumn, idColumn);
    }

    /// <summary>
    /// Loads a CSV with a header row. <paramref name="labelColumn"/> holds the labels; <paramref name="idColumn"/>, when
    /// given, holds row ids (otherwise ids are the 1-based data row numbers). Neither becomes a feature.
    /// </summary>
    public static TabularDataset Load(TextReader reader, string labelColumn, string? idColumn = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        var table = RawTable.Read(reader);
        var labelIndex = table.Require(labelColumn, "label");
        var idIndex = idColumn is null ? -1 : table.Require(idColumn, "id");
        if (table.Rows.Count == 0)
        {
            throw new InvalidDataException("The CSV has a header but no data rows.");
        }

        var columns = new List<TabularColumn>();
        for (var c = 0; c < table.Header.Length; c++)
        {
            if (c == labelIndex || c == idIndex)
            {
                continue;
            }

            var numeric = true;
            var levels = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var row in table.Rows)
            {
                var value = row.Fields[c];
                if (IsMissing(value))
                {
                    continue;
                }

                levels.Add(value.Trim());
                numeric = numeric && TryParseNumber(value, out _);
            }

            columns.Add(numeric
                ? new TabularColumn(table.Header[c], TabularColumnKind.Numeric, [])
                : new TabularColumn(table.Header[c], TabularColumnKind.Categorical, [.. levels]));
        }

        var schema = new TabularSchema(labelColumn, idColumn, columns);
        var rows = schema.Encode(table, labelIndex, idIndex);
        return new TabularDataset(rows.Features, rows.Labels!, rows.Ids, schema);
    }

    /// <summary>Parses a label: <c>Yes/No</c>, <c>True/False</c>, <c>1/0</c>, any case, surrounding spaces ignored.</summary>
    public static bool TryParseLabel(string? value, out bool label)
    {
        switch (value?.Trim().ToUpperInvariant())
        {
            case "YES" or "TRUE" or "1":
                label = true;
                return true;
            case "NO" or "FALSE" or "0":
                label = false;
                return true;
            default:
                label = false;
                return false;
        }
    }

    /// <summary>Whether <paramref name="value"/> stands for a missing value (blank, whitespace, NA, N/A, NaN, null).</summary>
    public static bool IsMissing(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        var trimmed = value.Trim();
        foreach (var token in MissingTokens)
        {
            if (string.Equals(trimmed, token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);
}

/// <summary>A loaded table.</summary>
/// <param name="Features">One row per data row; feature names as <see cref="TabularSchema.FeatureNames"/>.</param>
/// <param name="Labels">The parsed label of each row.</param>
/// <param name="Ids">The id of each row (the id column, or the 1-based data row number).</param>
/// <param name="Schema">The encoding, to apply to new rows.</param>
public sealed record TabularDataset(FeatureMatrix Features, bool[] Labels, string[] Ids, TabularSchema Schema);

/// <summary>Rows encoded with an existing <see cref="TabularSchema"/>.</summary>
/// <param name="Features">One row per data row.</param>
/// <param name="Ids">The id of each row (the id column, or the 1-based data row number).</param>
/// <param name="Labels">The labels when the label column is present, otherwise null.</param>
public sealed record TabularRows(FeatureMatrix Features, string[] Ids, bool[]? Labels);

/// <summary>How a source column is encoded.</summary>
public enum TabularColumnKind
{
    /// <summary>One feature holding the number (NaN when missing).</summary>
    Numeric,

    /// <summary>One 0/1 feature per level (all NaN when missing, all 0 for a level not seen in training).</summary>
    Categorical,
}

/// <summary>One source column of a <see cref="TabularSchema"/>.</summary>
/// <param name="Name">The CSV header name.</param>
/// <param name="Kind">Numeric or categorical.</param>
/// <param name="Levels">The categorical levels seen in training, ordinal order (empty for numeric).</param>
public sealed record TabularColumn(string Name, TabularColumnKind Kind, IReadOnlyList<string> Levels)
{
    /// <summary>The features this column becomes: its name, or <c>name=level</c> per level.</summary>
    public IEnumerable<string> FeatureNames => Kind == TabularColumnKind.Numeric ? [Name] : Levels.Select(level => $"{Name}={level}");
}

/// <summary>A CSV's header and records, each record with its line number.</summary>
internal sealed class RawTable
{
    private RawTable(string[] header, List<RawRow> rows)
    {
        Header = header;
        Rows = rows;
    }

    public string[] Header { get; }

    public List<RawRow> Rows { get; }

    public static RawTable Read(TextReader reader)
    {
        var options = CsvReaderOptions.Default with { Separator = ',', HasHeader = true, TrackLineNumbers = true, SkipEmptyLines = true };
        using var csv = CsvReader.Create(reader, options, leaveOpen: true);
        var header = csv.Headers.ToArray();
        if (header.Length == 0)
        {
            throw new InvalidDataException("The CSV is empty: there is no header row.");
        }

        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidDataException($"The CSV header names column '{duplicate.Key}' more than once.");
        }

        var rows = new List<RawRow>();
        while (csv.Read())
        {
            var line = csv.LineNumber;
            if (csv.FieldCount != header.Length)
            {
                throw new InvalidDataException($"Line {line} has {csv.FieldCount} fields but the header has {header.Length}.");
            }

            var fields = new string[header.Length];
            for (var c = 0; c < fields.Length; c++)
            {
                fields[c] = csv.GetString(c);
            }

            rows.Add(new RawRow(fields, line));
        }

        return new RawTable(header, rows);
    }

    /// <summary>The index of a column that must be present; the error lists the columns there are.</summary>
    public int Require(string column, string role)
    {
        var index = Find(column);
        return index >= 0
            ? index
            : throw new InvalidDataException($"The {role} column '{column}' is not in the CSV header; the columns are: {string.Join(", ", Header)}.");
    }

    public int Find(string column) => Array.IndexOf(Header, column);
}

/// <summary>One CSV record and the (last) line it was read from.</summary>
internal sealed record RawRow(string[] Fields, long Line);

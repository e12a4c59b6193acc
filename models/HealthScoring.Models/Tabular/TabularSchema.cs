namespace HealthScoring.Models.Tabular;

/// <summary>
/// The encoding <see cref="TabularCsv.Load(TextReader, string, string?)"/> derived from training data, reapplied to
/// new rows with <see cref="Transform(TextReader)"/> or <see cref="EncodeRow"/>. Immutable.
/// </summary>
public sealed class TabularSchema
{
    /// <summary>Creates a schema from its columns (feature order follows the column order).</summary>
    public TabularSchema(string labelColumn, string? idColumn, IReadOnlyList<TabularColumn> columns)
    {
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
        {
            throw new InvalidDataException($"The CSV has no feature columns besides the label{(idColumn is null ? "" : " and id")}.");
        }

        LabelColumn = labelColumn;
        IdColumn = idColumn;
        Columns = [.. columns];
        FeatureNames = [.. columns.SelectMany(c => c.FeatureNames)];
        var duplicate = FeatureNames.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidDataException($"Two columns would both make a feature named '{duplicate.Key}'; rename one.");
        }
    }

    /// <summary>The label column's name.</summary>
    public string LabelColumn { get; }

    /// <summary>The id column's name, or null.</summary>
    public string? IdColumn { get; }

    /// <summary>The source columns that become features, in CSV order.</summary>
    public IReadOnlyList<TabularColumn> Columns { get; }

    /// <summary>The feature names, in matrix column order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Encodes the CSV file at <paramref name="path"/>; see <see cref="Transform(TextReader)"/>.</summary>
    public TabularRows Transform(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path);
        return Transform(reader);
    }

    /// <summary>
    /// Encodes new rows from a CSV whose header has every schema column (in any order; other columns are ignored).
    /// Labels are parsed when the label column is present. A categorical level not seen in training encodes as all
    /// zeros; a non-number in a numeric column is an error naming it and its line.
    /// </summary>
    public TabularRows Transform(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var table = RawTable.Read(reader);
        var missing = Columns.Where(c => table.Find(c.Name) < 0).Select(c => c.Name).ToArray();
        if (missing.Length > 0)
        {
            throw new InvalidDataException($"The CSV lacks the column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}; its columns are: {string.Join(", ", table.Header)}.");
        }

        return Encode(table, table.Find(LabelColumn), IdColumn is null ? -1 : table.Find(IdColumn));
    }

    /// <summary>
    /// Encodes one row given as column name → value (a missing key counts as a missing value) into
    /// <paramref name="destination"/> (<see cref="FeatureNames"/> long).
    /// </summary>
    public void EncodeRow(IReadOnlyDictionary<string, string?> values, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (destination.Length != FeatureNames.Count)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values; the schema has {FeatureNames.Count} features.", nameof(destination));
        }

        var offset = 0;
        foreach (var column in Columns)
        {
            values.TryGetValue(column.Name, out var value);
            offset += EncodeValue(column, value, destination[offset..], "the given row");
        }
    }

    internal TabularRows Encode(RawTable table, int labelIndex, int idIndex)
    {
        var indices = Columns.Select(c => table.Find(c.Name)).ToArray();
        var features = FeatureMatrix.Create(table.Rows.Count, FeatureNames);
        var labels = labelIndex < 0 ? null : new bool[table.Rows.Count];
        var ids = new string[table.Rows.Count];
        for (var r = 0; r < table.Rows.Count; r++)
        {
            var row = table.Rows[r];
            var destination = features.RowSpan(r);
            var offset = 0;
            for (var c = 0; c < Columns.Count; c++)
            {
                offset += EncodeValue(Columns[c], row.Fields[indices[c]], destination[offset..], $"line {row.Line}");
            }

            ids[r] = idIndex < 0 ? (r + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : row.Fields[idIndex];
            if (labels is not null)
            {
                var value = row.Fields[labelIndex];
                if (!TabularCsv.TryParseLabel(value, out labels[r]))
                {
                    throw new InvalidDataException($"Label column '{LabelColumn}' has '{value}' on line {row.Line}; expected Yes/No, True/False or 1/0.");
                }
            }
        }

        return new TabularRows(features, ids, labels);
    }

    /// <summary>Writes one column's features; returns how many.</summary>
    private static int EncodeValue(TabularColumn column, string? value, Span<float> destination, string where)
    {
        var missing = TabularCsv.IsMissing(value);
        if (column.Kind == TabularColumnKind.Numeric)
        {
            if (missing)
            {
                destination[0] = float.NaN;
            }
            else if (TabularCsv.TryParseNumber(value!, out var number))
            {
                destination[0] = (float)number;
            }
            else
            {
                throw new InvalidDataException($"Numeric column '{column.Name}' has '{value}' on {where}.");
            }

            return 1;
        }

        var levels = column.Levels;
        var hit = missing ? -1 : BinarySearch(levels, value!.Trim());
        for (var k = 0; k < levels.Count; k++)
        {
            destination[k] = missing ? float.NaN : k == hit ? 1f : 0f;
        }

        return levels.Count;
    }

    private static int BinarySearch(IReadOnlyList<string> sorted, string value)
    {
        int lo = 0, hi = sorted.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var cmp = string.CompareOrdinal(sorted[mid], value);
            if (cmp == 0)
            {
                return mid;
            }

            if (cmp < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }
}

namespace HealthScoring.Models;

/// <summary>
/// A dense table of features, one row per example, stored row-major as <see cref="float"/>. A missing value is
/// <see cref="float.NaN"/>; every trainer and model accepts it.
/// </summary>
public sealed class FeatureMatrix
{
    /// <summary>Wraps <paramref name="values"/> (row-major, length <c>rows × columnNames.Count</c>) without copying.</summary>
    public FeatureMatrix(float[] values, IReadOnlyList<string> columnNames)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(columnNames);
        if (columnNames.Count == 0)
        {
            throw new ArgumentException("A feature matrix needs at least one column.", nameof(columnNames));
        }

        if (values.Length % columnNames.Count != 0)
        {
            throw new ArgumentException($"{values.Length} values do not fill rows of {columnNames.Count} columns.", nameof(values));
        }

        Values = values;
        ColumnNames = columnNames;
        Columns = columnNames.Count;
        Rows = values.Length / Columns;
    }

    /// <summary>An empty matrix of <paramref name="rows"/> rows (all zero) with the given columns.</summary>
    public static FeatureMatrix Create(int rows, IReadOnlyList<string> columnNames)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        return new FeatureMatrix(new float[checked(rows * columnNames.Count)], columnNames);
    }

    /// <summary>Row-major values; <c>Values[row * Columns + column]</c>.</summary>
    public float[] Values { get; }

    /// <summary>The feature names, in column order.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>Number of examples.</summary>
    public int Rows { get; }

    /// <summary>Number of features.</summary>
    public int Columns { get; }

    /// <summary>One value.</summary>
    public float this[int row, int column]
    {
        get => Values[(row * Columns) + column];
        set => Values[(row * Columns) + column] = value;
    }

    /// <summary>One row's features.</summary>
    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * Columns, Columns);

    /// <summary>A writable view of one row.</summary>
    public Span<float> RowSpan(int row) => Values.AsSpan(row * Columns, Columns);

    /// <summary>A new matrix holding the given rows, in the given order (copied).</summary>
    public FeatureMatrix SelectRows(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var values = new float[rows.Count * Columns];
        for (var i = 0; i < rows.Count; i++)
        {
            Row(rows[i]).CopyTo(values.AsSpan(i * Columns, Columns));
        }

        return new FeatureMatrix(values, ColumnNames);
    }
}

namespace HealthScoring.Models;

/// <summary>Scoring helpers shared by the models in this library: argument checks and row-parallel batches.</summary>
internal static class RowParallel
{
    /// <summary>Below this many rows a batch is scored on the calling thread.</summary>
    private const int MinRowsPerChunk = 512;

    /// <summary>
    /// Fills <paramref name="destination"/> with <paramref name="score"/> of each row, in parallel chunks of rows.
    /// Each row's value does not depend on the chunking, so results are identical for any degree of parallelism.
    /// </summary>
    public static void Score(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism, Func<ReadOnlySpan<float>, double> score)
    {
        var rows = features.Rows;
        var dop = maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : maxDegreeOfParallelism;
        if (dop <= 1 || rows < 2 * MinRowsPerChunk)
        {
            for (var i = 0; i < rows; i++)
            {
                destination[i] = score(features.Row(i));
            }

            return;
        }

        // A span cannot be captured by the worker lambdas: score into an array, then copy.
        var buffer = new double[rows];
        var chunk = Math.Max(MinRowsPerChunk, rows / (dop * 4));
        var chunks = (rows + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = dop }, c =>
        {
            var end = Math.Min(rows, (c + 1) * chunk);
            for (var i = c * chunk; i < end; i++)
            {
                buffer[i] = score(features.Row(i));
            }
        });
        buffer.CopyTo(destination);
    }

    /// <summary>Throws unless <paramref name="features"/> has the model's columns, in order, and fits <paramref name="destinationLength"/>.</summary>
    public static void CheckBatch(IReadOnlyList<string> featureNames, FeatureMatrix features, int destinationLength, int maxDegreeOfParallelism)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (maxDegreeOfParallelism == 0 || maxDegreeOfParallelism < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), maxDegreeOfParallelism, "Use -1 (all cores) or a positive number of threads.");
        }

        if (destinationLength < features.Rows)
        {
            throw new ArgumentException($"The destination holds {destinationLength} values but the matrix has {features.Rows} rows.", nameof(destinationLength));
        }

        if (features.Columns != featureNames.Count)
        {
            throw new ArgumentException($"The model expects {featureNames.Count} features but the matrix has {features.Columns} columns.", nameof(features));
        }

        for (var j = 0; j < featureNames.Count; j++)
        {
            if (!string.Equals(featureNames[j], features.ColumnNames[j], StringComparison.Ordinal))
            {
                throw new ArgumentException($"Column {j} of the matrix is '{features.ColumnNames[j]}' but the model expects '{featureNames[j]}' there.", nameof(features));
            }
        }
    }

    /// <summary>Throws unless one row has the model's number of features.</summary>
    public static void CheckRow(int expected, ReadOnlySpan<float> features)
    {
        if (features.Length != expected)
        {
            throw new ArgumentException($"The model expects {expected} features but the row has {features.Length}.", nameof(features));
        }
    }
}

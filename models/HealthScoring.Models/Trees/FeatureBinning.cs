namespace HealthScoring.Models.Trees;

/// <summary>
/// Quantile binning of the training data: per feature at most <c>maxBins</c> bins of non-missing values, delimited
/// by upper bounds, plus one bin for missing values right after them. A value <c>x</c> falls in bin <c>b</c> when
/// <c>bounds[b-1] &lt; x ≤ bounds[b]</c>, so "bin ≤ b" and "x ≤ bounds[b]" agree exactly: trees learnt on bins are
/// scored on raw values.
/// </summary>
internal sealed class FeatureBinning
{
    /// <summary>Rows taken (by the seed) to place the bin bounds when there are more; as scikit-learn does.</summary>
    internal const int BinningSampleRows = 200_000;

    private FeatureBinning(float[][] upperBounds)
    {
        UpperBounds = upperBounds;
        BinCount = new int[upperBounds.Length];
        HistogramOffset = new int[upperBounds.Length];
        var offset = 0;
        for (var f = 0; f < upperBounds.Length; f++)
        {
            BinCount[f] = upperBounds[f].Length + 1;
            HistogramOffset[f] = offset;
            offset += BinCount[f] + 1;
        }

        HistogramSize = offset;
    }

    /// <summary>Per feature, the strictly increasing upper bounds of every non-missing bin but the last.</summary>
    public float[][] UpperBounds { get; }

    /// <summary>Per feature, the number of non-missing bins; the missing bin's index equals it.</summary>
    public int[] BinCount { get; }

    /// <summary>Where each feature's bins start in a histogram (non-missing bins, then the missing bin).</summary>
    public int[] HistogramOffset { get; }

    /// <summary>Bins of all features together in one histogram.</summary>
    public int HistogramSize { get; }

    public int Features => UpperBounds.Length;

    /// <summary>Places the bounds on <paramref name="features"/> (a seeded sample of rows when there are many).</summary>
    public static FeatureBinning Fit(FeatureMatrix features, int maxBins, int seed, ParallelOptions parallel)
    {
        var rows = features.Rows;
        int[]? sample = null;
        if (rows > BinningSampleRows)
        {
            sample = new int[rows];
            for (var i = 0; i < rows; i++)
            {
                sample[i] = i;
            }

            new Random(seed).Shuffle(sample);
            sample = sample[..BinningSampleRows];
            Array.Sort(sample);
        }

        var bounds = new float[features.Columns][];
        Parallel.For(0, features.Columns, parallel, () => new float[sample?.Length ?? rows], (f, _, buffer) =>
        {
            var values = features.Values;
            var columns = features.Columns;
            var n = 0;
            var count = sample?.Length ?? rows;
            for (var i = 0; i < count; i++)
            {
                var v = values[((sample is null ? i : sample[i]) * columns) + f];
                if (!float.IsNaN(v))
                {
                    buffer[n++] = v;
                }
            }

            var sorted = buffer.AsSpan(0, n);
            sorted.Sort();
            bounds[f] = UpperBoundsOf(sorted, maxBins);
            return buffer;
        }, _ => { });

        return new FeatureBinning(bounds);
    }

    /// <summary>Restores a binning saved with a model.</summary>
    public static FeatureBinning FromBounds(float[][] upperBounds) => new(upperBounds);

    /// <summary>
    /// Upper bounds for sorted non-missing values: between every two distinct values when there are at most
    /// <paramref name="maxBins"/> of them, else at (about) equal-frequency quantiles. Each bound lies halfway between
    /// the two neighbouring distinct values it separates.
    /// </summary>
    internal static float[] UpperBoundsOf(ReadOnlySpan<float> sorted, int maxBins)
    {
        if (sorted.Length == 0)
        {
            return [];
        }

        var distinct = 1;
        for (var i = 1; i < sorted.Length && distinct <= maxBins; i++)
        {
            if (sorted[i] != sorted[i - 1])
            {
                distinct++;
            }
        }

        var bounds = new List<float>(Math.Min(distinct, maxBins));
        if (distinct <= maxBins)
        {
            for (var i = 1; i < sorted.Length; i++)
            {
                if (sorted[i] != sorted[i - 1])
                {
                    bounds.Add(Between(sorted[i - 1], sorted[i]));
                }
            }

            return [.. bounds];
        }

        for (var j = 1; j < maxBins; j++)
        {
            // The j-th quantile starts a new bin; the bound goes just below it.
            var start = sorted[(int)((long)j * sorted.Length / maxBins)];
            var below = LowerBound(sorted, start) - 1;
            if (below < 0)
            {
                continue;
            }

            var bound = Between(sorted[below], start);
            if (bounds.Count == 0 || bound > bounds[^1])
            {
                bounds.Add(bound);
            }
        }

        return [.. bounds];
    }

    /// <summary>A float <c>m</c> with <c>a ≤ m &lt; b</c>, halfway when representable.</summary>
    private static float Between(float a, float b)
    {
        var mid = (float)((a + (double)b) / 2);
        return mid >= b || float.IsNaN(mid) ? a : Math.Max(mid, a);
    }

    /// <summary>First index whose value is ≥ <paramref name="value"/>.</summary>
    private static int LowerBound(ReadOnlySpan<float> sorted, float value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The bin of <paramref name="value"/> for <paramref name="feature"/> (the missing bin for NaN).</summary>
    public int BinOf(int feature, float value)
    {
        var bounds = UpperBounds[feature];
        if (float.IsNaN(value))
        {
            return bounds.Length + 1;
        }

        // Number of bounds strictly below the value.
        int lo = 0, hi = bounds.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (bounds[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The raw threshold of a split "bin ≤ <paramref name="bin"/> goes left" (+∞: every non-missing value).</summary>
    public float ThresholdOf(int feature, int bin) =>
        bin < UpperBounds[feature].Length ? UpperBounds[feature][bin] : float.PositiveInfinity;

    /// <summary>All rows binned, row-major (<c>bins[row * Features + feature]</c>).</summary>
    public byte[] Bin(FeatureMatrix features, ParallelOptions parallel)
    {
        var columns = features.Columns;
        var bins = new byte[features.Values.Length];
        const int block = 4096;
        var blocks = (features.Rows + block - 1) / block;
        Parallel.For(0, blocks, parallel, b =>
        {
            var values = features.Values;
            var end = Math.Min(features.Rows, (b + 1) * block);
            for (var r = b * block; r < end; r++)
            {
                var at = r * columns;
                for (var f = 0; f < columns; f++)
                {
                    bins[at + f] = (byte)BinOf(f, values[at + f]);
                }
            }
        });

        return bins;
    }
}

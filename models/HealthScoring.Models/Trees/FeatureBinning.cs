using System.Runtime.CompilerServices;

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

    /// <summary>
    /// The features column by column (<c>columns[feature * rows + row]</c>): binning reads each feature in row
    /// order. Built in blocks of rows, in parallel.
    /// </summary>
    public static float[] Transpose(FeatureMatrix features, ParallelOptions parallel)
    {
        var rows = features.Rows;
        var columns = new float[features.Values.Length];
        const int block = 2048;
        Parallel.For(0, (rows + block - 1) / block, parallel, b => TransposeRows(features.Values, features.Columns, rows, b * block, Math.Min(rows, (b + 1) * block), columns));
        return columns;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeRows(float[] values, int width, int rows, int from, int to, float[] columns)
    {
        for (var r = from; r < to; r++)
        {
            var at = r * width;
            for (var f = 0; f < width; f++)
            {
                columns[(f * rows) + r] = values[at + f];
            }
        }
    }

    /// <summary>Places the bounds on the (column-major) features (on a seeded sample of rows when there are many).</summary>
    public static FeatureBinning Fit(float[] columns, int rows, int maxBins, int seed, ParallelOptions parallel)
    {
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

        var features = rows == 0 ? 0 : columns.Length / rows;
        var bounds = new float[features][];
        var count = sample?.Length ?? rows;
        Parallel.For(0, features, parallel, () => (new float[count], new float[count]), (f, _, buffers) =>
        {
            var column = columns.AsSpan(f * rows, rows);
            var (values, scratch) = buffers;
            var n = 0;
            for (var i = 0; i < count; i++)
            {
                var v = column[sample is null ? i : sample[i]];
                if (!float.IsNaN(v))
                {
                    // -0 and +0 compare equal: one distinct value, so one bin.
                    values[n++] = v == 0 ? 0 : v;
                }
            }

            var sorted = values.AsSpan(0, n);
            RadixSort(sorted, scratch.AsSpan(0, n));
            bounds[f] = UpperBoundsOf(sorted, maxBins);
            return buffers;
        }, _ => { });

        return new FeatureBinning(bounds);
    }

    /// <summary>Sorts (non-NaN) floats by their bits, 11 bits per pass: several times faster than a comparison sort here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RadixSort(Span<float> values, Span<float> scratch)
    {
        var keys = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(values);
        var other = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(scratch);

        // Order-preserving map of IEEE bits to unsigned integers: flip every bit of negatives, the sign of the rest.
        for (var i = 0; i < keys.Length; i++)
        {
            var k = keys[i];
            keys[i] = (k & 0x8000_0000) != 0 ? ~k : k | 0x8000_0000;
        }

        Span<int> counts = stackalloc int[2048];
        for (var shift = 0; shift < 32; shift += 11)
        {
            counts.Clear();
            foreach (var k in keys)
            {
                counts[(int)((k >> shift) & 0x7FF)]++;
            }

            var total = 0;
            for (var d = 0; d < counts.Length; d++)
            {
                var c = counts[d];
                counts[d] = total;
                total += c;
            }

            foreach (var k in keys)
            {
                other[counts[(int)((k >> shift) & 0x7FF)]++] = k;
            }

            var swap = keys;
            keys = other;
            other = swap;
        }

        // Three passes: the sorted keys are in scratch; map them back into values.
        var sorted = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(values);
        for (var i = 0; i < keys.Length; i++)
        {
            var k = keys[i];
            sorted[i] = (k & 0x8000_0000) != 0 ? k & 0x7FFF_FFFF : ~k;
        }
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

        // Number of bounds strictly below the value, by a branch-free binary search (the answer is in [lo, lo + n]).
        int lo = 0, n = bounds.Length;
        while (n > 1)
        {
            var half = n >>> 1;
            lo = bounds[lo + half - 1] < value ? lo + half : lo;
            n -= half;
        }

        return n == 1 && bounds[lo] < value ? lo + 1 : lo;
    }

    /// <summary>The raw threshold of a split "bin ≤ <paramref name="bin"/> goes left" (+∞: every non-missing value).</summary>
    public float ThresholdOf(int feature, int bin) =>
        bin < UpperBounds[feature].Length ? UpperBounds[feature][bin] : float.PositiveInfinity;

    /// <summary>
    /// All rows of the column-major <paramref name="columns"/> binned, column-major too
    /// (<c>bins[feature * rows + row]</c>): histograms are built one feature at a time.
    /// </summary>
    public byte[] Bin(float[] columns, int rows, ParallelOptions parallel)
    {
        var bins = new byte[columns.Length];
        Parallel.For(0, Features, parallel, f => BinColumn(UpperBounds[f], columns.AsSpan(f * rows, rows), bins.AsSpan(f * rows, rows)));
        return bins;
    }

    // Runs once per training: optimised straight away rather than after tiering notices the loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BinColumn(float[] bounds, ReadOnlySpan<float> values, Span<byte> column)
    {
        // The bounds padded with +∞ to 255 (no value is above +∞): a fixed 8-step branch-free search then finds the
        // number of bounds below each value.
        Span<float> padded = stackalloc float[256];
        padded.Fill(float.PositiveInfinity);
        bounds.CopyTo(padded);
        var missing = (byte)(bounds.Length + 1);
        for (var r = 0; r < values.Length; r++)
        {
            var value = values[r];
            var lo = 0;
            lo += padded[lo + 127] < value ? 128 : 0;
            lo += padded[lo + 63] < value ? 64 : 0;
            lo += padded[lo + 31] < value ? 32 : 0;
            lo += padded[lo + 15] < value ? 16 : 0;
            lo += padded[lo + 7] < value ? 8 : 0;
            lo += padded[lo + 3] < value ? 4 : 0;
            lo += padded[lo + 1] < value ? 2 : 0;
            lo += padded[lo] < value ? 1 : 0;
            column[r] = float.IsNaN(value) ? missing : (byte)lo;
        }
    }
}

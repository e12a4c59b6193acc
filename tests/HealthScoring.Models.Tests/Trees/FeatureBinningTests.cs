using HealthScoring.Models.Trees;

namespace HealthScoring.Models.Tests.Trees;

public class FeatureBinningTests
{
    [Fact]
    public void A_value_is_at_most_a_bound_exactly_when_its_bin_is_at_most_that_bin()
    {
        // Heavy ties, few distinct values in one column, many in another, infinities and missing values.
        var random = new Random(61);
        var rows = 5_000;
        var features = FeatureMatrix.Create(rows, ["ties", "wide", "edges"]);
        for (var r = 0; r < rows; r++)
        {
            features[r, 0] = random.Next(12) / 4f;
            features[r, 1] = (float)(random.NextDouble() * 1e6);
            features[r, 2] = (r % 7) switch
            {
                0 => float.PositiveInfinity,
                1 => float.NegativeInfinity,
                2 => float.NaN,
                3 => float.Epsilon,
                _ => (float)random.NextDouble(),
            };
        }

        var parallel = new ParallelOptions();
        var binning = FeatureBinning.Fit(FeatureBinning.Transpose(features, parallel), rows, maxBins: 32, seed: 1, parallel);

        binning.BinCount[0].ShouldBe(12);
        binning.BinCount[1].ShouldBeLessThanOrEqualTo(32);
        binning.BinCount[1].ShouldBeGreaterThan(25);
        for (var f = 0; f < 3; f++)
        {
            var bounds = binning.UpperBounds[f];
            for (var r = 0; r < rows; r++)
            {
                var x = features[r, f];
                var bin = binning.BinOf(f, x);
                if (float.IsNaN(x))
                {
                    bin.ShouldBe(binning.BinCount[f]);
                    continue;
                }

                bin.ShouldBeLessThan(binning.BinCount[f]);
                for (var b = 0; b < binning.BinCount[f]; b++)
                {
                    (x <= binning.ThresholdOf(f, b)).ShouldBe(bin <= b);
                }
            }
        }
    }

    [Fact]
    public void Radix_sort_orders_floats_like_a_comparison_sort()
    {
        var random = new Random(62);
        var values = Enumerable.Range(0, 10_000).Select(i => (i % 5) switch
        {
            0 => (float)(random.NextDouble() - 0.5) * 1e-40f,
            1 => float.PositiveInfinity,
            2 => float.NegativeInfinity,
            _ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-20, 20))),
        }).ToArray();
        var expected = values.Order().ToArray();

        FeatureBinning.RadixSort(values, new float[values.Length]);

        values.ShouldBe(expected);
    }

    [Fact]
    public void Quantile_bins_hold_about_equal_numbers_of_rows()
    {
        var sorted = Enumerable.Range(0, 10_000).Select(i => (float)Math.Sqrt(i)).ToArray();

        var bounds = FeatureBinning.UpperBoundsOf(sorted, 10);

        bounds.Length.ShouldBe(9);
        var counts = new int[10];
        foreach (var x in sorted)
        {
            counts[bounds.Count(b => b < x)]++;
        }

        counts.ShouldAllBe(c => c >= 990 && c <= 1_010);
    }
}

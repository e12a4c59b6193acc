using HealthScoring.Models.Trees;
using static HealthScoring.Models.Tests.Trees.TreeTestData;

namespace HealthScoring.Models.Tests.Trees;

public class TreeShapTests
{
    [Fact]
    public void Base_value_plus_contributions_is_the_raw_score_for_every_row()
    {
        var (train, labels) = Ring(4_000, seed: 51, features: 6, missingRate: 0.05);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 50, LearningRate = 0.2 }).Fit(train, labels, cancellationToken: Ct);
        var (test, _) = Ring(500, seed: 52, features: 6, missingRate: 0.1);

        for (var r = 0; r < test.Rows; r++)
        {
            var raw = model.PredictRaw(test.Row(r));
            var explanation = model.Explain(test.Row(r));
            explanation.Contributions.Length.ShouldBe(6);
            explanation.RawScore.ShouldBe(raw, Math.Max(1e-12, Math.Abs(raw) * 1e-9));
        }
    }

    [Fact]
    public void The_base_value_is_the_mean_raw_score_over_the_training_rows()
    {
        var (train, labels) = Ring(3_000, seed: 53);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 20, LearningRate = 0.2 }).Fit(train, labels, cancellationToken: Ct);

        model.Explain(train.Row(0)).BaseValue.ShouldBe(Raw(model, train).Average(), 1e-9);
    }

    [Fact]
    public void Contributions_are_the_exact_shapley_values_of_the_path_dependent_expectation()
    {
        // Small trees over 5 features, trained with missing values so that default directions vary.
        var (train, labels) = Ring(3_000, seed: 54, features: 5, missingRate: 0.15);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 3, MaxDepth = 3, MaxLeaves = 8, LearningRate = 0.5, MinSamplesPerLeaf = 10 }).Fit(train, labels, cancellationToken: Ct);
        var (test, _) = Ring(40, seed: 55, features: 5, missingRate: 0.25);
        model.Trees.MaxDepth.ShouldBe(3);
        var withMissing = 0;

        for (var r = 0; r < test.Rows; r++)
        {
            var row = test.Row(r).ToArray();
            withMissing += row.Any(float.IsNaN) ? 1 : 0;
            var (baseValue, expected) = BruteForceShapley(model, row);

            var explanation = model.Explain(row);

            explanation.BaseValue.ShouldBe(baseValue, 1e-12);
            for (var f = 0; f < 5; f++)
            {
                explanation.Contributions[f].ShouldBe(expected[f], 1e-10, $"row {r}, feature {f}");
            }
        }

        withMissing.ShouldBeGreaterThan(10);
    }

    [Fact]
    public void A_feature_used_twice_on_one_path_is_still_exact()
    {
        // One feature, deep trees: every path splits on it repeatedly, which TreeSHAP must unwind.
        var random = new Random(56);
        var features = FeatureMatrix.Create(2_000, ["x", "y"]);
        var labels = new bool[2_000];
        for (var r = 0; r < 2_000; r++)
        {
            features[r, 0] = (float)random.NextDouble();
            features[r, 1] = (float)random.NextDouble();
            labels[r] = Math.Sin(features[r, 0] * 12) + (features[r, 1] * 0.5) > 0.2;
        }

        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 4, MaxDepth = 5, MaxLeaves = 20, LearningRate = 0.5, MinSamplesPerLeaf = 5 }).Fit(features, labels, cancellationToken: Ct);

        foreach (var row in new[] { new[] { 0.1f, 0.9f }, [0.5f, 0.2f], [0.93f, 0.5f], [float.NaN, 0.4f] })
        {
            var (baseValue, expected) = BruteForceShapley(model, row);
            var explanation = model.Explain(row);
            explanation.BaseValue.ShouldBe(baseValue, 1e-12);
            explanation.Contributions[0].ShouldBe(expected[0], 1e-10);
            explanation.Contributions[1].ShouldBe(expected[1], 1e-10);
        }
    }

    /// <summary>
    /// Shapley values by enumerating every feature subset S, with v(S) the tree's expected output when only the
    /// features in S are known: known features follow the row (missing: the default direction), unknown ones
    /// average both children weighted by training cover.
    /// </summary>
    private static (double BaseValue, double[] Phi) BruteForceShapley(GradientBoostedTreesModel model, float[] row)
    {
        var trees = model.Trees;
        var m = trees.Features;
        var phi = new double[m];
        var baseValue = model.InitialScore;
        var factorial = new double[m + 1];
        factorial[0] = 1;
        for (var i = 1; i <= m; i++)
        {
            factorial[i] = factorial[i - 1] * i;
        }

        for (var t = 0; t < trees.TreeCount; t++)
        {
            var root = trees.TreeStart[t];
            var value = new double[1 << m];
            for (var s = 0; s < 1 << m; s++)
            {
                value[s] = Expectation(trees, root, row, s);
            }

            baseValue += value[0];
            for (var i = 0; i < m; i++)
            {
                for (var s = 0; s < 1 << m; s++)
                {
                    if ((s & (1 << i)) != 0)
                    {
                        continue;
                    }

                    var size = System.Numerics.BitOperations.PopCount((uint)s);
                    var weight = factorial[size] * factorial[m - size - 1] / factorial[m];
                    phi[i] += weight * (value[s | (1 << i)] - value[s]);
                }
            }
        }

        return (baseValue, phi);
    }

    private static double Expectation(TreeEnsemble trees, int node, float[] row, int known)
    {
        var f = trees.Feature[node];
        if (f < 0)
        {
            return trees.Value[node];
        }

        if ((known & (1 << f)) != 0)
        {
            var x = row[f];
            var left = float.IsNaN(x) ? trees.DefaultLeft[node] : x <= trees.Threshold[node];
            return Expectation(trees, left ? trees.Left[node] : trees.Right[node], row, known);
        }

        var l = trees.Left[node];
        var r = trees.Right[node];
        return ((trees.Cover[l] * Expectation(trees, l, row, known)) + (trees.Cover[r] * Expectation(trees, r, row, known))) / trees.Cover[node];
    }
}

namespace HealthScoring.Models.Tests.Trees;

/// <summary>Seeded synthetic problems and a small AUC, for the tree tests (BinaryMetrics lives elsewhere).</summary>
internal static class TreeTestData
{
    /// <summary>The running test's cancellation.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A problem no linear model can learn: positive inside a ring XOR x2 &gt; 0, plus noise features and label noise.
    /// </summary>
    public static (FeatureMatrix Features, bool[] Labels) Ring(int rows, int seed, int features = 6, double missingRate = 0)
    {
        var random = new Random(seed);
        var names = Enumerable.Range(0, features).Select(i => $"x{i}").ToArray();
        var matrix = FeatureMatrix.Create(rows, names);
        var labels = new bool[rows];
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < features; f++)
            {
                matrix[r, f] = (float)((random.NextDouble() * 4) - 2);
            }

            var inside = (matrix[r, 0] * matrix[r, 0]) + (matrix[r, 1] * matrix[r, 1]) < 1.6;
            labels[r] = (inside ^ (matrix[r, 2] > 0)) ^ (random.NextDouble() < 0.05);
            for (var f = 0; f < features; f++)
            {
                if (random.NextDouble() < missingRate)
                {
                    matrix[r, f] = float.NaN;
                }
            }
        }

        return (matrix, labels);
    }

    /// <summary>Area under the ROC curve, ties counted half.</summary>
    public static double Auc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var copy = scores.ToArray();
        Array.Sort(order, (a, b) => copy[a].CompareTo(copy[b]));
        double rankSumPositive = 0;
        long positives = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j < order.Length && copy[order[j]] == copy[order[i]])
            {
                j++;
            }

            var averageRank = ((i + 1) + j) / 2.0;
            for (var k = i; k < j; k++)
            {
                if (labels[order[k]])
                {
                    rankSumPositive += averageRank;
                    positives++;
                }
            }

            i = j;
        }

        var negatives = scores.Length - positives;
        return (rankSumPositive - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }

    public static double[] Raw(IBinaryModel model, FeatureMatrix features)
    {
        var scores = new double[features.Rows];
        for (var r = 0; r < features.Rows; r++)
        {
            scores[r] = model.PredictRaw(features.Row(r));
        }

        return scores;
    }

    public static double[] Probabilities(IBinaryModel model, FeatureMatrix features, int maxDegreeOfParallelism = -1)
    {
        var scores = new double[features.Rows];
        model.PredictProbabilities(features, scores, maxDegreeOfParallelism);
        return scores;
    }

    /// <summary>Mean log-loss of raw scores.</summary>
    public static double LogLoss(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels)
    {
        double loss = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var p = Logistic.Sigmoid(raw[i]);
            loss -= Math.Log(labels[i] ? p : 1 - p);
        }

        return loss / raw.Length;
    }

    /// <summary>An IProgress that records synchronously (Progress&lt;T&gt; posts asynchronously).</summary>
    public sealed class RecordingProgress(Action<double>? onReport = null) : IProgress<double>
    {
        public List<double> Reports { get; } = [];

        public void Report(double value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }
}

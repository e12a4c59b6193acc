namespace HealthScoring.Models.Tests;

/// <summary>Synthetic data and checks shared by the model tests.</summary>
internal static class TestData
{
    /// <summary>The running test's cancellation token.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Rows of <paramref name="trueWeights"/>.Length standard-normal features (scaled and shifted per column so that
    /// standardization matters) with labels drawn from σ(bias + Σ trueWeights·x).
    /// </summary>
    public static (FeatureMatrix X, bool[] Y) LinearProblem(int rows, double[] trueWeights, double bias, int seed, double[]? scales = null)
    {
        var random = new Random(seed);
        var p = trueWeights.Length;
        var names = Enumerable.Range(0, p).Select(j => $"f{j}").ToArray();
        var x = FeatureMatrix.Create(rows, names);
        var y = new bool[rows];
        for (var i = 0; i < rows; i++)
        {
            var margin = bias;
            for (var j = 0; j < p; j++)
            {
                var scale = scales?[j] ?? 1.0;
                var value = (float)((Gaussian(random) * scale) + (10 * j));
                x[i, j] = value;
                margin += trueWeights[j] * (value - (10 * j));
            }

            y[i] = random.NextDouble() < Logistic.Sigmoid(margin);
        }

        return (x, y);
    }

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Saves and reloads <paramref name="model"/> and asserts the copy scores and explains every row identically.</summary>
    public static IBinaryModel AssertRoundTrip(IBinaryModel model, FeatureMatrix x)
    {
        var bytes = ModelFormat.ToBytes(model);
        var copy = ModelFormat.FromBytes(bytes);
        copy.Kind.ShouldBe(model.Kind);
        copy.FeatureNames.ShouldBe(model.FeatureNames);
        var before = new double[x.Rows];
        var after = new double[x.Rows];
        model.PredictProbabilities(x, before);
        copy.PredictProbabilities(x, after);
        after.ShouldBe(before);
        for (var i = 0; i < x.Rows; i++)
        {
            copy.PredictRaw(x.Row(i)).ShouldBe(model.PredictRaw(x.Row(i)));
            var e1 = model.Explain(x.Row(i));
            var e2 = copy.Explain(x.Row(i));
            e2.BaseValue.ShouldBe(e1.BaseValue);
            e2.Contributions.ShouldBe(e1.Contributions);
        }

        ModelFormat.ToBytes(copy).ShouldBe(bytes);
        return copy;
    }

    /// <summary>A saved model whose header claims <paramref name="version"/>, followed by a few junk bytes.</summary>
    public static byte[] HeaderOnly(string kind, int version)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ModelFormat.WriteHeader(writer, kind, version);
            writer.Write(new byte[64]);
        }

        return buffer.ToArray();
    }

    /// <summary>The repository root: the nearest ancestor of the test binaries holding <c>HealthScoring.sln</c>.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HealthScoring.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}

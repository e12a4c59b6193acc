using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Linear;

namespace HealthScoring.Models.Tests.Linear;

public class LogisticRegressionTrainerTests
{
    /// <summary>
    /// 60 rows: x1 = sin(0.7i)·2 + 0.05i, x2 = cos(1.3i)·10 + 3, x3 = (i mod 7) − 3 (all as float32), label
    /// x1 + 0.1·x2 − 0.5·x3 + 1.5·sin(2.1i) > 1.6 (30 positives).
    /// </summary>
    private static (FeatureMatrix X, bool[] Y) SmallProblem()
    {
        const int n = 60;
        var x = FeatureMatrix.Create(n, ["x1", "x2", "x3"]);
        var y = new bool[n];
        for (var i = 0; i < n; i++)
        {
            x[i, 0] = (float)((Math.Sin(i * 0.7) * 2) + (i * 0.05));
            x[i, 1] = (float)((Math.Cos(i * 1.3) * 10) + 3);
            x[i, 2] = (i % 7) - 3;
            y[i] = x[i, 0] + (0.1 * x[i, 1]) - (0.5 * x[i, 2]) + (Math.Sin(i * 2.1) * 1.5) > 1.6;
        }

        return (x, y);
    }

    // Expected coefficients from sklearn 1.2.1 (Debian python3-sklearn): LogisticRegression(C=…, tol=1e-12,
    // max_iter=100000) on the same data standardized with numpy's mean/std (ddof 0; weighted with np.average).
    [Theory]
    [InlineData(1.0, false, 1.8185224592610776, 0.5078479030025634, -0.8912847556889699, 0.014967011088108004)]
    [InlineData(0.1, false, 0.8030604310802268, 0.2166312499238897, -0.3462402747724988, 0.00406354270211222)]
    [InlineData(1.0, true, 1.9804121136451593, 0.43560609033313785, -0.8297263559438978, -0.3831989940752875)]
    public void Coefficients_match_sklearn_on_a_small_dataset(double c, bool weighted, double w1, double w2, double w3, double intercept)
    {
        var (x, y) = SmallProblem();
        var weights = weighted ? Enumerable.Range(0, x.Rows).Select(i => 1.0 + (i % 3)).ToArray() : null;
        foreach (var solver in new[] { LogisticSolver.Newton, LogisticSolver.Lbfgs })
        {
            var model = new LogisticRegressionTrainer(new() { C = c, Solver = solver, Tolerance = 1e-10 }).FitModel(x, y, weights, cancellationToken: TestData.Ct);
            model.Coefficients.Select(k => k.Weight).ToArray().ShouldBe([w1, w2, w3], tolerance: 1e-5);
            model.Intercept.ShouldBe(intercept, tolerance: 1e-5);
        }
    }

    [Fact]
    public void Learns_a_linear_problem_and_recovers_its_weights()
    {
        double[] truth = [1.5, -2.0, 0.0, 0.7];
        var (x, y) = TestData.LinearProblem(20_000, truth, bias: -0.5, seed: 1, scales: [1, 3, 0.5, 10]);
        var model = new LogisticRegressionTrainer().FitModel(x, y, cancellationToken: TestData.Ct);

        // Per-unit weights are the generating weights (large sample, light regularisation).
        var perUnit = model.Coefficients.Select(k => k.PerUnitWeight).ToArray();
        perUnit.ShouldBe(truth, tolerance: 0.08);
        model.UnstandardizedIntercept.ShouldBe(-0.5 - (10 * -2.0) - (30 * 0.7), tolerance: 0.5);

        var probabilities = new double[x.Rows];
        model.PredictProbabilities(x, probabilities);
        BinaryMetrics.Compute(y, probabilities).RocAuc.ShouldBeGreaterThan(0.9);
    }

    [Fact]
    public void Train_save_reload_gives_identical_scores()
    {
        var (x, y) = TestData.LinearProblem(500, [1, -1, 0.5], bias: 0.2, seed: 2);
        x[3, 1] = float.NaN;
        x[7, 0] = float.NaN;
        var model = new LogisticRegressionTrainer().Fit(x, y, cancellationToken: TestData.Ct);
        var copy = TestData.AssertRoundTrip(model, x);
        copy.ShouldBeOfType<LogisticRegressionModel>().Coefficients.ShouldBe(((LogisticRegressionModel)model).Coefficients);
    }

    [Fact]
    public void A_saved_model_of_an_unknown_format_version_is_rejected_clearly()
    {
        var ex = Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(TestData.HeaderOnly("logistic", 99)));
        ex.Message.ShouldContain("logistic");
        ex.Message.ShouldContain("version 99");
        ex.Message.ShouldContain("version 1");
    }

    [Fact]
    public void Explanations_add_up_to_the_raw_score_and_average_zero_over_training_rows()
    {
        var (x, y) = TestData.LinearProblem(1_000, [0.8, -1.2, 0.3], bias: 0.1, seed: 3, scales: [2, 1, 5]);
        for (var i = 0; i < x.Rows; i += 17)
        {
            x[i, i % 3] = float.NaN;
        }

        var model = new LogisticRegressionTrainer().FitModel(x, y, cancellationToken: TestData.Ct);
        var sums = new double[x.Columns];
        for (var i = 0; i < x.Rows; i++)
        {
            var explanation = model.Explain(x.Row(i));
            explanation.BaseValue.ShouldBe(model.Intercept);
            explanation.RawScore.ShouldBe(model.PredictRaw(x.Row(i)), tolerance: 1e-12);
            for (var j = 0; j < x.Columns; j++)
            {
                sums[j] += explanation.Contributions[j];
            }
        }

        // Relative to the average training account: each feature's contributions average to zero.
        foreach (var sum in sums)
        {
            (sum / x.Rows).ShouldBe(0, tolerance: 1e-9);
        }
    }

    [Fact]
    public void A_missing_value_scores_as_the_training_mean_and_contributes_nothing()
    {
        var (x, y) = TestData.LinearProblem(400, [1, 1], bias: 0, seed: 4);
        var model = new LogisticRegressionTrainer().FitModel(x, y, cancellationToken: TestData.Ct);
        float[] withMissing = [float.NaN, 0.5f];
        float[] withMean = [(float)model.Coefficients[0].Mean, 0.5f];
        model.PredictRaw(withMissing).ShouldBe(model.PredictRaw(withMean), tolerance: 1e-6);
        model.Explain(withMissing).Contributions[0].ShouldBe(0);
    }

    [Fact]
    public void Constant_and_empty_columns_get_zero_weight()
    {
        var (x0, y) = TestData.LinearProblem(300, [1, -1], bias: 0, seed: 5);
        var x = FeatureMatrix.Create(x0.Rows, ["a", "constant", "b", "empty"]);
        for (var i = 0; i < x.Rows; i++)
        {
            x[i, 0] = x0[i, 0];
            x[i, 1] = 0.1f;
            x[i, 2] = x0[i, 1];
            x[i, 3] = float.NaN;
        }

        var model = new LogisticRegressionTrainer().FitModel(x, y, cancellationToken: TestData.Ct);
        model.Coefficients[1].Weight.ShouldBe(0);
        model.Coefficients[1].StandardDeviation.ShouldBe(1);
        model.Coefficients[3].Weight.ShouldBe(0);
        double.IsFinite(model.PredictRaw([1f, 5f, 1f, 2f])).ShouldBeTrue();
    }

    [Fact]
    public void Newton_and_lbfgs_reach_the_same_optimum()
    {
        var (x, y) = TestData.LinearProblem(3_000, [0.5, -0.4, 1.1, 0, 0.2], bias: 0.3, seed: 6, scales: [1, 4, 0.2, 1, 30]);
        var newton = new LogisticRegressionTrainer(new() { Solver = LogisticSolver.Newton }).FitModel(x, y, cancellationToken: TestData.Ct);
        var lbfgs = new LogisticRegressionTrainer(new() { Solver = LogisticSolver.Lbfgs }).FitModel(x, y, cancellationToken: TestData.Ct);
        lbfgs.Coefficients.Select(c => c.Weight).ToArray().ShouldBe(newton.Coefficients.Select(c => c.Weight).ToArray(), tolerance: 1e-6);
        lbfgs.Intercept.ShouldBe(newton.Intercept, tolerance: 1e-6);
    }

    [Fact]
    public void Training_is_deterministic_whatever_the_number_of_threads()
    {
        // Enough rows for several chunks of the parallel sums.
        var (x, y) = TestData.LinearProblem(9_000, [0.5, -0.4, 1.1], bias: 0.3, seed: 7);
        var one = ModelFormat.ToBytes(new LogisticRegressionTrainer(new() { MaxDegreeOfParallelism = 1 }).Fit(x, y, cancellationToken: TestData.Ct));
        var all = ModelFormat.ToBytes(new LogisticRegressionTrainer(new() { MaxDegreeOfParallelism = -1 }).Fit(x, y, cancellationToken: TestData.Ct));
        var again = ModelFormat.ToBytes(new LogisticRegressionTrainer().Fit(x, y, cancellationToken: TestData.Ct));
        all.ShouldBe(one);
        again.ShouldBe(one);
    }

    [Fact]
    public void Stronger_regularisation_shrinks_the_weights()
    {
        var (x, y) = TestData.LinearProblem(500, [1, -1], bias: 0, seed: 8);
        var loose = new LogisticRegressionTrainer(new() { C = 10 }).FitModel(x, y, cancellationToken: TestData.Ct);
        var tight = new LogisticRegressionTrainer(new() { C = 0.001 }).FitModel(x, y, cancellationToken: TestData.Ct);
        Math.Abs(tight.Coefficients[0].Weight).ShouldBeLessThan(Math.Abs(loose.Coefficients[0].Weight) / 5);
    }

    [Fact]
    public void Training_on_one_class_is_rejected_clearly()
    {
        var x = FeatureMatrix.Create(5, ["a"]);
        var ex = Should.Throw<ArgumentException>(() => new LogisticRegressionTrainer().Fit(x, new bool[5], cancellationToken: TestData.Ct));
        ex.Message.ShouldContain("both classes");
    }

    [Fact]
    public void Scoring_a_matrix_with_other_columns_is_rejected()
    {
        var (x, y) = TestData.LinearProblem(100, [1, 1], bias: 0, seed: 9);
        var model = new LogisticRegressionTrainer().Fit(x, y, cancellationToken: TestData.Ct);
        var other = new FeatureMatrix(new float[4], ["f1", "f0"]);
        Should.Throw<ArgumentException>(() => model.PredictProbabilities(other, new double[2])).Message.ShouldContain("'f0'");
        Should.Throw<ArgumentException>(() => model.PredictRaw([1f]));
    }

    [Fact]
    public void Progress_ends_at_one()
    {
        var (x, y) = TestData.LinearProblem(200, [1], bias: 0, seed: 10);
        var reports = new List<double>();
        new LogisticRegressionTrainer().Fit(x, y, progress: new SyncProgress(reports.Add), cancellationToken: TestData.Ct);
        reports.ShouldNotBeEmpty();
        reports[^1].ShouldBe(1.0);
        reports.ShouldAllBe(r => r >= 0 && r <= 1);
    }

    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}

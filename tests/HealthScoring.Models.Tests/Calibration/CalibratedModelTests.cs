using HealthScoring.Models.Calibration;
using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Linear;

namespace HealthScoring.Models.Tests.Calibration;

public class CalibratedModelTests
{
    [Theory]
    [InlineData(CalibrationMethod.Platt)]
    [InlineData(CalibrationMethod.Isotonic)]
    public void Train_save_reload_gives_identical_scores(CalibrationMethod method)
    {
        var (x, y) = TestData.LinearProblem(800, [1, -0.5, 0.25], bias: -0.3, seed: 31);
        x[5, 2] = float.NaN;
        var model = new CalibratedTrainer(new LogisticRegressionTrainer(), new() { Method = method, Folds = 3 }).Fit(x, y, cancellationToken: TestData.Ct);
        model.Kind.ShouldBe("calibrated");
        var copy = TestData.AssertRoundTrip(model, x).ShouldBeOfType<CalibratedModel>();
        copy.Inner.ShouldBeOfType<LogisticRegressionModel>();
        copy.Calibrator.Kind.ShouldBe(method == CalibrationMethod.Platt ? "platt" : "isotonic");
    }

    [Fact]
    public void A_saved_model_of_an_unknown_format_version_is_rejected_clearly()
    {
        var ex = Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(TestData.HeaderOnly("calibrated", 99)));
        ex.Message.ShouldContain("calibrated");
        ex.Message.ShouldContain("version 99");
    }

    [Fact]
    public void Scores_are_the_calibrated_inner_scores_and_explanations_are_the_inner_ones()
    {
        var (x, y) = TestData.LinearProblem(300, [1, 1], bias: 0, seed: 32);
        var inner = new LogisticRegressionTrainer().FitModel(x, y, cancellationToken: TestData.Ct);
        var model = new CalibratedModel(inner, new PlattCalibrator(0.5, 0.25));
        var probabilities = new double[x.Rows];
        model.PredictProbabilities(x, probabilities);
        for (var i = 0; i < x.Rows; i++)
        {
            var innerRaw = inner.PredictRaw(x.Row(i));
            model.PredictRaw(x.Row(i)).ShouldBe((0.5 * innerRaw) + 0.25, tolerance: 1e-12);
            probabilities[i].ShouldBe(Logistic.Sigmoid(model.PredictRaw(x.Row(i))), tolerance: 1e-12);

            // Contributions are in the inner model's log-odds: they add up to the inner raw score.
            var explanation = model.Explain(x.Row(i));
            explanation.RawScore.ShouldBe(innerRaw, tolerance: 1e-12);
        }

        model.FeatureNames.ShouldBe(inner.FeatureNames);
    }

    [Fact]
    public void Cross_fitted_calibration_fixes_an_underconfident_model()
    {
        // Heavy L2 shrinks every weight: probabilities crowd the base rate although the ranking is good.
        var (x, y) = TestData.LinearProblem(6_000, [2, -1.5], bias: -1, seed: 33);
        var (testX, testY) = TestData.LinearProblem(6_000, [2, -1.5], bias: -1, seed: 34);
        var shrunk = new LogisticRegressionTrainer(new() { C = 0.0002 });
        var raw = shrunk.Fit(x, y, cancellationToken: TestData.Ct);
        var calibrated = new CalibratedTrainer(shrunk, new() { Method = CalibrationMethod.Isotonic }).Fit(x, y, cancellationToken: TestData.Ct);

        var before = new double[testX.Rows];
        var after = new double[testX.Rows];
        raw.PredictProbabilities(testX, before);
        calibrated.PredictProbabilities(testX, after);
        var b = BinaryMetrics.Compute(testY, before);
        var a = BinaryMetrics.Compute(testY, after);
        a.Brier.ShouldBeLessThan(b.Brier - 0.01);
        a.LogLoss.ShouldBeLessThan(b.LogLoss);
        a.RocAuc.ShouldBe(b.RocAuc, tolerance: 0.01);
    }

    [Fact]
    public void Every_fit_of_the_inner_trainer_is_reported_and_the_last_sees_every_row()
    {
        var (x, y) = TestData.LinearProblem(500, [1], bias: 0, seed: 35);
        var spy = new SpyTrainer();
        new CalibratedTrainer(spy, new() { Folds = 4 }).Fit(x, y, cancellationToken: TestData.Ct);
        spy.Fits.Count.ShouldBe(5);
        spy.Fits.Take(4).ShouldAllBe(f => f.Features.Rows < x.Rows);
        spy.Fits[4].Features.Rows.ShouldBe(x.Rows);
    }
}

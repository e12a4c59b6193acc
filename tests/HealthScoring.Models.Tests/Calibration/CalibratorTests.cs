using HealthScoring.Models.Calibration;

namespace HealthScoring.Models.Tests.Calibration;

public class CalibratorTests
{
    [Fact]
    public void Isotonic_matches_sklearn_with_ties_interpolation_and_clipping()
    {
        // Expected from sklearn 1.2.1: IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(q).
        double[] x = [1, 2, 2, 3, 4, 5, 6, 7, 7, 8];
        bool[] y = [false, true, false, false, true, false, true, true, true, false];
        var calibrator = IsotonicCalibrator.Fit(x, y);
        double[] q = [0, 1.5, 2, 2.5, 4.5, 5.5, 7.5, 9];
        double[] expected = [0.0, 0.16666666666666666, 0.3333333333333333, 0.3333333333333333, 0.5, 0.625, 0.75, 0.75];
        q.Select(calibrator.Calibrate).ToArray().ShouldBe(expected, tolerance: 1e-15);
        calibrator.Scores.ShouldBe([1, 2, 3, 4, 5, 6, 8]);
    }

    [Fact]
    public void Isotonic_is_monotone()
    {
        var random = new Random(21);
        var raw = Enumerable.Range(0, 2_000).Select(_ => TestData.Gaussian(random) * 3).ToArray();
        var labels = raw.Select(r => random.NextDouble() < Logistic.Sigmoid(r + Math.Sin(r * 3))).ToArray();
        var calibrator = IsotonicCalibrator.Fit(raw, labels);
        var previous = -1.0;
        for (var r = -12.0; r <= 12; r += 0.01)
        {
            var p = calibrator.Calibrate(r);
            p.ShouldBeGreaterThanOrEqualTo(previous);
            p.ShouldBeInRange(0, 1);
            previous = p;
        }
    }

    [Fact]
    public void Platt_matches_sklearn_sigmoid_calibration()
    {
        // Expected from sklearn 1.2.1: calibration._SigmoidCalibration().fit(raw, labels); slope = -a_, offset = -b_.
        double[] raw = [-2.0, -1.5, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 1.2, 2.0, 2.5, 3.0];
        bool[] labels = [false, false, true, false, false, true, false, true, true, true, false, true];
        var calibrator = PlattCalibrator.Fit(raw, labels);
        calibrator.Slope.ShouldBe(0.4468931683992573, tolerance: 1e-5);
        calibrator.Offset.ShouldBe(-0.20325468173564423, tolerance: 1e-5);
        calibrator.CalibrateLogOdds(1.0).ShouldBe(calibrator.Slope + calibrator.Offset, tolerance: 1e-15);
    }

    [Theory]
    [InlineData(CalibrationMethod.Platt)]
    [InlineData(CalibrationMethod.Isotonic)]
    public void Calibration_improves_the_brier_score_of_a_miscalibrated_scorer(CalibrationMethod method)
    {
        // True probability σ(r); the scorer reports 3r + 1: overconfident and biased.
        var random = new Random(22);
        double[] Draw(int n) => Enumerable.Range(0, n).Select(_ => TestData.Gaussian(random) * 1.5).ToArray();
        var fitRaw = Draw(4_000);
        var fitLabels = fitRaw.Select(r => random.NextDouble() < Logistic.Sigmoid(r)).ToArray();
        var testRaw = Draw(4_000);
        var testLabels = testRaw.Select(r => random.NextDouble() < Logistic.Sigmoid(r)).ToArray();

        static double Score(double r) => (3 * r) + 1;
        ICalibrator calibrator = method == CalibrationMethod.Platt
            ? PlattCalibrator.Fit(fitRaw.Select(Score).ToArray(), fitLabels)
            : IsotonicCalibrator.Fit(fitRaw.Select(Score).ToArray(), fitLabels);

        var before = Brier(testLabels, testRaw.Select(r => Logistic.Sigmoid(Score(r))));
        var after = Brier(testLabels, testRaw.Select(r => calibrator.Calibrate(Score(r))));
        var ideal = Brier(testLabels, testRaw.Select(Logistic.Sigmoid));
        after.ShouldBeLessThan(before - 0.01);
        after.ShouldBeLessThan(ideal + 0.005);
    }

    [Fact]
    public void Calibrators_round_trip_and_reject_unknown_versions()
    {
        var platt = new PlattCalibrator(0.7, -0.2);
        var isotonic = new IsotonicCalibrator([-1, 0, 2], [0.1, 0.4, 0.9]);
        foreach (var calibrator in new ICalibrator[] { platt, isotonic })
        {
            var copy = CalibratorFormat.FromBytes(CalibratorFormat.ToBytes(calibrator));
            copy.Kind.ShouldBe(calibrator.Kind);
            for (var r = -3.0; r <= 3; r += 0.25)
            {
                copy.Calibrate(r).ShouldBe(calibrator.Calibrate(r));
            }
        }

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            CalibratorFormat.WriteHeader(writer, "isotonic", 99);
            writer.Write(0L);
        }

        Should.Throw<ModelFormatException>(() => CalibratorFormat.FromBytes(buffer.ToArray())).Message.ShouldContain("version 99");
    }

    [Fact]
    public void Calibrators_need_both_classes()
    {
        Should.Throw<ArgumentException>(() => PlattCalibrator.Fit([1.0, 2.0], [true, true])).Message.ShouldContain("both classes");
        Should.Throw<ArgumentException>(() => IsotonicCalibrator.Fit([1.0, 2.0], [false, false])).Message.ShouldContain("both classes");
    }

    private static double Brier(bool[] labels, IEnumerable<double> probabilities) =>
        probabilities.Select((p, i) => (p - (labels[i] ? 1 : 0)) * (p - (labels[i] ? 1 : 0))).Average();
}

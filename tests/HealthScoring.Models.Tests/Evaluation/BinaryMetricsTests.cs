using HealthScoring.Models.Evaluation;

namespace HealthScoring.Models.Tests.Evaluation;

public class BinaryMetricsTests
{
    [Fact]
    public void Hand_computed_case_with_a_tie_across_classes()
    {
        // Pairs (positive, negative): 0.8 beats both negatives (2), 0.4 ties one (½) and beats the other (1): 3.5 of 4.
        // AP: threshold 0.8 → P 1, R ½; threshold 0.4 → P ⅔, R 1; threshold 0.2 adds no recall: ½·1 + ½·⅔.
        bool[] labels = [true, false, true, false];
        double[] p = [0.8, 0.4, 0.4, 0.2];
        var m = BinaryMetrics.Compute(labels, p);
        m.RocAuc.ShouldBe(0.875, tolerance: 1e-15);
        m.PrAuc.ShouldBe(0.5 + (1.0 / 3), tolerance: 1e-15);
        m.Brier.ShouldBe(((0.2 * 0.2) + (0.4 * 0.4) + (0.6 * 0.6) + (0.2 * 0.2)) / 4, tolerance: 1e-15);
        m.LogLoss.ShouldBe(-(Math.Log(0.8) + Math.Log(0.6) + Math.Log(0.4) + Math.Log(0.8)) / 4, tolerance: 1e-15);
        m.BaseRate.ShouldBe(0.5);
        m.Count.ShouldBe(4);
        m.HasBothClasses.ShouldBeTrue();
    }

    [Fact]
    public void Matches_sklearn_on_scores_with_ties()
    {
        // Expected values from sklearn 1.2.1: roc_auc_score, average_precision_score, brier_score_loss, log_loss.
        bool[] labels = [true, false, true, true, false, false, true, false, false, true, false, true, false, false, false, true, false, false, true, false];
        double[] p = [0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.5, 0.4, 0.4, 0.3, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.95, 0.0];
        var m = BinaryMetrics.Compute(labels, p);
        m.RocAuc.ShouldBe(0.7552083333333334, tolerance: 1e-12);
        m.PrAuc.ShouldBe(0.7081123737373737, tolerance: 1e-12);
        m.Brier.ShouldBe(0.20024999999999998, tolerance: 1e-12);
        m.LogLoss.ShouldBe(0.5816214769659028, tolerance: 1e-12);

        // Top 10% = the 2 highest scores (0.95 and 0.9), both positive; base rate 8/20.
        m.TopDecileLift.ShouldBe(1.0 / 0.4, tolerance: 1e-12);
    }

    [Fact]
    public void Rank_metrics_depend_only_on_the_order_of_the_scores()
    {
        bool[] labels = [true, false, true, false, false, true];
        double[] p = [0.9, 0.1, 0.6, 0.6, 0.3, 0.2];
        var squashed = p.Select(v => v * v / 2).ToArray();
        BinaryMetrics.Compute(labels, squashed).RocAuc.ShouldBe(BinaryMetrics.Compute(labels, p).RocAuc, tolerance: 1e-15);
        BinaryMetrics.ComputeAveragePrecision(labels, p.Select(v => (v * 10) - 3).ToArray()).ShouldBe(BinaryMetrics.Compute(labels, p).PrAuc, tolerance: 1e-15);
    }

    [Fact]
    public void Top_decile_lift_shares_a_tie_at_the_cut_in_proportion()
    {
        // 20 rows, top 2: one clear positive, then a tie of 4 rows (2 positive) for the second place: 1 + ½ hits.
        var labels = new bool[20];
        var p = new double[20];
        labels[0] = true;
        p[0] = 0.9;
        for (var i = 1; i <= 4; i++)
        {
            p[i] = 0.5;
            labels[i] = i <= 2;
        }

        labels[10] = true;
        var m = BinaryMetrics.Compute(labels, p);
        m.TopDecileLift.ShouldBe(1.5 / 2 / (4.0 / 20), tolerance: 1e-12);
        BinaryMetrics.Compute(labels, new double[20]).TopDecileLift.ShouldBe(1.0, tolerance: 1e-12);
    }

    [Fact]
    public void The_calibration_table_has_every_bin_with_its_rows()
    {
        bool[] labels = [false, true, true, false, true];
        double[] p = [0.05, 0.15, 0.12, 0.55, 1.0];
        var table = BinaryMetrics.Compute(labels, p, calibrationBins: 5).CalibrationTable;
        table.Count.ShouldBe(5);
        table.Select(b => b.Count).ShouldBe([3, 0, 1, 0, 1]);
        table[0].MeanPredicted.ShouldBe((0.05 + 0.15 + 0.12) / 3, tolerance: 1e-15);
        table[0].ObservedRate.ShouldBe(2.0 / 3, tolerance: 1e-15);
        double.IsNaN(table[1].MeanPredicted).ShouldBeTrue();
        table[4].Lower.ShouldBe(0.8);
        table[4].ObservedRate.ShouldBe(1);
    }

    [Fact]
    public void Log_loss_clips_certain_mistakes()
    {
        var m = BinaryMetrics.Compute([true, false], [0.0, 0.0]);
        m.LogLoss.ShouldBe(-Math.Log(1e-15) / 2, tolerance: 1e-9);
    }

    [Fact]
    public void With_one_class_the_rank_metrics_are_NaN_and_the_strict_versions_throw()
    {
        var m = BinaryMetrics.Compute([false, false, false], [0.1, 0.2, 0.3]);
        double.IsNaN(m.RocAuc).ShouldBeTrue();
        double.IsNaN(m.PrAuc).ShouldBeTrue();
        double.IsNaN(m.TopDecileLift).ShouldBeTrue();
        m.HasBothClasses.ShouldBeFalse();
        m.Brier.ShouldBe((0.01 + 0.04 + 0.09) / 3, tolerance: 1e-15);

        var allPositive = BinaryMetrics.Compute([true, true], [0.1, 0.2]);
        double.IsNaN(allPositive.RocAuc).ShouldBeTrue();
        allPositive.PrAuc.ShouldBe(1);

        Should.Throw<ArgumentException>(() => BinaryMetrics.ComputeRocAuc([false, false, false], [0.1, 0.2, 0.3]))
            .Message.ShouldContain("all 3 labels are negative");
        Should.Throw<ArgumentException>(() => BinaryMetrics.ComputeAveragePrecision([false], [0.1]))
            .Message.ShouldContain("none of the 1 labels is positive");
    }

    [Fact]
    public void Bad_inputs_are_rejected()
    {
        Should.Throw<ArgumentException>(() => BinaryMetrics.Compute([true], [0.1, 0.2]));
        Should.Throw<ArgumentException>(() => BinaryMetrics.Compute([], []));
        Should.Throw<ArgumentException>(() => BinaryMetrics.Compute([true, false], [0.1, 1.5])).Message.ShouldContain("1.5");
        Should.Throw<ArgumentException>(() => BinaryMetrics.Compute([true, false], [0.1, double.NaN]));
    }

    [Fact]
    public void The_lift_table_ranks_by_score_and_splits_ties_at_a_cut_in_proportion()
    {
        // 20 rows, 4 positives (base rate 0.2). Deciles of 2 rows. Top two scores: one positive → lift 0.5/0.2 = 2.5.
        // Rows 3–6 tie at 0.5 with 2 positives among 4: deciles 2 and 3 each get 1 positive (lift 2.5).
        var labels = new bool[20];
        var scores = new double[20];
        for (var i = 0; i < 20; i++)
        {
            scores[i] = 0.1;
        }

        (scores[0], labels[0]) = (0.9, true);
        scores[1] = 0.8;
        (scores[2], labels[2]) = (0.5, true);
        (scores[3], labels[3]) = (0.5, true);
        scores[4] = 0.5;
        scores[5] = 0.5;
        labels[19] = true;
        var table = BinaryMetrics.ComputeLiftTable(labels, scores);
        table.Count.ShouldBe(10);
        table.Select(b => b.Rows).ShouldAllBe(r => r == 2);
        table[0].Lift.ShouldBe(2.5, 1e-12);
        table[1].Positives.ShouldBe(1, 1e-12);
        table[2].Positives.ShouldBe(1, 1e-12);
        table[2].CumulativeCapture.ShouldBe(0.75, 1e-12);
        table[^1].CumulativeCapture.ShouldBe(1, 1e-12);
        table[^1].CumulativeLift.ShouldBe(1, 1e-12);
        table[0].Lift.ShouldBe(BinaryMetrics.Compute(labels, scores).TopDecileLift, 1e-12);
        table.Sum(b => b.Positives).ShouldBe(4, 1e-9);
        BinaryMetrics.ComputeLiftTable(new bool[5], new double[5]).ShouldBeEmpty();
    }
}

using HealthScoring.Models.Trees;
using static HealthScoring.Models.Tests.Trees.TreeTestData;

namespace HealthScoring.Models.Tests.Trees;

public class GradientBoostedTreesTrainerTests
{
    private static readonly GradientBoostedTreesTrainer.Options Small = new() { NumberOfTrees = 60, LearningRate = 0.2 };

    [Fact]
    public void Learns_a_non_linear_problem_no_linear_model_can()
    {
        var (train, labels) = Ring(6_000, seed: 1);
        var (test, testLabels) = Ring(3_000, seed: 2);

        var model = new GradientBoostedTreesTrainer(Small).Fit(train, labels, cancellationToken: Ct);

        // 5% of the labels are flipped, so about 0.95 is the best reachable.
        Auc(Probabilities(model, test), testLabels).ShouldBeGreaterThan(0.92);
        model.Kind.ShouldBe("gbdt");
        model.TreeCount.ShouldBe(60);
        model.FeatureNames.ShouldBe(train.ColumnNames);
    }

    [Fact]
    public void The_trainer_works_through_the_trainer_interface_with_weights()
    {
        var (train, labels) = Ring(3_000, seed: 3);
        var weights = Enumerable.Range(0, train.Rows).Select(i => i % 3 == 0 ? 0.0 : 2.0).ToArray();
        IBinaryTrainer trainer = new GradientBoostedTreesTrainer(Small);

        var model = trainer.Fit(train, labels, weights, cancellationToken: Ct);

        trainer.Kind.ShouldBe("gbdt");
        Auc(Probabilities(model, train), labels).ShouldBeGreaterThan(0.9);
    }

    [Fact]
    public void The_initial_score_is_the_log_odds_of_the_weighted_base_rate()
    {
        var (train, labels) = Ring(2_000, seed: 4);
        var weights = labels.Select(l => l ? 3.0 : 1.0).ToArray();
        var positives = labels.Count(l => l);

        var model = new GradientBoostedTreesTrainer(Small with { NumberOfTrees = 1 }).Fit(train, labels, weights, cancellationToken: Ct);

        var rate = 3.0 * positives / ((3.0 * positives) + (labels.Length - positives));
        model.InitialScore.ShouldBe(Math.Log(rate / (1 - rate)), 1e-12);
    }

    [Fact]
    public void Same_seed_gives_identical_model_bytes_with_one_thread_or_two()
    {
        // Large enough for the histograms to be built in parallel; subsampling exercises the seeded choices.
        var (train, labels) = Ring(12_000, seed: 5, features: 8, missingRate: 0.05);
        var options = Small with { NumberOfTrees = 25, RowSubsample = 0.8, FeatureSubsample = 0.7, Seed = 7 };

        var one = ModelFormat.ToBytes(new GradientBoostedTreesTrainer(options with { MaxDegreeOfParallelism = 1 }).Fit(train, labels, cancellationToken: Ct));
        var two = ModelFormat.ToBytes(new GradientBoostedTreesTrainer(options with { MaxDegreeOfParallelism = 2 }).Fit(train, labels, cancellationToken: Ct));
        var again = ModelFormat.ToBytes(new GradientBoostedTreesTrainer(options with { MaxDegreeOfParallelism = 2 }).Fit(train, labels, cancellationToken: Ct));
        var otherSeed = ModelFormat.ToBytes(new GradientBoostedTreesTrainer(options with { Seed = 8 }).Fit(train, labels, cancellationToken: Ct));

        two.ShouldBe(one);
        again.ShouldBe(one);
        otherSeed.ShouldNotBe(one);
    }

    [Fact]
    public void Missingness_that_predicts_the_label_is_used()
    {
        // x0 is missing for 30% of the rows, 90% of which are positive; its values, and x1, are pure noise.
        var random = new Random(11);
        var rows = 4_000;
        var features = FeatureMatrix.Create(rows, ["x0", "x1"]);
        var labels = new bool[rows];
        for (var r = 0; r < rows; r++)
        {
            var missing = random.NextDouble() < 0.3;
            labels[r] = missing ? random.NextDouble() < 0.9 : random.NextDouble() < 0.1;
            features[r, 0] = missing ? float.NaN : (float)random.NextDouble();
            features[r, 1] = (float)random.NextDouble();
        }

        var model = new GradientBoostedTreesTrainer(Small).Fit(features, labels, cancellationToken: Ct);

        Auc(Probabilities(model, features), labels).ShouldBeGreaterThan(0.85);
        Logistic.Sigmoid(model.PredictRaw([float.NaN, 0.5f])).ShouldBeGreaterThan(0.8);
        Logistic.Sigmoid(model.PredictRaw([0.5f, 0.5f])).ShouldBeLessThan(0.2);
        var importance = model.FeatureImportance();
        importance[0].ShouldBeGreaterThan(10 * importance[1]);
    }

    [Fact]
    public void Missing_values_go_to_the_side_that_gains_more()
    {
        // Positive when x0 > 0.5; a fifth of the positives lose x0. Missing should score like a high x0.
        var random = new Random(12);
        var rows = 4_000;
        var features = FeatureMatrix.Create(rows, ["x0"]);
        var labels = new bool[rows];
        for (var r = 0; r < rows; r++)
        {
            var x = (float)random.NextDouble();
            labels[r] = x > 0.5;
            features[r, 0] = labels[r] && random.NextDouble() < 0.2 ? float.NaN : x;
        }

        var model = new GradientBoostedTreesTrainer(Small).Fit(features, labels, cancellationToken: Ct);

        var missing = model.PredictRaw([float.NaN]);
        missing.ShouldBeGreaterThan(model.PredictRaw([0.25f]));
        missing.ShouldBe(model.PredictRaw([0.9f]), 0.5);
    }

    [Fact]
    public void Missing_values_unseen_in_training_go_to_the_larger_side()
    {
        var (train, labels) = Ring(3_000, seed: 13);

        var model = new GradientBoostedTreesTrainer(Small).Fit(train, labels, cancellationToken: Ct);

        var row = new float[train.Columns];
        Array.Fill(row, float.NaN);
        double.IsFinite(model.PredictRaw(row)).ShouldBeTrue();
        model.Explain(row).RawScore.ShouldBe(model.PredictRaw(row), 1e-9);
    }

    [Fact]
    public void Early_stopping_stops_before_the_last_tree_and_keeps_the_best_round()
    {
        // Weak signal, much label noise: the validation loss turns up after a few dozen rounds.
        var random = new Random(21);
        (FeatureMatrix, bool[]) Noisy(int rows)
        {
            var m = FeatureMatrix.Create(rows, ["a", "b", "c", "d"]);
            var y = new bool[rows];
            for (var r = 0; r < rows; r++)
            {
                for (var f = 0; f < 4; f++)
                {
                    m[r, f] = (float)random.NextDouble();
                }

                y[r] = random.NextDouble() < 0.35 + (0.3 * m[r, 0]);
            }

            return (m, y);
        }

        var (train, labels) = Noisy(2_000);
        var (validation, validationLabels) = Noisy(1_000);
        var options = new GradientBoostedTreesTrainer.Options { NumberOfTrees = 500, LearningRate = 0.3, MinSamplesPerLeaf = 5, EarlyStoppingRounds = 10 };

        var stopped = new GradientBoostedTreesTrainer(options).Fit(train, labels, validation, validationLabels, cancellationToken: Ct);

        stopped.TreeCount.ShouldBeLessThan(100);
        stopped.TreeCount.ShouldBeGreaterThan(0);

        // Without early stopping the same seed grows the same trees: the kept ones must be the best prefix.
        var full = new GradientBoostedTreesTrainer(options with { EarlyStoppingRounds = null, NumberOfTrees = stopped.TreeCount + 10 })
            .Fit(train, labels, validation, validationLabels, cancellationToken: Ct);
        Raw(full.Take(stopped.TreeCount), validation).ShouldBe(Raw(stopped, validation));
        var best = LogLoss(Raw(stopped, validation), validationLabels);
        for (var trees = 1; trees <= full.TreeCount; trees++)
        {
            LogLoss(Raw(full.Take(trees), validation), validationLabels).ShouldBeGreaterThanOrEqualTo(best);
        }
    }

    [Fact]
    public void Early_stopping_without_a_validation_set_holds_out_part_of_the_training_rows()
    {
        var (train, labels) = Ring(3_000, seed: 22);
        var options = new GradientBoostedTreesTrainer.Options { NumberOfTrees = 2_000, LearningRate = 0.5, EarlyStoppingRounds = 5, ValidationFraction = 0.2 };

        var model = new GradientBoostedTreesTrainer(options).Fit(train, labels, cancellationToken: Ct);

        model.TreeCount.ShouldBeLessThan(2_000);
        ModelFormat.ToBytes(new GradientBoostedTreesTrainer(options).Fit(train, labels, cancellationToken: Ct)).ShouldBe(ModelFormat.ToBytes(model));
    }

    [Fact]
    public void Trees_respect_the_depth_and_leaf_limits()
    {
        var (train, labels) = Ring(5_000, seed: 23);

        var deep = new GradientBoostedTreesTrainer(Small with { MaxDepth = 3, MaxLeaves = 0, NumberOfTrees = 10 }).Fit(train, labels, cancellationToken: Ct);
        var wide = new GradientBoostedTreesTrainer(Small with { MaxDepth = -1, MaxLeaves = 5, NumberOfTrees = 10 }).Fit(train, labels, cancellationToken: Ct);

        deep.Trees.MaxDepth.ShouldBe(3);
        LeafCounts(deep).Max().ShouldBe(8);
        LeafCounts(wide).Max().ShouldBe(5);
        wide.Trees.MaxDepth.ShouldBeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public void Leaves_keep_the_minimum_number_of_rows()
    {
        var (train, labels) = Ring(2_000, seed: 24);

        var model = new GradientBoostedTreesTrainer(Small with { MinSamplesPerLeaf = 150, NumberOfTrees = 5 }).Fit(train, labels, cancellationToken: Ct);

        var trees = model.Trees;
        for (var n = 0; n < trees.NodeCount; n++)
        {
            if (trees.Feature[n] < 0)
            {
                trees.Cover[n].ShouldBeGreaterThanOrEqualTo(150);
            }
        }
    }

    [Fact]
    public void Progress_is_reported_per_tree_and_cancellation_is_checked_per_tree()
    {
        var (train, labels) = Ring(1_000, seed: 25);
        var progress = new RecordingProgress();
        new GradientBoostedTreesTrainer(Small with { NumberOfTrees = 20 }).Fit(train, labels, progress: progress, cancellationToken: Ct);
        progress.Reports.Count.ShouldBe(20);
        progress.Reports[^1].ShouldBe(1.0);
        progress.Reports.ShouldBeInOrder();

        using var cancellation = new CancellationTokenSource();
        var cancelling = new RecordingProgress(p =>
        {
            if (p >= 0.25)
            {
                cancellation.Cancel();
            }
        });
        Should.Throw<OperationCanceledException>(() =>
            new GradientBoostedTreesTrainer(Small with { NumberOfTrees = 20 }).Fit(train, labels, progress: cancelling, cancellationToken: cancellation.Token));
        cancelling.Reports.Count.ShouldBe(5);
    }

    [Fact]
    public void Labels_of_one_class_only_are_rejected_clearly()
    {
        var (train, _) = Ring(100, seed: 31);
        var ex = Should.Throw<ArgumentException>(() => new GradientBoostedTreesTrainer().Fit(train, new bool[100], cancellationToken: Ct));
        ex.Message.ShouldContain("both classes");
        ex.ParamName.ShouldBe("labels");
    }

    [Fact]
    public void A_label_count_that_does_not_match_the_rows_is_rejected_clearly()
    {
        var (train, labels) = Ring(100, seed: 32);
        var ex = Should.Throw<ArgumentException>(() => new GradientBoostedTreesTrainer().Fit(train, labels.AsSpan(0, 99), cancellationToken: Ct));
        ex.Message.ShouldContain("99 labels for 100 rows");
    }

    [Fact]
    public void Negative_or_mismatched_weights_are_rejected_clearly()
    {
        var (train, labels) = Ring(100, seed: 33);
        var negative = Enumerable.Repeat(1.0, 100).ToArray();
        negative[7] = -1;

        Should.Throw<ArgumentException>(() => new GradientBoostedTreesTrainer().Fit(train, labels, negative, cancellationToken: Ct)).Message.ShouldContain("row 7");
        Should.Throw<ArgumentException>(() => new GradientBoostedTreesTrainer().Fit(train, labels, new double[3], cancellationToken: Ct)).Message.ShouldContain("3 weights for 100 rows");
    }

    [Fact]
    public void A_validation_set_without_early_stopping_is_checked_but_does_not_change_the_model()
    {
        var (train, labels) = Ring(1_000, seed: 34);
        var (validation, validationLabels) = Ring(300, seed: 35);
        var trainer = new GradientBoostedTreesTrainer(Small with { NumberOfTrees = 10 });

        var with = trainer.Fit(train, labels, validation, validationLabels, cancellationToken: Ct);
        var without = trainer.Fit(train, labels, cancellationToken: Ct);

        ModelFormat.ToBytes(with).ShouldBe(ModelFormat.ToBytes(without));
        var (narrow, _) = Ring(300, seed: 36, features: 4);
        Should.Throw<ArgumentException>(() => trainer.Fit(train, labels, narrow, validationLabels, cancellationToken: Ct)).Message.ShouldContain("4 columns");
        Should.Throw<ArgumentException>(() => trainer.Fit(train, labels, validation, validationLabels.AsSpan(1), cancellationToken: Ct)).Message.ShouldContain("299 validation labels");
    }

    [Fact]
    public void Invalid_options_are_rejected_when_the_trainer_is_made()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new GradientBoostedTreesTrainer(new() { MaxBins = 256 })).ParamName.ShouldBe("MaxBins");
        Should.Throw<ArgumentOutOfRangeException>(() => new GradientBoostedTreesTrainer(new() { LearningRate = 0 })).ParamName.ShouldBe("LearningRate");
        Should.Throw<ArgumentOutOfRangeException>(() => new GradientBoostedTreesTrainer(new() { RowSubsample = 1.5 })).ParamName.ShouldBe("RowSubsample");
    }

    private static int[] LeafCounts(GradientBoostedTreesModel model)
    {
        var trees = model.Trees;
        var counts = new int[trees.TreeCount];
        for (var t = 0; t < trees.TreeCount; t++)
        {
            for (var n = trees.TreeStart[t]; n < trees.TreeStart[t + 1]; n++)
            {
                counts[t] += trees.Feature[n] < 0 ? 1 : 0;
            }
        }

        return counts;
    }
}

using HealthScoring.Models.Trees;
using static HealthScoring.Models.Tests.Trees.TreeTestData;

namespace HealthScoring.Models.Tests.Trees;

public class GradientBoostedTreesModelTests
{
    private static readonly Lazy<(GradientBoostedTreesModel Model, FeatureMatrix Features)> Trained = new(() =>
    {
        var (train, labels) = Ring(5_000, seed: 41, features: 7, missingRate: 0.05);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 40, LearningRate = 0.2 }).Fit(train, labels, cancellationToken: Ct);
        var (test, _) = Ring(2_003, seed: 42, features: 7, missingRate: 0.1);
        return (model, test);
    });

    [Fact]
    public void A_trained_model_saved_and_reloaded_scores_every_row_identically()
    {
        var (model, test) = Trained.Value;

        var bytes = ModelFormat.ToBytes(model);
        var reloaded = ModelFormat.FromBytes(bytes);

        reloaded.ShouldBeOfType<GradientBoostedTreesModel>();
        reloaded.Kind.ShouldBe("gbdt");
        reloaded.FeatureNames.ShouldBe(model.FeatureNames);
        Raw(reloaded, test).ShouldBe(Raw(model, test));
        Probabilities(reloaded, test).ShouldBe(Probabilities(model, test));
        reloaded.Explain(test.Row(3)).ShouldBeEquivalentTo(model.Explain(test.Row(3)));
        ModelFormat.ToBytes(reloaded).ShouldBe(bytes);
    }

    [Fact]
    public void Batch_scores_are_bitwise_the_single_row_scores_with_any_thread_count()
    {
        var (model, test) = Trained.Value;
        model.UsesBlockScorer.ShouldBe(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated);
        var single = Raw(model, test);

        foreach (var threads in new[] { 1, 2, -1 })
        {
            var raw = new double[test.Rows];
            model.PredictRaw(test, raw, threads);
            raw.ShouldBe(single);
            Probabilities(model, test, threads).ShouldBe(single.Select(Logistic.Sigmoid).ToArray());
        }
    }

    [Fact]
    public void Trees_with_more_than_32_leaves_are_scored_by_walking_them_with_the_same_results()
    {
        var (train, labels) = Ring(4_000, seed: 43, missingRate: 0.05);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 5, MaxLeaves = 60, MaxDepth = 0, MinSamplesPerLeaf = 5 }).Fit(train, labels, cancellationToken: Ct);
        var (test, _) = Ring(500, seed: 44, missingRate: 0.1);

        model.UsesBlockScorer.ShouldBeFalse();
        var raw = new double[test.Rows];
        model.PredictRaw(test, raw);
        raw.ShouldBe(Raw(model, test));
    }

    [Fact]
    public void A_saved_model_of_an_unknown_format_version_is_rejected_with_a_clear_message()
    {
        var (model, _) = Trained.Value;
        var bytes = ModelFormat.ToBytes(model);
        var header = Header(1).Length;

        var future = Header(99).Concat(bytes.Skip(header)).ToArray();

        var ex = Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(future));
        ex.Message.ShouldBe("gbdt model format version 99 is not supported by this build (supported: 1).");
    }

    [Fact]
    public void A_truncated_saved_model_is_rejected()
    {
        var (model, _) = Trained.Value;
        var bytes = ModelFormat.ToBytes(model);

        for (var length = 0; length < bytes.Length; length += 1 + (length / 50))
        {
            var cut = bytes[..length];
            var ex = Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(cut), $"cut at {length} of {bytes.Length}");
            ex.Message.ShouldNotBeNullOrWhiteSpace();
        }

        Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(bytes[..^1])).Message.ShouldContain("truncated");
    }

    [Fact]
    public void A_saved_model_whose_trees_are_damaged_is_rejected()
    {
        var (train, labels) = Ring(1_000, seed: 45);
        var model = new GradientBoostedTreesTrainer(new() { NumberOfTrees = 1, MaxLeaves = 2 }).Fit(train, labels, cancellationToken: Ct);
        var bytes = ModelFormat.ToBytes(model);

        // The last tree's root is the first node after its node count; point its left child at itself.
        var firstNode = bytes.Length - (3 * ((4 + 4 + 1 + 4 + 4 + 24)));
        BitConverter.TryWriteBytes(bytes.AsSpan(firstNode + 9), 0).ShouldBeTrue();

        Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes(bytes)).Message.ShouldContain("damaged");
    }

    [Fact]
    public void Scoring_rows_of_another_width_is_refused()
    {
        var (model, _) = Trained.Value;
        Should.Throw<ArgumentException>(() => model.PredictRaw(new float[3])).Message.ShouldContain("expects 7 features");
    }

    [Fact]
    public void Feature_importance_ranks_the_features_the_label_depends_on_first()
    {
        var (model, _) = Trained.Value;

        var importance = model.FeatureImportance();

        var ranked = importance.Select((gain, f) => (gain, f)).OrderByDescending(p => p.gain).Select(p => p.f).Take(3).Order();
        ranked.ShouldBe([0, 1, 2]);
    }

    private static byte[] Header(int version)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ModelFormat.WriteHeader(writer, "gbdt", version);
        }

        return buffer.ToArray();
    }
}

using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Linear;

namespace HealthScoring.Models.Tests.Evaluation;

public class CrossValidationTests
{
    [Fact]
    public void Every_row_gets_an_out_of_fold_prediction_from_a_model_that_did_not_see_it()
    {
        var (x, y) = TestData.LinearProblem(600, [1.2, -0.8], bias: 0, seed: 11);

        // An id column lets the spy see which rows each fold trained on.
        var withId = FeatureMatrix.Create(x.Rows, ["id", "f0", "f1"]);
        for (var i = 0; i < x.Rows; i++)
        {
            withId[i, 0] = i;
            withId[i, 1] = x[i, 0];
            withId[i, 2] = x[i, 1];
        }

        var spy = new SpyTrainer();
        var results = CrossValidation.Evaluate([("spy", () => spy)], withId, y, folds: 4, seed: 3, cancellationToken: TestData.Ct);
        var result = results.ShouldHaveSingleItem();
        spy.Fits.Count.ShouldBe(4);
        var folds = new StratifiedKFold(4, 3).AssignFolds(y);
        for (var f = 0; f < 4; f++)
        {
            var trained = Enumerable.Range(0, spy.Fits[f].Features.Rows).Select(r => (int)spy.Fits[f].Features[r, 0]).ToArray();
            trained.ShouldBe(Enumerable.Range(0, x.Rows).Where(i => folds[i] != f));
        }

        result.OutOfFoldProbabilities.Length.ShouldBe(x.Rows);
        result.OutOfFoldProbabilities.ShouldAllBe(p => p > 0 && p < 1);
        result.FoldAucs.Length.ShouldBe(4);
        result.MeanFoldAuc.ShouldBe(result.FoldAucs.Average(), tolerance: 1e-15);
        result.Pooled.Count.ShouldBe(x.Rows);
        result.Pooled.RocAuc.ShouldBeGreaterThan(0.75);
        Math.Abs(result.Pooled.RocAuc - result.MeanFoldAuc).ShouldBeLessThan(0.03);
    }

    [Fact]
    public void Trainers_are_compared_on_the_same_folds_and_results_repeat()
    {
        var (x, y) = TestData.LinearProblem(400, [1, 0.5, -0.5], bias: 0.3, seed: 12);
        (string, Func<IBinaryTrainer>)[] trainers =
        [
            ("logistic", () => new LogisticRegressionTrainer()),
            ("logistic strong L2", () => new LogisticRegressionTrainer(new() { C = 0.001 })),
        ];
        var progress = new List<CrossValidationProgress>();
        var first = CrossValidation.Evaluate(trainers, x, y, folds: 5, seed: 1, new SyncProgress(progress.Add), TestData.Ct);
        var second = CrossValidation.Evaluate(trainers, x, y, folds: 5, seed: 1, cancellationToken: TestData.Ct);
        first.Select(r => r.Name).ShouldBe(["logistic", "logistic strong L2"]);
        second[0].OutOfFoldProbabilities.ShouldBe(first[0].OutOfFoldProbabilities);
        second[1].FoldAucs.ShouldBe(first[1].FoldAucs);
        progress[^1].Fraction.ShouldBe(1.0);
        progress.Select(p => p.Fraction).ShouldBeInOrder();
    }

    private sealed class SyncProgress(Action<CrossValidationProgress> report) : IProgress<CrossValidationProgress>
    {
        public void Report(CrossValidationProgress value) => report(value);
    }
}

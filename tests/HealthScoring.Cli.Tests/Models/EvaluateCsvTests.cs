using HealthScoring.Cli.Models;
using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Tabular;

namespace HealthScoring.Cli.Tests.Models;

public class EvaluateCsvTests
{
    /// <summary>
    /// What <c>healthscore model evaluate-csv ../shared/data/telco-customer-churn.csv --label Churn --id customerID</c>
    /// computes, with the command's own trainers: 5-fold stratified ROC AUC ≥ 0.845 for the boosted trees and ≥ 0.843
    /// for logistic regression (scikit-learn's logistic regression reaches 0.845, XGBoost 0.844).
    /// </summary>
    [Fact]
    public void The_command_trainers_reach_the_reference_auc_on_the_telco_churn_file()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HealthScoring.sln")))
        {
            directory = directory.Parent;
        }

        var path = Path.GetFullPath(Path.Combine(directory?.FullName ?? ".", "..", "shared", "data", "telco-customer-churn.csv"));
        if (!File.Exists(path))
        {
            Assert.Skip($"The Telco churn sample is not at {path} (shared data is not checked out next to the repository).");
        }

        var data = TabularCsv.Load(path, "Churn", "customerID");
        var results = CrossValidation.Evaluate([("gbdt", () => TabularTrainers.Trees(42)), ("logistic", TabularTrainers.Linear)], data.Features, data.Labels, 5, 42, cancellationToken: TestContext.Current.CancellationToken);

        results.Single(r => r.Name == "gbdt").Pooled.RocAuc.ShouldBeGreaterThanOrEqualTo(0.845);
        results.Single(r => r.Name == "logistic").Pooled.RocAuc.ShouldBeGreaterThanOrEqualTo(0.843);
    }
}

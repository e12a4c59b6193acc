using HealthScoring.Models.Trees;

namespace HealthScoring.Models;

/// <summary>
/// The model kinds this assembly can read, registered with <see cref="ModelFormat"/> before its first use, so that
/// <see cref="ModelFormat.Load"/> works without callers registering anything. A new built-in kind adds one line here.
/// </summary>
internal static class BuiltInModelKinds
{
    /// <summary>The readers of every built-in kind, keyed by kind.</summary>
    public static Dictionary<string, Func<BinaryReader, int, IBinaryModel>> Readers() =>
        new(StringComparer.Ordinal)
        {
            [GradientBoostedTreesModel.ModelKind] = GradientBoostedTreesModel.Read,
            [Linear.LogisticRegressionModel.KindName] = Linear.LogisticRegressionModel.Read,
            [Calibration.CalibratedModel.KindName] = Calibration.CalibratedModel.Read,
        };
}

using System.Runtime.CompilerServices;

namespace HealthScoring.Models;

/// <summary>
/// Registers the readers of the model kinds built into this library with <see cref="ModelFormat"/>, once, when the
/// assembly loads, so <see cref="ModelFormat.Load"/> reads them without callers remembering to register anything.
/// One line per kind.
/// </summary>
internal static class BuiltInModelKinds
{
    // A module initializer is how a library makes its own kinds loadable with no call from the host; CA2255 warns
    // because initializers run implicitly, which is the point here (registration is cheap and idempotent).
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        ModelFormat.RegisterReader(Linear.LogisticRegressionModel.KindName, Linear.LogisticRegressionModel.Read);
        ModelFormat.RegisterReader(Calibration.CalibratedModel.KindName, Calibration.CalibratedModel.Read);
    }
}

namespace HealthScoring.Models;

/// <summary>
/// Reports on the calling thread (unlike <see cref="Progress{T}"/>, which posts to a context); used to map a nested
/// step's fraction into its share of a larger run.
/// </summary>
internal sealed class InlineProgress(Action<double> report) : IProgress<double>
{
    public void Report(double value) => report(value);
}

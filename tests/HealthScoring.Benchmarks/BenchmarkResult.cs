using System.Text.Json.Serialization;

namespace HealthScoring.Benchmarks;

/// <summary>One figure of a benchmark run, as written to the results file.</summary>
/// <param name="Name">Unique across the suite, prefixed by the benchmark's name.</param>
/// <param name="Value">The measured value.</param>
/// <param name="Unit">Its unit, such as <c>events/s</c> or <c>MB</c>.</param>
/// <param name="Reference">What it was compared with in the same run, or null.</param>
/// <param name="ReferenceValue">The reference's value in the same unit, or null.</param>
/// <param name="Ratio">Value / reference value (above 1: ours is higher), or null.</param>
public sealed record BenchmarkResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("unit")] string Unit,
    [property: JsonPropertyName("reference")] string? Reference,
    [property: JsonPropertyName("reference_value")] double? ReferenceValue,
    [property: JsonPropertyName("ratio")] double? Ratio)
{
    /// <summary>A figure without a reference.</summary>
    public static BenchmarkResult Plain(string name, double value, string unit) =>
        new(name, Math.Round(value, 1), unit, null, null, null);

    /// <summary>A figure compared with a reference measured in the same run.</summary>
    public static BenchmarkResult Compared(string name, double value, string unit, string reference, double referenceValue) =>
        new(name, Math.Round(value, 1), unit, reference, Math.Round(referenceValue, 1), referenceValue > 0 ? Math.Round(value / referenceValue, 3) : null);
}

namespace HealthScoring.Cli.Demo;

/// <summary>A product-usage event of the demo's synthetic workload (the ingestion issue brings Segment's events).</summary>
public sealed record ProductUsageRecorded(string UserId, string Event);

internal static class DemoEvents
{
    public const string UsageTypeName = "demo.ProductUsageRecorded";
}

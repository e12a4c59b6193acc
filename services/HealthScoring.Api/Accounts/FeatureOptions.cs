using HealthScoring.Models.Features;

namespace HealthScoring.Api.Accounts;

/// <summary>Settings of the daily aggregates and features (section <c>Features</c>).</summary>
public sealed class FeatureOptions
{
    public const string SectionName = "Features";

    /// <summary>Which track events count as sessions, API calls, errors, tickets, seat-limit hits and upgrade signals.</summary>
    public EventRoles Roles { get; set; } = new();
}

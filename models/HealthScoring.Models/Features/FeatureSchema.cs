using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HealthScoring.Models.Features;

/// <summary>
/// Which features a model sees, in which order. Saved with every model: the per-event-name counts and the plan
/// columns depend on the tenant's data at training time, so scoring rebuilds exactly the training columns.
/// </summary>
/// <param name="Version">The feature definitions' version (<see cref="CurrentVersion"/> when made by this build).</param>
/// <param name="EventNames">The event names that get their own 7/28/90-day counts.</param>
/// <param name="Plans">The plans that get a one-hot column.</param>
public sealed record FeatureSchema(int Version, IReadOnlyList<string> EventNames, IReadOnlyList<string> Plans)
{
    /// <summary>The version of the feature definitions in <see cref="FeatureExtractor"/>.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Most event names given their own counts (the busiest ones).</summary>
    public const int MaxEventNames = 24;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>The fixed (schema-independent) features, in order.</summary>
    public static IReadOnlyList<string> CoreFeatures { get; } =
    [
        "events_7d", "events_28d", "events_90d", "events_change_28d", "events_per_active_user_28d",
        "active_users_7d", "active_users_28d", "active_users_prev_28d", "active_users_change_28d", "dau_mau_28d",
        "days_active_28d", "days_since_last_activity",
        "sessions_28d", "sessions_per_user_28d", "sessions_change_28d",
        "features_used_28d", "features_used_90d", "uses_per_feature_28d", "features_used_change_28d",
        "api_calls_28d", "api_calls_change_28d",
        "errors_28d", "errors_per_session_28d", "support_tickets_28d", "support_tickets_90d",
        "tenure_days", "mrr", "seats", "mrr_per_seat", "mrr_change_90d",
        "active_users_per_seat", "payment_failures_60d", "invoices_paid_90d",
        "seat_limit_hits_28d", "upgrade_signals_28d",
    ];

    /// <summary>All column names, in the order models expect.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Columns => _columns ??=
    [
        .. CoreFeatures,
        .. EventNames.SelectMany(e => new[] { EventCount(e, 7), EventCount(e, 28), EventCount(e, 90) }),
        .. Plans.Select(PlanColumn),
    ];

    private IReadOnlyList<string>? _columns;

    /// <summary>The column of one event name's count over a window.</summary>
    public static string EventCount(string eventName, int days) => string.Create(CultureInfo.InvariantCulture, $"count_{days}d[{eventName}]");

    /// <summary>The one-hot column of a plan.</summary>
    public static string PlanColumn(string plan) => $"plan[{plan}]";

    /// <summary>A schema for a tenant's data: its busiest event names and the plans its customers are on.</summary>
    public static FeatureSchema For(IEnumerable<AccountHistory> accounts)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        var volumes = new Dictionary<string, long>(StringComparer.Ordinal);
        var plans = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            foreach (var day in account.Days)
            {
                foreach (var (name, count) in day.EventCounts)
                {
                    volumes[name] = volumes.GetValueOrDefault(name) + count;
                }
            }

            foreach (var state in account.Billing)
            {
                if (state.Plan is not null)
                {
                    plans.Add(state.Plan);
                }
            }
        }

        var names = volumes.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal).Take(MaxEventNames).Select(v => v.Key).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return new FeatureSchema(CurrentVersion, names, [.. plans.Take(20)]);
    }

    /// <summary>The schema as JSON, for saving with a model.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a saved schema; a version this build does not compute is rejected.</summary>
    public static FeatureSchema FromJson(string json)
    {
        var schema = JsonSerializer.Deserialize<FeatureSchema>(json, Json) ?? throw new ModelFormatException("The feature schema is empty.");
        if (schema.Version != CurrentVersion)
        {
            throw new ModelFormatException($"Feature schema version {schema.Version} is not computed by this build (it computes version {CurrentVersion}); retrain the model.");
        }

        return schema;
    }
}

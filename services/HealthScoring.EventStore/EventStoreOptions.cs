using System.Text.RegularExpressions;

namespace HealthScoring.EventStore;

/// <summary>Where and how the store keeps its tables.</summary>
public sealed partial class EventStoreOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "EventStore";

    /// <summary>The PostgreSQL schema holding the store's tables.</summary>
    public string Schema { get; set; } = "healthscoring";

    /// <summary>Whether a host migrates the schema when it starts (see <see cref="EventStoreServiceCollectionExtensions.AddEventStore"/>).</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>How many times a call is retried when a concurrent call stored one of its event ids first (each retry re-checks duplicates).</summary>
    public int DuplicateRaceRetries { get; set; } = 3;

    /// <summary>Throws when the schema name is not a plain lower-case identifier (it is spliced into SQL).</summary>
    public void Validate()
    {
        if (!SchemaName().IsMatch(Schema))
        {
            throw new ArgumentException($"EventStore:Schema '{Schema}' must match [a-z_][a-z0-9_]{{0,62}}.");
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}

using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Ingestion;

/// <summary>Where an event sits in the customer lifecycle.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EventCategory>))]
public enum EventCategory
{
    Acquisition,
    Activation,
    Engagement,
    Retention,
    Monetization,
}

/// <summary>The type a declared property must have.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members are JSON's type names, as users write them in declarations.")]
[JsonConverter(typeof(JsonStringEnumConverter<PropertyType>))]
public enum PropertyType
{
    String,
    Number,
    Boolean,
    Object,
    Array,
}

/// <summary>One declared property of an event.</summary>
public sealed record PropertyRule(PropertyType Type, bool Required = false);

/// <summary>A declared event: its category, the product feature it belongs to, and its properties.</summary>
public sealed record DeclaredEvent(string Event, EventCategory Category, string? Feature, IReadOnlyDictionary<string, PropertyRule>? Properties);

/// <summary>
/// A tenant's event taxonomy. Declared events are validated (required properties present, types right);
/// undeclared ones are accepted and counted, so instrumenting first and declaring later loses nothing.
/// </summary>
public sealed class EventTaxonomy(NpgsqlDataSource dataSource, EventStoreOptions options, TimeProvider clock)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);
    private readonly string _s = options.Schema;
    private readonly ConcurrentDictionary<string, (IReadOnlyDictionary<string, DeclaredEvent> Events, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, DeclaredEvent>> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(tenantId, out var cached) && cached.Expires > now)
        {
            return cached.Events;
        }

        await using var command = dataSource.CreateCommand($"select event_name, category, feature, property_schema::text from {_s}.event_taxonomy where tenant_id = $1");
        command.Parameters.AddWithValue(tenantId);
        var events = new Dictionary<string, DeclaredEvent>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                events[reader.GetString(0)] = new DeclaredEvent(
                    reader.GetString(0),
                    Enum.Parse<EventCategory>(reader.GetString(1), ignoreCase: true),
                    await reader.IsDBNullAsync(2, cancellationToken) ? null : reader.GetString(2),
                    JsonSerializer.Deserialize<Dictionary<string, PropertyRule>>(reader.GetString(3), Json));
            }
        }

        _cache[tenantId] = (events, now + CacheLifetime);
        return events;
    }

    /// <summary>Declares (or re-declares) events; returns how many were written.</summary>
    public async Task<int> DeclareAsync(string tenantId, IReadOnlyList<DeclaredEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            if (string.IsNullOrWhiteSpace(e.Event) || e.Event.Length > 256)
            {
                throw new ArgumentException("Every declared event needs a name of 1-256 characters.");
            }

            if ($"{e.Event}{e.Feature}{string.Concat(e.Properties?.Keys ?? [])}".Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("Event names, features and property names must not contain NUL characters.");
            }
        }

        await using var command = dataSource.CreateCommand(
            $"""
            insert into {_s}.event_taxonomy as t (tenant_id, event_name, category, feature, property_schema)
            select $1, e, c, f, p::jsonb from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as x(e, c, f, p)
            on conflict (tenant_id, event_name) do update set category = excluded.category, feature = excluded.feature,
                property_schema = excluded.property_schema, updated_at = now()
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(events.Select(e => e.Event).ToArray());
        command.Parameters.AddWithValue(events.Select(e => e.Category.ToString().ToLowerInvariant()).ToArray());
        command.Parameters.AddWithValue(events.Select(e => e.Feature).ToArray());
        command.Parameters.AddWithValue(events.Select(e => JsonSerializer.Serialize(e.Properties ?? new Dictionary<string, PropertyRule>(), Json)).ToArray());
        var written = await command.ExecuteNonQueryAsync(cancellationToken);
        _cache.TryRemove(tenantId, out _);
        return written;
    }

    /// <summary>The errors of a track against its declaration (none when it is undeclared or conforms).</summary>
    public static IEnumerable<ItemError> Check(int index, DeclaredEvent declared, JsonObject? properties)
    {
        foreach (var (name, rule) in declared.Properties ?? new Dictionary<string, PropertyRule>())
        {
            var value = properties?[name];
            if (value is null)
            {
                if (rule.Required)
                {
                    yield return new ItemError(index, $"properties.{name}", $"is required by the declaration of '{declared.Event}'");
                }

                continue;
            }

            var kind = value.GetValueKind();
            var matches = rule.Type switch
            {
                PropertyType.String => kind == JsonValueKind.String,
                PropertyType.Number => kind == JsonValueKind.Number,
                PropertyType.Boolean => kind is JsonValueKind.True or JsonValueKind.False,
                PropertyType.Object => kind == JsonValueKind.Object,
                _ => kind == JsonValueKind.Array,
            };
            if (!matches)
            {
                yield return new ItemError(index, $"properties.{name}", $"must be a {rule.Type.ToString().ToLowerInvariant()} (declared for '{declared.Event}')");
            }
        }
    }
}

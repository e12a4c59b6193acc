using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HealthScoring.EventStore;

/// <summary>
/// Maps stored type names to CLR types and back, and holds the upcasters that turn old stored shapes into
/// current ones at read time (the log itself is never rewritten).
/// </summary>
public sealed class EventTypeRegistry
{
    private readonly ConcurrentDictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, string> _byType = new();
    private readonly ConcurrentDictionary<string, Upcaster> _upcasters = new(StringComparer.Ordinal);

    /// <summary>Creates a registry with the given JSON options (web defaults when null).</summary>
    public EventTypeRegistry(JsonSerializerOptions? jsonOptions = null)
    {
        JsonOptions = jsonOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
    }

    /// <summary>The options used to serialize and deserialize event data.</summary>
    public JsonSerializerOptions JsonOptions { get; }

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="name"/> (default: the type's name).</summary>
    public EventTypeRegistry Register<T>(string? name = null) => Register(typeof(T), name);

    /// <summary>Registers <paramref name="type"/> under <paramref name="name"/> (default: the type's name).</summary>
    public EventTypeRegistry Register(Type type, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        name ??= type.Name;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_byName.TryGetValue(name, out var existing) && existing != type)
        {
            throw new InvalidOperationException($"Event type name '{name}' is already registered for {existing.FullName}.");
        }

        _byName[name] = type;
        _byType[type] = name;
        return this;
    }

    /// <summary>
    /// Declares that events stored as <paramref name="fromName"/> are read as <paramref name="toName"/> after
    /// <paramref name="transform"/> reshapes their JSON. Upcasters chain (v1 → v2 → v3).
    /// </summary>
    public EventTypeRegistry AddUpcaster(string fromName, string toName, Func<JsonNode, JsonNode> transform)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fromName);
        ArgumentException.ThrowIfNullOrWhiteSpace(toName);
        ArgumentNullException.ThrowIfNull(transform);
        if (!_upcasters.TryAdd(fromName, new Upcaster(toName, transform)))
        {
            throw new InvalidOperationException($"An upcaster from '{fromName}' is already registered.");
        }

        return this;
    }

    /// <summary>The registered name of <paramref name="type"/>, if any.</summary>
    public bool TryGetName(Type type, out string name) => _byType.TryGetValue(type, out name!);

    /// <summary>The CLR type registered under <paramref name="name"/>, if any.</summary>
    public bool TryGetType(string name, out Type type) => _byName.TryGetValue(name, out type!);

    /// <summary>
    /// The stored type names that read as one of <paramref name="types"/>: their registered names and every older
    /// name whose upcasters lead to one of those. Unregistered types have none.
    /// </summary>
    internal string[] StoredNamesOf(IEnumerable<Type> types)
    {
        var names = new HashSet<string>(types.Select(t => TryGetName(t, out var name) ? name : null).OfType<string>(), StringComparer.Ordinal);
        bool added;
        do
        {
            added = false;
            foreach (var (from, upcaster) in _upcasters)
            {
                added |= names.Contains(upcaster.ToName) && names.Add(from);
            }
        }
        while (added);

        return [.. names];
    }

    /// <summary>The registered name of the event's type; an unregistered type throws, naming the event.</summary>
    internal string NameOf(NewEvent e)
    {
        ArgumentNullException.ThrowIfNull(e.Data);
        var type = e.Data.GetType();
        return TryGetName(type, out var name) ? name : throw new UnregisteredEventTypeException(e.EventId, type);
    }

    /// <summary>Serializes one event's data for storage (<paramref name="name"/>: its <see cref="NameOf"/>), with errors that name the event.</summary>
    internal string SerializeData(NewEvent e, string name)
    {
        try
        {
            return JsonSerializer.Serialize(e.Data, e.Data.GetType(), JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new EventSerializationException(e.EventId, name, ex);
        }
    }

    /// <summary>Applies upcasters and deserializes; unknown type names give (name, null) rather than an error.</summary>
    internal (string TypeName, object? Data) Deserialize(string storedName, string json)
    {
        var name = storedName;
        JsonNode? node = null;
        var hops = 0;
        while (_upcasters.TryGetValue(name, out var upcaster))
        {
            if (++hops > 64)
            {
                throw new InvalidOperationException($"Upcasters from '{storedName}' form a cycle.");
            }

            node ??= JsonNode.Parse(json) ?? throw new JsonException($"Stored event of type '{storedName}' has null data.");
            node = upcaster.Transform(node);
            name = upcaster.ToName;
        }

        if (!TryGetType(name, out var type))
        {
            return (name, null);
        }

        var data = node is null ? JsonSerializer.Deserialize(json, type, JsonOptions) : node.Deserialize(type, JsonOptions);
        return (name, data);
    }

    private sealed record Upcaster(string ToName, Func<JsonNode, JsonNode> Transform);
}

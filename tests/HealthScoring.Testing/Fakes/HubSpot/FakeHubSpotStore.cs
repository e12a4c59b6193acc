using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>
/// The fake's CRM: property groups and company properties, companies, tasks, owners and task↔company associations,
/// in memory behind one lock. Every operation validates its input completely before it changes anything, so a
/// rejected request leaves no trace (HubSpot's batch calls are all-or-nothing in this fake).
/// </summary>
internal sealed class FakeHubSpotStore(FakeHubSpotOptions options, TimeProvider clock)
{
    public const int TaskToCompany = 192;
    public const int CompanyToTask = 191;

    private static readonly string[] DefaultCompanyProperties = ["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"];
    private static readonly string[] AlwaysCompanyProperties = ["createdate", "hs_lastmodifieddate", "hs_object_id"];
    private static readonly string[] AlwaysTaskProperties = ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];
    private static readonly string[] QueryProperties = ["name", "domain"];
    private static readonly string[] Operators =
        ["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, FakeHubSpotPropertyGroup> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeHubSpotProperty> _companyProperties = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeHubSpotProperty> _taskProperties = BuiltInTaskProperties();
    private readonly SortedDictionary<long, Row> _companies = [];
    private readonly SortedDictionary<long, Row> _tasks = [];
    private readonly List<FakeHubSpotOwner> _owners = [];
    private long _nextCompanyId = 30_000_000_001;
    private long _nextTaskId = 80_000_000_001;
    private long _nextOwnerId = 60_000_001;
    private long _nextUserId = 9_000_001;

    /// <summary>A stored object: its properties and the ids of the objects on the other side of its associations.</summary>
    private sealed class Row(long id, DateTimeOffset createdAt)
    {
        public long Id { get; } = id;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset UpdatedAt { get; set; } = createdAt;
        public Dictionary<string, string?> Properties { get; } = new(StringComparer.Ordinal);
        public SortedSet<long> Associated { get; } = [];
    }

    public void SeedDefaults()
    {
        lock (_gate)
        {
            _groups["companyinformation"] = new FakeHubSpotPropertyGroup("companyinformation", "Company information", 0);
            foreach (var property in new[]
            {
                BuiltIn("name", "Name", "string", "text"),
                BuiltIn("domain", "Company domain name", "string", "text"),
                BuiltIn("description", "Description", "string", "textarea"),
                BuiltIn("industry", "Industry", "string", "text"),
                BuiltIn("city", "City", "string", "text"),
                BuiltIn("country", "Country/Region", "string", "text"),
                BuiltIn("numberofemployees", "Number of Employees", "number", "number"),
                BuiltIn("annualrevenue", "Annual Revenue", "number", "number"),
                BuiltIn("hubspot_owner_id", "Company owner", "enumeration", "select"),
                BuiltIn("createdate", "Create Date", "datetime", "date", readOnly: true),
                BuiltIn("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", readOnly: true),
                BuiltIn("hs_object_id", "Record ID", "number", "number", readOnly: true),
            })
            {
                _companyProperties[property.Name] = property;
            }
        }
    }

    // ---- test-side seeding and inspection -------------------------------------------------------------------

    public FakeHubSpotOwner AddOwner(string email, string firstName, string lastName, bool archived)
    {
        lock (_gate)
        {
            var owner = new FakeHubSpotOwner(
                (_nextOwnerId++).ToString(CultureInfo.InvariantCulture),
                (_nextUserId++).ToString(CultureInfo.InvariantCulture),
                email, firstName, lastName, archived);
            _owners.Add(owner);
            return owner;
        }
    }

    public FakeHubSpotProperty DefineCompanyProperty(FakeHubSpotProperty property)
    {
        lock (_gate)
        {
            if (!_groups.ContainsKey(property.GroupName))
            {
                _groups[property.GroupName] = new FakeHubSpotPropertyGroup(property.GroupName, property.GroupName, -1);
            }

            _companyProperties[property.Name] = property;
            return property;
        }
    }

    public string AddCompany(IReadOnlyDictionary<string, string?> properties)
    {
        lock (_gate)
        {
            var unknown = properties.Keys.Where(k => !_companyProperties.ContainsKey(k)).ToList();
            if (unknown.Count > 0)
            {
                throw new ArgumentException($"The fake has no company properties named {string.Join(", ", unknown)}; define them first.", nameof(properties));
            }

            return NewCompany(properties).Id.ToString(CultureInfo.InvariantCulture);
        }
    }

    public IReadOnlyList<FakeHubSpotCompany> Companies()
    {
        lock (_gate)
        {
            return [.. _companies.Values.Select(SnapshotCompany)];
        }
    }

    public FakeHubSpotCompany? Company(string id)
    {
        lock (_gate)
        {
            return TryId(id, out var key) && _companies.TryGetValue(key, out var row) ? SnapshotCompany(row) : null;
        }
    }

    public IReadOnlyList<FakeHubSpotTask> Tasks()
    {
        lock (_gate)
        {
            return [.. _tasks.Values.Select(row => new FakeHubSpotTask(
                Id(row), new Dictionary<string, string?>(row.Properties), [.. row.Associated.Select(Text)], row.CreatedAt))];
        }
    }

    public IReadOnlyList<FakeHubSpotProperty> CompanyProperties()
    {
        lock (_gate)
        {
            return [.. _companyProperties.Values];
        }
    }

    public IReadOnlyList<FakeHubSpotPropertyGroup> PropertyGroups()
    {
        lock (_gate)
        {
            return [.. _groups.Values];
        }
    }

    // ---- properties -----------------------------------------------------------------------------------------

    public FakeResult ListGroups(string objectType)
    {
        if (CheckPropertyObjectType(objectType) is { } bad)
        {
            return bad;
        }

        lock (_gate)
        {
            return Ok(new JsonObject { ["results"] = new JsonArray([.. _groups.Values.Select(GroupJson)]) });
        }
    }

    public FakeResult GetGroup(string objectType, string name)
    {
        if (CheckPropertyObjectType(objectType) is { } bad)
        {
            return bad;
        }

        lock (_gate)
        {
            return _groups.TryGetValue(name, out var group)
                ? Ok(GroupJson(group))
                : FakeHubSpotJson.NotFound($"Unable to find property group {name} for object type {objectType}.");
        }
    }

    public FakeResult CreateGroup(string objectType, JsonNode? body)
    {
        if (CheckPropertyObjectType(objectType) is { } bad)
        {
            return bad;
        }

        if (body is not JsonObject input)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected an object with name, label and displayOrder.");
        }

        var problems = new List<JsonObject>();
        var name = RequiredString(input, "name", problems);
        var label = RequiredString(input, "label", problems);
        int displayOrder = -1;
        if (input["displayOrder"] is { } order && !TryInt(order, out displayOrder))
        {
            problems.Add(FakeHubSpotJson.Detail("displayOrder must be an integer.", "INVALID_INTEGER", @in: "displayOrder"));
        }

        if (name is not null && !FakeHubSpotValues.IsValidName(name))
        {
            problems.Add(FakeHubSpotJson.Detail(
                $"Group name {name} is invalid: use lowercase letters, digits and underscores, starting with a letter.", "INVALID_NAME", @in: "name"));
        }

        if (problems.Count > 0)
        {
            return FakeHubSpotJson.Validation($"Invalid property group: {string.Join(" ", problems.Select(p => (string?)p["message"]))}", [.. problems]);
        }

        lock (_gate)
        {
            if (_groups.ContainsKey(name!))
            {
                return FakeHubSpotJson.Error(409, "OBJECT_ALREADY_EXISTS", $"A property group named '{name}' already exists.");
            }

            var group = new FakeHubSpotPropertyGroup(name!, label!, displayOrder);
            _groups[group.Name] = group;
            return new FakeResult(201, GroupJson(group));
        }
    }

    public FakeResult ListProperties(string objectType)
    {
        if (PropertiesFor(objectType) is not { } properties)
        {
            return UnknownObjectType(objectType);
        }

        lock (_gate)
        {
            return Ok(new JsonObject { ["results"] = new JsonArray([.. properties.Values.Select(PropertyJson)]) });
        }
    }

    public FakeResult GetProperty(string objectType, string name)
    {
        if (PropertiesFor(objectType) is not { } properties)
        {
            return UnknownObjectType(objectType);
        }

        lock (_gate)
        {
            return properties.TryGetValue(name, out var property)
                ? Ok(PropertyJson(property))
                : FakeHubSpotJson.NotFound($"Unable to find property {name} for object type {objectType}.");
        }
    }

    public FakeResult CreateProperty(string objectType, JsonNode? body)
    {
        if (CheckPropertyObjectType(objectType) is { } bad)
        {
            return bad;
        }

        if (body is not JsonObject input)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected a property object.");
        }

        var problems = new List<JsonObject>();
        var name = RequiredString(input, "name", problems);
        var label = RequiredString(input, "label", problems);
        var type = RequiredString(input, "type", problems);
        var fieldType = RequiredString(input, "fieldType", problems);
        var groupName = RequiredString(input, "groupName", problems);
        var description = FakeHubSpotJson.ScalarText(input["description"]);
        var hasUniqueValue = input["hasUniqueValue"] is JsonValue unique && FakeHubSpotJson.ScalarText(unique) == "true";
        int displayOrder = -1;
        if (input["displayOrder"] is { } order && !TryInt(order, out displayOrder))
        {
            problems.Add(FakeHubSpotJson.Detail("displayOrder must be an integer.", "INVALID_INTEGER", @in: "displayOrder"));
        }

        if (name is not null && !FakeHubSpotValues.IsValidName(name))
        {
            problems.Add(FakeHubSpotJson.Detail(
                $"Property name {name} is invalid: use lowercase letters, digits and underscores, starting with a letter.", "INVALID_NAME", @in: "name"));
        }

        if (type is not null && !FakeHubSpotValues.Types.Contains(type))
        {
            problems.Add(FakeHubSpotJson.Detail(
                $"type {type} is not one of [{string.Join(", ", FakeHubSpotValues.Types)}].", "INVALID_ENUM", @in: "type"));
        }
        else if (fieldType is not null && !FakeHubSpotValues.FieldTypes.Contains(fieldType))
        {
            problems.Add(FakeHubSpotJson.Detail(
                $"fieldType {fieldType} is not one of [{string.Join(", ", FakeHubSpotValues.FieldTypes)}].", "INVALID_ENUM", @in: "fieldType"));
        }
        else if (type is not null && fieldType is not null && !FakeHubSpotValues.FieldTypeFits(type, fieldType))
        {
            problems.Add(FakeHubSpotJson.Detail($"fieldType {fieldType} cannot show a property of type {type}.", "INVALID_FIELD_TYPE", @in: "fieldType"));
        }

        var options = new List<FakeHubSpotOption>();
        if (input["options"] is JsonArray optionArray)
        {
            foreach (var item in optionArray)
            {
                var optionLabel = item is JsonObject o ? FakeHubSpotJson.ScalarText(o["label"]) : null;
                var optionValue = item is JsonObject o2 ? FakeHubSpotJson.ScalarText(o2["value"]) : null;
                if (string.IsNullOrEmpty(optionLabel) || string.IsNullOrEmpty(optionValue))
                {
                    problems.Add(FakeHubSpotJson.Detail("Each option needs a label and a value.", "INVALID_OPTION", @in: "options"));
                    continue;
                }

                var hidden = item!["hidden"] is JsonValue h && FakeHubSpotJson.ScalarText(h) == "true";
                var optionOrder = item["displayOrder"] is { } d && TryInt(d, out var o3) ? o3 : -1;
                if (options.Any(existing => existing.Value == optionValue))
                {
                    problems.Add(FakeHubSpotJson.Detail($"Option value {optionValue} appears twice.", "DUPLICATE_OPTION", @in: "options"));
                }

                options.Add(new FakeHubSpotOption(optionLabel, optionValue, hidden, optionOrder));
            }
        }
        else if (input["options"] is not null)
        {
            problems.Add(FakeHubSpotJson.Detail("options must be an array.", "INVALID_OPTIONS", @in: "options"));
        }

        if (type == "enumeration" && options.Count == 0)
        {
            problems.Add(FakeHubSpotJson.Detail("Options are required for enumeration properties.", "REQUIRED_OPTIONS", @in: "options"));
        }

        lock (_gate)
        {
            if (groupName is not null && !_groups.ContainsKey(groupName))
            {
                problems.Add(FakeHubSpotJson.Detail($"Property group {groupName} does not exist.", "INVALID_GROUP", @in: "groupName"));
            }

            if (problems.Count > 0)
            {
                return FakeHubSpotJson.Validation($"Invalid property: {string.Join(" ", problems.Select(p => (string?)p["message"]))}", [.. problems]);
            }

            if (_companyProperties.ContainsKey(name!))
            {
                return FakeHubSpotJson.Error(409, "OBJECT_ALREADY_EXISTS", $"A property named '{name}' already exists.");
            }

            var property = new FakeHubSpotProperty(
                name!, label!, type!, fieldType!, groupName!, options, hasUniqueValue, Description: description, DisplayOrder: displayOrder);
            _companyProperties[property.Name] = property;
            return new FakeResult(201, PropertyJson(property));
        }
    }

    // ---- companies ------------------------------------------------------------------------------------------

    public FakeResult CreateCompany(JsonNode? body)
    {
        if (body is not JsonObject input || input["properties"] is not JsonObject properties)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected {\"properties\":{...}}.");
        }

        lock (_gate)
        {
            if (ReadProperties(properties, _companyProperties, out var values) is { } invalid)
            {
                return invalid;
            }

            if (CheckUnique(values, exceptId: null) is { } conflict)
            {
                return conflict;
            }

            var row = NewCompany(values);
            return new FakeResult(201, ObjectJson(row, [.. values.Keys], AlwaysCompanyProperties, associations: null));
        }
    }

    public FakeResult GetCompany(string id, IQueryCollection query)
    {
        var idProperty = query["idProperty"].ToString();
        lock (_gate)
        {
            Row? row = null;
            if (string.IsNullOrEmpty(idProperty) || idProperty == "hs_object_id")
            {
                if (TryId(id, out var key))
                {
                    _companies.TryGetValue(key, out row);
                }
            }
            else if (!_companyProperties.TryGetValue(idProperty, out var definition) || !definition.HasUniqueValue)
            {
                return FakeHubSpotJson.Validation($"{idProperty} is not a unique identifier property of companies.");
            }
            else
            {
                row = _companies.Values.FirstOrDefault(r =>
                    string.Equals(r.Properties.GetValueOrDefault(idProperty), id, StringComparison.OrdinalIgnoreCase));
            }

            if (row is null)
            {
                return FakeHubSpotJson.NotFound($"Company {id} not found.");
            }

            var requested = RequestedProperties(query);
            var associations = query["associations"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
            JsonObject? links = null;
            if (associations.Any(a => a.Trim() is "tasks" or "task" or "0-27") && row.Associated.Count > 0)
            {
                links = new JsonObject
                {
                    ["tasks"] = new JsonObject
                    {
                        ["results"] = new JsonArray([.. row.Associated.Select(t => new JsonObject { ["id"] = Text(t), ["type"] = "company_to_task" })]),
                    },
                };
            }

            return Ok(ObjectJson(row, requested.Count > 0 ? requested : DefaultCompanyProperties, AlwaysCompanyProperties, links));
        }
    }

    public FakeResult ListCompanies(IQueryCollection query)
    {
        var limit = 10;
        if (query.ContainsKey("limit") && (!int.TryParse(query["limit"], CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return FakeHubSpotJson.Validation("limit must be between 1 and 100.");
        }

        long after = 0;
        if (query.ContainsKey("after") && !long.TryParse(query["after"], CultureInfo.InvariantCulture, out after))
        {
            return FakeHubSpotJson.Validation("after must be a paging cursor from a previous response.");
        }

        lock (_gate)
        {
            var requested = RequestedProperties(query);
            var page = _companies.Values.Where(r => r.Id > after).Take(limit + 1).ToList();
            var body = new JsonObject
            {
                ["results"] = new JsonArray([.. page.Take(limit).Select(r =>
                    ObjectJson(r, requested.Count > 0 ? requested : DefaultCompanyProperties, AlwaysCompanyProperties, null))]),
            };
            if (page.Count > limit)
            {
                body["paging"] = Next(Text(page[limit - 1].Id));
            }

            return Ok(body);
        }
    }

    public FakeResult UpdateCompany(string id, JsonNode? body)
    {
        if (body is not JsonObject input || input["properties"] is not JsonObject properties)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected {\"properties\":{...}}.");
        }

        lock (_gate)
        {
            if (!TryId(id, out var key) || !_companies.TryGetValue(key, out var row))
            {
                return FakeHubSpotJson.NotFound($"Company {id} not found.");
            }

            if (ReadProperties(properties, _companyProperties, out var values) is { } invalid)
            {
                return invalid;
            }

            if (CheckUnique(values, exceptId: key) is { } conflict)
            {
                return conflict;
            }

            Apply(row, values);
            return Ok(ObjectJson(row, [.. values.Keys], AlwaysCompanyProperties, null));
        }
    }

    public FakeResult BatchUpdateCompanies(JsonNode? body)
    {
        var startedAt = clock.GetUtcNow();
        if (body is not JsonObject input || input["inputs"] is not JsonArray inputs)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected {\"inputs\":[{\"id\":\"...\",\"properties\":{...}}]}.");
        }

        if (inputs.Count == 0)
        {
            return FakeHubSpotJson.Validation("inputs must contain at least one object.");
        }

        if (inputs.Count > options.MaxBatchInputs)
        {
            return FakeHubSpotJson.Error(400, "VALIDATION_ERROR",
                $"Batch input size {inputs.Count} exceeds the limit of {options.MaxBatchInputs} inputs per request.",
                [FakeHubSpotJson.Detail($"At most {options.MaxBatchInputs} inputs are allowed.", "TOO_MANY_INPUTS", @in: "inputs")]);
        }

        lock (_gate)
        {
            var updates = new List<(Row Row, Dictionary<string, string?> Values)>();
            var problems = new List<JsonObject>();
            var missing = new List<string>();
            var seen = new HashSet<long>();
            var duplicates = new List<string>();
            for (var i = 0; i < inputs.Count; i++)
            {
                if (inputs[i] is not JsonObject item)
                {
                    problems.Add(FakeHubSpotJson.Detail($"inputs[{i}] must be an object.", "INVALID_INPUT", @in: $"inputs[{i}]"));
                    continue;
                }

                var id = FakeHubSpotJson.ScalarText(item["id"]);
                if (string.IsNullOrEmpty(id))
                {
                    problems.Add(FakeHubSpotJson.Detail($"inputs[{i}].id is required.", "REQUIRED_FIELD", @in: $"inputs[{i}].id"));
                    continue;
                }

                if (item["properties"] is not JsonObject properties)
                {
                    problems.Add(FakeHubSpotJson.Detail($"inputs[{i}].properties must be an object.", "REQUIRED_FIELD", @in: $"inputs[{i}].properties"));
                    continue;
                }

                var idProperty = FakeHubSpotJson.ScalarText(item["idProperty"]);
                var row = FindCompany(id, idProperty, out var idProblem);
                if (idProblem is not null)
                {
                    problems.Add(FakeHubSpotJson.Detail(idProblem, "INVALID_ID_PROPERTY", @in: $"inputs[{i}].idProperty"));
                    continue;
                }

                if (row is null)
                {
                    missing.Add(id);
                    continue;
                }

                if (!seen.Add(row.Id))
                {
                    duplicates.Add(id);
                    continue;
                }

                if (ReadProperties(properties, _companyProperties, out var values) is { } invalid)
                {
                    foreach (var detail in invalid.Body?["errors"]?.AsArray() ?? [])
                    {
                        var copy = detail!.DeepClone().AsObject();
                        copy["message"] = $"inputs[{i}] (id {id}): {(string?)copy["message"]}";
                        problems.Add(copy);
                    }

                    continue;
                }

                updates.Add((row, values));
            }

            if (duplicates.Count > 0)
            {
                return FakeHubSpotJson.Validation($"Duplicate IDs found in batch input: [{string.Join(", ", duplicates)}]. IDs must be unique.");
            }

            if (problems.Count > 0)
            {
                return FakeHubSpotJson.Validation(
                    $"Property values were not valid: {string.Join(" ", problems.Select(p => (string?)p["message"]))}", [.. problems]);
            }

            if (missing.Count > 0)
            {
                return FakeHubSpotJson.NotFound(
                    $"Could not find companies with ids [{string.Join(", ", missing)}]; nothing was updated.",
                    new JsonObject { ["ids"] = new JsonArray([.. missing.Select(m => (JsonNode)m)]) });
            }

            foreach (var (row, values) in updates)
            {
                Apply(row, values);
            }

            return Ok(new JsonObject
            {
                ["status"] = "COMPLETE",
                ["results"] = new JsonArray([.. updates.Select(u => ObjectJson(u.Row, [.. u.Values.Keys], AlwaysCompanyProperties, null))]),
                ["startedAt"] = FakeHubSpotJson.Iso(startedAt),
                ["completedAt"] = FakeHubSpotJson.Iso(clock.GetUtcNow()),
            });
        }
    }

    public FakeResult SearchCompanies(JsonNode? body)
    {
        if (body is not JsonObject input)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected a search request object.");
        }

        var limit = 10;
        if (input["limit"] is { } limitNode && (!TryInt(limitNode, out limit) || limit < 1 || limit > options.MaxSearchLimit))
        {
            return FakeHubSpotJson.Validation($"limit must be an integer between 1 and {options.MaxSearchLimit}.",
                FakeHubSpotJson.Detail($"limit must be between 1 and {options.MaxSearchLimit}.", "INVALID_LIMIT", @in: "limit"));
        }

        var after = 0;
        if (input["after"] is { } afterNode
            && (!int.TryParse(FakeHubSpotJson.ScalarText(afterNode), CultureInfo.InvariantCulture, out after) || after < 0))
        {
            return FakeHubSpotJson.Validation("after must be the paging cursor of a previous search response.");
        }

        if (after + limit > options.MaxSearchResults)
        {
            return FakeHubSpotJson.Validation(
                $"A search query returns at most {options.MaxSearchResults} results; after + limit = {after + limit}. Narrow the filters instead of paging deeper.");
        }

        lock (_gate)
        {
            if (ReadFilterGroups(input["filterGroups"], out var groups) is { } badFilters)
            {
                return badFilters;
            }

            if (ReadSorts(input["sorts"], out var sorts) is { } badSorts)
            {
                return badSorts;
            }

            var requested = new List<string>();
            if (input["properties"] is JsonArray propertyArray)
            {
                requested.AddRange(propertyArray.Select(FakeHubSpotJson.ScalarText).OfType<string>().Where(_companyProperties.ContainsKey));
            }
            else if (input["properties"] is not null)
            {
                return FakeHubSpotJson.Validation("properties must be an array of property names.");
            }

            var text = FakeHubSpotJson.ScalarText(input["query"]);
            IEnumerable<Row> matches = _companies.Values.Where(r =>
                (groups.Count == 0 || groups.Any(g => g.All(f => Matches(r, f))))
                && (string.IsNullOrWhiteSpace(text) || MatchesQuery(r, text)));
            var all = sorts.Count == 0 ? [.. matches.OrderBy(r => r.Id)] : Sort(matches, sorts);
            var page = all.Skip(after).Take(limit).ToList();
            var body2 = new JsonObject
            {
                ["total"] = all.Count,
                ["results"] = new JsonArray([.. page.Select(r =>
                    ObjectJson(r, requested.Count > 0 ? requested : DefaultCompanyProperties, AlwaysCompanyProperties, null))]),
            };
            if (after + limit < all.Count)
            {
                body2["paging"] = Next((after + limit).ToString(CultureInfo.InvariantCulture));
            }

            return Ok(body2);
        }
    }

    // ---- tasks ----------------------------------------------------------------------------------------------

    public FakeResult CreateTask(JsonNode? body)
    {
        if (body is not JsonObject input || input["properties"] is not JsonObject properties)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected {\"properties\":{...},\"associations\":[...]}.");
        }

        lock (_gate)
        {
            if (ReadProperties(properties, _taskProperties, out var values) is { } invalid)
            {
                return invalid;
            }

            if (string.IsNullOrEmpty(values.GetValueOrDefault("hs_timestamp")))
            {
                return FakeHubSpotJson.Validation("Missing required property hs_timestamp (the task's due date).",
                    FakeHubSpotJson.Detail("hs_timestamp is required.", "REQUIRED_PROPERTY", "hs_timestamp"));
            }

            var companies = new List<Row>();
            if (input["associations"] is JsonArray associations)
            {
                for (var i = 0; i < associations.Count; i++)
                {
                    if (ReadAssociation(associations[i], i, out var company) is { } badAssociation)
                    {
                        return badAssociation;
                    }

                    companies.Add(company!);
                }
            }
            else if (input["associations"] is not null)
            {
                return FakeHubSpotJson.Validation("associations must be an array.");
            }

            var now = clock.GetUtcNow();
            var row = new Row(_nextTaskId++, now);
            Apply(row, values);
            row.Properties["hs_createdate"] = FakeHubSpotJson.Iso(now);
            row.Properties["hs_object_id"] = Text(row.Id);
            _tasks[row.Id] = row;
            foreach (var company in companies)
            {
                Link(row, company);
            }

            return new FakeResult(201, ObjectJson(row, [.. values.Keys], AlwaysTaskProperties, null));
        }
    }

    public FakeResult GetTask(string id, IQueryCollection query)
    {
        lock (_gate)
        {
            if (!TryId(id, out var key) || !_tasks.TryGetValue(key, out var row))
            {
                return FakeHubSpotJson.NotFound($"Task {id} not found.");
            }

            return Ok(ObjectJson(row, RequestedProperties(query), AlwaysTaskProperties, null));
        }
    }

    public FakeResult BatchReadTasks(JsonNode? body)
    {
        var startedAt = clock.GetUtcNow();
        if (body is not JsonObject input || input["inputs"] is not JsonArray inputs)
        {
            return FakeHubSpotJson.Validation("Invalid input JSON: expected {\"inputs\":[{\"id\":\"...\"}],\"properties\":[...]}.");
        }

        if (inputs.Count > options.MaxBatchInputs)
        {
            return FakeHubSpotJson.Validation($"Batch input size {inputs.Count} exceeds the limit of {options.MaxBatchInputs} inputs per request.");
        }

        var requested = input["properties"] is JsonArray names ? names.Select(FakeHubSpotJson.ScalarText).OfType<string>().ToList() : [];
        lock (_gate)
        {
            var found = new List<Row>();
            var missing = new List<string>();
            foreach (var item in inputs)
            {
                var id = item is JsonObject o ? FakeHubSpotJson.ScalarText(o["id"]) : null;
                if (string.IsNullOrEmpty(id))
                {
                    return FakeHubSpotJson.Validation("Each input needs an id.");
                }

                if (TryId(id, out var key) && _tasks.TryGetValue(key, out var row))
                {
                    found.Add(row);
                }
                else
                {
                    missing.Add(id);
                }
            }

            var result = new JsonObject
            {
                ["status"] = "COMPLETE",
                ["results"] = new JsonArray([.. found.Select(r => ObjectJson(r, requested, AlwaysTaskProperties, null))]),
                ["startedAt"] = FakeHubSpotJson.Iso(startedAt),
                ["completedAt"] = FakeHubSpotJson.Iso(clock.GetUtcNow()),
            };
            if (missing.Count == 0)
            {
                return Ok(result);
            }

            result["numErrors"] = 1;
            result["errors"] = new JsonArray(new JsonObject
            {
                ["status"] = "error",
                ["category"] = "OBJECT_NOT_FOUND",
                ["message"] = "Could not get some TASK objects, they may be deleted or not exist. Check that ids are valid.",
                ["context"] = new JsonObject { ["ids"] = new JsonArray([.. missing.Select(m => (JsonNode)m)]) },
            });
            return new FakeResult(207, result);
        }
    }

    public FakeResult AssociateDefault(string fromType, string fromId, string toType, string toId)
    {
        var from = ObjectKind(fromType);
        var to = ObjectKind(toType);
        if (from is null || to is null || from == to)
        {
            return FakeHubSpotJson.Validation($"The fake associates tasks and companies only, not {fromType} to {toType}.");
        }

        lock (_gate)
        {
            var tasks = from == "tasks" ? (fromId, toId) : (toId, fromId);
            if (!TryId(tasks.Item1, out var taskKey) || !_tasks.TryGetValue(taskKey, out var task))
            {
                return FakeHubSpotJson.NotFound($"Task {tasks.Item1} not found.");
            }

            if (!TryId(tasks.Item2, out var companyKey) || !_companies.TryGetValue(companyKey, out var company))
            {
                return FakeHubSpotJson.NotFound($"Company {tasks.Item2} not found.");
            }

            Link(task, company);
            var now = FakeHubSpotJson.Iso(clock.GetUtcNow());
            return Ok(new JsonObject
            {
                ["status"] = "COMPLETE",
                ["results"] = new JsonArray(new JsonObject
                {
                    ["from"] = new JsonObject { ["id"] = fromId },
                    ["to"] = new JsonObject { ["id"] = toId },
                    ["associationSpec"] = new JsonObject
                    {
                        ["associationCategory"] = "HUBSPOT_DEFINED",
                        ["associationTypeId"] = from == "tasks" ? TaskToCompany : CompanyToTask,
                    },
                }),
                ["startedAt"] = now,
                ["completedAt"] = now,
            });
        }
    }

    // ---- owners ---------------------------------------------------------------------------------------------

    public FakeResult ListOwners(IQueryCollection query)
    {
        var limit = 100;
        if (query.ContainsKey("limit") && (!int.TryParse(query["limit"], CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 500))
        {
            return FakeHubSpotJson.Validation("limit must be between 1 and 500.");
        }

        var after = 0;
        if (query.ContainsKey("after") && !int.TryParse(query["after"], CultureInfo.InvariantCulture, out after))
        {
            return FakeHubSpotJson.Validation("after must be a paging cursor from a previous response.");
        }

        var archived = string.Equals(query["archived"], "true", StringComparison.OrdinalIgnoreCase);
        var email = query["email"].ToString();
        lock (_gate)
        {
            var matching = _owners
                .Where(o => o.Archived == archived)
                .Where(o => string.IsNullOrEmpty(email) || string.Equals(o.Email, email, StringComparison.OrdinalIgnoreCase))
                .ToList();
            var body = new JsonObject { ["results"] = new JsonArray([.. matching.Skip(after).Take(limit).Select(OwnerJson)]) };
            if (after + limit < matching.Count)
            {
                body["paging"] = Next((after + limit).ToString(CultureInfo.InvariantCulture));
            }

            return Ok(body);
        }
    }

    public FakeResult GetOwner(string ownerId, IQueryCollection query)
    {
        var idProperty = query.ContainsKey("idProperty") ? query["idProperty"].ToString() : "id";
        if (idProperty is not ("id" or "userId"))
        {
            return FakeHubSpotJson.Validation("idProperty must be id or userId.");
        }

        var archived = string.Equals(query["archived"], "true", StringComparison.OrdinalIgnoreCase);
        lock (_gate)
        {
            var owner = _owners.FirstOrDefault(o => o.Archived == archived && (idProperty == "id" ? o.Id : o.UserId) == ownerId);
            return owner is null ? FakeHubSpotJson.NotFound($"Owner {ownerId} not found.") : Ok(OwnerJson(owner));
        }
    }

    // ---- helpers (callers hold _gate where state is read) ---------------------------------------------------

    private static FakeResult Ok(JsonNode body) => new(200, body);

    private static JsonObject Next(string after) => new() { ["next"] = new JsonObject { ["after"] = after } };

    private static string Text(long id) => id.ToString(CultureInfo.InvariantCulture);

    private static string Id(Row row) => Text(row.Id);

    private static bool TryId(string text, out long id) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);

    private static bool TryInt(JsonNode node, out int value) =>
        int.TryParse(FakeHubSpotJson.ScalarText(node), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static string? ObjectKind(string type) => type switch
    {
        "companies" or "company" or "0-2" => "companies",
        "tasks" or "task" or "0-27" => "tasks",
        _ => null,
    };

    private static FakeResult UnknownObjectType(string objectType) =>
        FakeHubSpotJson.Validation($"Unable to infer object type from: {objectType} (the fake knows companies and tasks).");

    private static FakeResult? CheckPropertyObjectType(string objectType) => ObjectKind(objectType) switch
    {
        "companies" => null,
        "tasks" => FakeHubSpotJson.Validation("The fake keeps task properties fixed; it creates properties and groups for companies only."),
        _ => UnknownObjectType(objectType),
    };

    private Dictionary<string, FakeHubSpotProperty>? PropertiesFor(string objectType) => ObjectKind(objectType) switch
    {
        "companies" => _companyProperties,
        "tasks" => _taskProperties,
        _ => null,
    };

    private static string? RequiredString(JsonObject input, string field, List<JsonObject> problems)
    {
        var value = FakeHubSpotJson.ScalarText(input[field]);
        if (string.IsNullOrWhiteSpace(value) || input[field] is not JsonValue v || v.GetValueKind() != System.Text.Json.JsonValueKind.String)
        {
            problems.Add(FakeHubSpotJson.Detail($"{field} is required and must be a string.", "REQUIRED_FIELD", @in: field));
            return null;
        }

        return value;
    }

    private static List<string> RequestedProperties(IQueryCollection query) =>
        [.. query["properties"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static FakeHubSpotProperty BuiltIn(string name, string label, string type, string fieldType, bool readOnly = false) =>
        new(name, label, type, fieldType, "companyinformation", [], HubSpotDefined: true, ReadOnlyValue: readOnly);

    private static Dictionary<string, FakeHubSpotProperty> BuiltInTaskProperties()
    {
        static FakeHubSpotProperty Task(string name, string type, string fieldType, bool readOnly = false, params string[] options) =>
            new(name, name, type, fieldType, "taskinformation", [.. options.Select(o => new FakeHubSpotOption(o, o))],
                HubSpotDefined: true, ReadOnlyValue: readOnly);

        return new Dictionary<string, FakeHubSpotProperty>(StringComparer.Ordinal)
        {
            ["hs_timestamp"] = Task("hs_timestamp", "datetime", "date"),
            ["hs_task_subject"] = Task("hs_task_subject", "string", "text"),
            ["hs_task_body"] = Task("hs_task_body", "string", "textarea"),
            ["hs_task_status"] = Task("hs_task_status", "enumeration", "select", false, "NOT_STARTED", "COMPLETED"),
            ["hs_task_priority"] = Task("hs_task_priority", "enumeration", "select", false, "LOW", "MEDIUM", "HIGH"),
            ["hs_task_type"] = Task("hs_task_type", "enumeration", "select", false, "EMAIL", "CALL", "TODO"),
            ["hubspot_owner_id"] = Task("hubspot_owner_id", "enumeration", "select"),
            ["hs_task_reminders"] = Task("hs_task_reminders", "string", "text"),
            ["hs_createdate"] = Task("hs_createdate", "datetime", "date", readOnly: true),
            ["hs_lastmodifieddate"] = Task("hs_lastmodifieddate", "datetime", "date", readOnly: true),
            ["hs_object_id"] = Task("hs_object_id", "number", "number", readOnly: true),
        };
    }

    /// <summary>Reads and checks <c>properties</c>: every name defined, every value a string (or null) fitting its type.</summary>
    private FakeResult? ReadProperties(JsonObject properties, Dictionary<string, FakeHubSpotProperty> definitions, out Dictionary<string, string?> values)
    {
        values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var problems = new List<JsonObject>();
        foreach (var (name, node) in properties)
        {
            if (!definitions.TryGetValue(name, out var definition))
            {
                problems.Add(FakeHubSpotJson.Detail($"Property \"{name}\" does not exist", "PROPERTY_DOESNT_EXIST", name));
                continue;
            }

            if (node is not null && (node is not JsonValue v || v.GetValueKind() != System.Text.Json.JsonValueKind.String))
            {
                problems.Add(FakeHubSpotJson.Detail($"The value of {name} must be a string (property values are strings).", "INVALID_TYPE", name));
                continue;
            }

            var value = node?.GetValue<string>();
            if (FakeHubSpotValues.Check(definition, value, IsOwnerId, IsUserId) is { } problem)
            {
                problems.Add(FakeHubSpotJson.Detail($"{name}: {problem.Message}", problem.Code, name));
                continue;
            }

            values[name] = value;
        }

        return problems.Count == 0
            ? null
            : FakeHubSpotJson.Validation($"Property values were not valid: {string.Join(" ", problems.Select(p => (string?)p["message"]))}", [.. problems]);
    }

    private bool IsOwnerId(string value) => _owners.Any(o => !o.Archived && o.Id == value);

    private bool IsUserId(string value) => _owners.Any(o => o.UserId == value);

    private FakeResult? CheckUnique(Dictionary<string, string?> values, long? exceptId)
    {
        foreach (var (name, value) in values)
        {
            if (string.IsNullOrEmpty(value) || !_companyProperties[name].HasUniqueValue)
            {
                continue;
            }

            var other = _companies.Values.FirstOrDefault(r =>
                r.Id != exceptId && string.Equals(r.Properties.GetValueOrDefault(name), value, StringComparison.OrdinalIgnoreCase));
            if (other is not null)
            {
                return FakeHubSpotJson.Error(409, "CONFLICT", $"A company already has {name} = {value}. Existing ID: {other.Id}");
            }
        }

        return null;
    }

    private Row NewCompany(IReadOnlyDictionary<string, string?> properties)
    {
        var now = clock.GetUtcNow();
        var row = new Row(_nextCompanyId++, now);
        Apply(row, properties);
        row.Properties["createdate"] = FakeHubSpotJson.Iso(now);
        row.Properties["hs_object_id"] = Text(row.Id);
        _companies[row.Id] = row;
        return row;
    }

    private void Apply(Row row, IReadOnlyDictionary<string, string?> values)
    {
        var now = clock.GetUtcNow();
        foreach (var (name, value) in values)
        {
            row.Properties[name] = string.IsNullOrEmpty(value) ? null : value;
        }

        row.UpdatedAt = now;
        row.Properties["hs_lastmodifieddate"] = FakeHubSpotJson.Iso(now);
    }

    private static void Link(Row task, Row company)
    {
        task.Associated.Add(company.Id);
        company.Associated.Add(task.Id);
    }

    private Row? FindCompany(string id, string? idProperty, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(idProperty) || idProperty == "hs_object_id")
        {
            return TryId(id, out var key) && _companies.TryGetValue(key, out var row) ? row : null;
        }

        if (!_companyProperties.TryGetValue(idProperty, out var definition) || !definition.HasUniqueValue)
        {
            problem = $"{idProperty} is not a unique identifier property of companies.";
            return null;
        }

        return _companies.Values.FirstOrDefault(r => string.Equals(r.Properties.GetValueOrDefault(idProperty), id, StringComparison.OrdinalIgnoreCase));
    }

    private FakeResult? ReadAssociation(JsonNode? node, int index, out Row? company)
    {
        company = null;
        var at = $"associations[{index}]";
        if (node is not JsonObject association || association["to"] is not JsonObject to || association["types"] is not JsonArray { Count: > 0 } types)
        {
            return FakeHubSpotJson.Validation(
                $"{at} must look like {{\"to\":{{\"id\":\"...\"}},\"types\":[{{\"associationCategory\":\"HUBSPOT_DEFINED\",\"associationTypeId\":{TaskToCompany}}}]}}.");
        }

        var toId = FakeHubSpotJson.ScalarText(to["id"]);
        if (string.IsNullOrEmpty(toId))
        {
            return FakeHubSpotJson.Validation($"{at}.to.id is required.");
        }

        foreach (var type in types)
        {
            var category = type is JsonObject t ? FakeHubSpotJson.ScalarText(t["associationCategory"]) : null;
            var typeId = type is JsonObject t2 && t2["associationTypeId"] is { } idNode && TryInt(idNode, out var parsed) ? parsed : (int?)null;
            if (category is not ("HUBSPOT_DEFINED" or "USER_DEFINED" or "INTEGRATOR_DEFINED") || typeId is null)
            {
                return FakeHubSpotJson.Validation(
                    $"{at}.types[] needs associationCategory (HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED) and an integer associationTypeId.");
            }

            if (category != "HUBSPOT_DEFINED" || typeId != TaskToCompany)
            {
                return FakeHubSpotJson.Validation(
                    $"{at}: association type {category}/{typeId} is not valid from a task to a company (task → company is HUBSPOT_DEFINED/{TaskToCompany}).",
                    FakeHubSpotJson.Detail("Invalid association type.", "INVALID_ASSOCIATION_TYPE", @in: at));
            }
        }

        if (!TryId(toId, out var key) || !_companies.TryGetValue(key, out company))
        {
            return FakeHubSpotJson.Validation($"{at}: company {toId} does not exist, so the task cannot be associated with it.",
                FakeHubSpotJson.Detail($"Company {toId} not found.", "INVALID_ASSOCIATION_TARGET", @in: at));
        }

        return null;
    }

    private sealed record Filter(string PropertyName, string Operator, string? Value, string? HighValue, IReadOnlyList<string> Values);

    private FakeResult? ReadFilterGroups(JsonNode? node, out List<List<Filter>> groups)
    {
        groups = [];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            return FakeHubSpotJson.Validation("filterGroups must be an array.");
        }

        if (array.Count > 5)
        {
            return FakeHubSpotJson.Validation($"Too many filter groups: {array.Count} (at most 5).");
        }

        var total = 0;
        foreach (var groupNode in array)
        {
            if (groupNode is not JsonObject group || group["filters"] is not JsonArray filters)
            {
                return FakeHubSpotJson.Validation("Each filter group must be {\"filters\":[...]}.");
            }

            if (filters.Count > 10)
            {
                return FakeHubSpotJson.Validation($"Too many filters in one group: {filters.Count} (at most 10).");
            }

            total += filters.Count;
            var list = new List<Filter>();
            foreach (var filterNode in filters)
            {
                if (filterNode is not JsonObject filter)
                {
                    return FakeHubSpotJson.Validation("Each filter must be an object.");
                }

                var propertyName = FakeHubSpotJson.ScalarText(filter["propertyName"]);
                var op = FakeHubSpotJson.ScalarText(filter["operator"]);
                if (string.IsNullOrEmpty(propertyName) || !_companyProperties.ContainsKey(propertyName))
                {
                    return FakeHubSpotJson.Validation($"Filter property {propertyName ?? "(none)"} does not exist on companies.",
                        FakeHubSpotJson.Detail($"Property \"{propertyName}\" does not exist", "PROPERTY_DOESNT_EXIST", propertyName));
                }

                if (op is null || !Operators.Contains(op, StringComparer.Ordinal))
                {
                    return FakeHubSpotJson.Validation($"Filter operator {op ?? "(none)"} is not one of [{string.Join(", ", Operators)}].");
                }

                var value = FakeHubSpotJson.ScalarText(filter["value"]);
                var high = FakeHubSpotJson.ScalarText(filter["highValue"]);
                var values = filter["values"] is JsonArray va ? va.Select(FakeHubSpotJson.ScalarText).OfType<string>().ToList() : [];
                switch (op)
                {
                    case "IN" or "NOT_IN" when values.Count == 0:
                        return FakeHubSpotJson.Validation($"Operator {op} needs a non-empty values array (filter on {propertyName}).");
                    case "BETWEEN" when value is null || high is null:
                        return FakeHubSpotJson.Validation($"Operator BETWEEN needs value and highValue (filter on {propertyName}).");
                    case "EQ" or "NEQ" or "LT" or "LTE" or "GT" or "GTE" or "CONTAINS_TOKEN" or "NOT_CONTAINS_TOKEN" when value is null:
                        return FakeHubSpotJson.Validation($"Operator {op} needs a value (filter on {propertyName}).");
                }

                list.Add(new Filter(propertyName, op, value, high, values));
            }

            groups.Add(list);
        }

        return total > 25 ? FakeHubSpotJson.Validation($"Too many filters: {total} in all (at most 25).") : null;
    }

    private FakeResult? ReadSorts(JsonNode? node, out List<(string Property, bool Descending)> sorts)
    {
        sorts = [];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            return FakeHubSpotJson.Validation("sorts must be an array of {\"propertyName\",\"direction\"}.");
        }

        foreach (var item in array)
        {
            var name = item is JsonObject o ? FakeHubSpotJson.ScalarText(o["propertyName"]) : null;
            var direction = item is JsonObject o2 ? FakeHubSpotJson.ScalarText(o2["direction"]) ?? "ASCENDING" : null;
            if (name is null || !_companyProperties.ContainsKey(name) || direction is not ("ASCENDING" or "DESCENDING"))
            {
                return FakeHubSpotJson.Validation("Each sort must be {\"propertyName\":<existing property>,\"direction\":\"ASCENDING\"|\"DESCENDING\"}.");
            }

            sorts.Add((name, direction == "DESCENDING"));
        }

        return null;
    }

    private List<Row> Sort(IEnumerable<Row> rows, List<(string Property, bool Descending)> sorts)
    {
        var list = rows.ToList();
        list.Sort((a, b) =>
        {
            foreach (var (property, descending) in sorts)
            {
                var type = _companyProperties[property].Type;
                var left = a.Properties.GetValueOrDefault(property);
                var right = b.Properties.GetValueOrDefault(property);
                var order = (left, right) switch
                {
                    (null, null) => 0,
                    (null, _) => 1,
                    (_, null) => -1,
                    _ => FakeHubSpotValues.Compare(type, left, right),
                };
                if (order != 0)
                {
                    return descending ? -order : order;
                }
            }

            return a.Id.CompareTo(b.Id);
        });
        return list;
    }

    private bool Matches(Row row, Filter filter)
    {
        var type = _companyProperties[filter.PropertyName].Type;
        var value = row.Properties.GetValueOrDefault(filter.PropertyName);
        var has = !string.IsNullOrEmpty(value);
        bool Eq(string other) => has && FakeHubSpotValues.Compare(type, value!, other) == 0;
        bool Token(string token) => has && value!
            .Split([' ', ',', ';', '.', '-', '_', '@', '/', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Any(t => token.EndsWith('*')
                ? t.StartsWith(token.TrimEnd('*'), StringComparison.OrdinalIgnoreCase)
                : string.Equals(t, token, StringComparison.OrdinalIgnoreCase));
        return filter.Operator switch
        {
            "HAS_PROPERTY" => has,
            "NOT_HAS_PROPERTY" => !has,
            "EQ" => Eq(filter.Value!),
            "NEQ" => !Eq(filter.Value!),
            "IN" => filter.Values.Any(Eq),
            "NOT_IN" => !filter.Values.Any(Eq),
            "LT" => has && FakeHubSpotValues.Compare(type, value!, filter.Value!) < 0,
            "LTE" => has && FakeHubSpotValues.Compare(type, value!, filter.Value!) <= 0,
            "GT" => has && FakeHubSpotValues.Compare(type, value!, filter.Value!) > 0,
            "GTE" => has && FakeHubSpotValues.Compare(type, value!, filter.Value!) >= 0,
            "BETWEEN" => has && FakeHubSpotValues.Compare(type, value!, filter.Value!) >= 0
                             && FakeHubSpotValues.Compare(type, value!, filter.HighValue!) <= 0,
            "CONTAINS_TOKEN" => Token(filter.Value!),
            "NOT_CONTAINS_TOKEN" => !Token(filter.Value!),
            _ => false,
        };
    }

    private static bool MatchesQuery(Row row, string text) =>
        QueryProperties.Any(p => row.Properties.GetValueOrDefault(p)?.Contains(text, StringComparison.OrdinalIgnoreCase) == true);

    private static JsonObject ObjectJson(Row row, IEnumerable<string> requested, IEnumerable<string> always, JsonObject? associations)
    {
        var properties = new JsonObject();
        foreach (var name in requested.Concat(always).Distinct(StringComparer.Ordinal))
        {
            properties[name] = row.Properties.GetValueOrDefault(name);
        }

        var json = new JsonObject
        {
            ["id"] = Id(row),
            ["properties"] = properties,
            ["createdAt"] = FakeHubSpotJson.Iso(row.CreatedAt),
            ["updatedAt"] = FakeHubSpotJson.Iso(row.UpdatedAt),
            ["archived"] = false,
        };
        if (associations is not null)
        {
            json["associations"] = associations;
        }

        return json;
    }

    private static FakeHubSpotCompany SnapshotCompany(Row row) =>
        new(Id(row), new Dictionary<string, string?>(row.Properties), [.. row.Associated.Select(Text)], row.CreatedAt, row.UpdatedAt);

    private static JsonObject GroupJson(FakeHubSpotPropertyGroup group) => new()
    {
        ["name"] = group.Name,
        ["label"] = group.Label,
        ["displayOrder"] = group.DisplayOrder,
        ["archived"] = false,
    };

    private static JsonObject PropertyJson(FakeHubSpotProperty property) => new()
    {
        ["name"] = property.Name,
        ["label"] = property.Label,
        ["type"] = property.Type,
        ["fieldType"] = property.FieldType,
        ["description"] = property.Description ?? "",
        ["groupName"] = property.GroupName,
        ["options"] = new JsonArray([.. property.Options.Select(o => new JsonObject
        {
            ["label"] = o.Label,
            ["value"] = o.Value,
            ["hidden"] = o.Hidden,
            ["displayOrder"] = o.DisplayOrder,
        })]),
        ["displayOrder"] = property.DisplayOrder,
        ["calculated"] = false,
        ["externalOptions"] = false,
        ["hasUniqueValue"] = property.HasUniqueValue,
        ["hidden"] = false,
        ["hubspotDefined"] = property.HubSpotDefined,
        ["modificationMetadata"] = new JsonObject
        {
            ["archivable"] = !property.HubSpotDefined,
            ["readOnlyDefinition"] = property.HubSpotDefined,
            ["readOnlyValue"] = property.ReadOnlyValue,
        },
        ["formField"] = false,
        ["archived"] = false,
    };

    private static JsonObject OwnerJson(FakeHubSpotOwner owner) => new()
    {
        ["id"] = owner.Id,
        ["email"] = owner.Email,
        ["type"] = "PERSON",
        ["firstName"] = owner.FirstName,
        ["lastName"] = owner.LastName,
        ["userId"] = long.Parse(owner.UserId, CultureInfo.InvariantCulture),
        ["userIdIncludingInactive"] = long.Parse(owner.UserId, CultureInfo.InvariantCulture),
        ["createdAt"] = "2024-01-15T09:00:00.000Z",
        ["updatedAt"] = "2024-01-15T09:00:00.000Z",
        ["archived"] = owner.Archived,
        ["teams"] = new JsonArray(),
    };
}

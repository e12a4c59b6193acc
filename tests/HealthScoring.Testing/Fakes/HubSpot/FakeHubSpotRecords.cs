namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>One request the fake received, with the status it answered.</summary>
/// <param name="At">When the request arrived.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path, such as <c>/crm/v3/objects/companies/batch/update</c>.</param>
/// <param name="Query">Query string including the leading <c>?</c>, or empty.</param>
/// <param name="Body">Request body as text (empty when there was none).</param>
/// <param name="StatusCode">The status the fake answered.</param>
public sealed record FakeHubSpotCall(DateTimeOffset At, string Method, string Path, string Query, string Body, int StatusCode)
{
    public bool Is(string method, string path) =>
        string.Equals(Method, method, StringComparison.OrdinalIgnoreCase) && string.Equals(Path, path, StringComparison.Ordinal);
}

/// <summary>A company as the fake stores it (a snapshot).</summary>
public sealed record FakeHubSpotCompany(
    string Id,
    IReadOnlyDictionary<string, string?> Properties,
    IReadOnlyList<string> TaskIds,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public string? this[string property] => Properties.TryGetValue(property, out var value) ? value : null;
}

/// <summary>A task as the fake stores it (a snapshot).</summary>
public sealed record FakeHubSpotTask(
    string Id,
    IReadOnlyDictionary<string, string?> Properties,
    IReadOnlyList<string> CompanyIds,
    DateTimeOffset CreatedAt)
{
    public string? this[string property] => Properties.TryGetValue(property, out var value) ? value : null;

    public string? Subject => this["hs_task_subject"];

    public string? Body => this["hs_task_body"];

    public string? OwnerId => this["hubspot_owner_id"];
}

/// <summary>A HubSpot user who can own records. Records are assigned with <see cref="Id"/>, never <see cref="UserId"/>.</summary>
public sealed record FakeHubSpotOwner(string Id, string UserId, string Email, string FirstName, string LastName, bool Archived = false);

/// <summary>An option of an enumeration property.</summary>
public sealed record FakeHubSpotOption(string Label, string Value, bool Hidden = false, int DisplayOrder = -1);

/// <summary>A property definition (snapshot).</summary>
public sealed record FakeHubSpotProperty(
    string Name,
    string Label,
    string Type,
    string FieldType,
    string GroupName,
    IReadOnlyList<FakeHubSpotOption> Options,
    bool HasUniqueValue = false,
    bool HubSpotDefined = false,
    bool ReadOnlyValue = false,
    string? Description = null,
    int DisplayOrder = -1);

/// <summary>A property group (snapshot).</summary>
public sealed record FakeHubSpotPropertyGroup(string Name, string Label, int DisplayOrder);

namespace HealthScoring.Integrations.HubSpot;

/// <summary>
/// What HealthScoring asks of HubSpot; <see cref="HubSpotClient"/> is the implementation (a typed HttpClient that
/// stands in for a HubSpot SDK). Consumers depend on this, so a real SDK could replace the client behind it.
/// </summary>
public interface IHubSpotClient
{
    /// <summary>False when no access token is configured; every call then throws <see cref="InvalidOperationException"/>.</summary>
    bool IsEnabled { get; }

    /// <summary>Creates our property group and company properties where missing (idempotent).</summary>
    Task<PropertySetupResult> EnsurePropertiesAsync(CancellationToken cancellationToken = default);

    /// <summary>Maps account ids to company ids by the account id property; unknown accounts are absent.</summary>
    Task<IReadOnlyDictionary<string, string>> FindCompanyIdsAsync(IEnumerable<string> accountIds, CancellationToken cancellationToken = default);

    /// <summary>Writes health figures to the accounts' companies in batches of at most 100.</summary>
    Task<CompanyUpdateResult> UpdateCompaniesAsync(IReadOnlyList<CompanyUpdate> updates, CancellationToken cancellationToken = default);

    /// <summary>Creates the alert's task for the company owner, once per alert id.</summary>
    Task<TaskResult> CreateTaskAsync(TaskRequest request, CancellationToken cancellationToken = default);
}

using System.Globalization;
using System.Text.Json;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot;

public sealed partial class HubSpotClient
{
    private const string SearchPath = "crm/v3/objects/companies/search";
    private const string BatchUpdatePath = "crm/v3/objects/companies/batch/update";

    /// <summary>Account ids per search request (one <c>IN</c> filter), and results per page.</summary>
    internal const int SearchChunk = 100;

    private const int MaxTextLength = 65_536;

    /// <summary>
    /// Maps our account ids to HubSpot company ids by searching <see cref="HubSpotOptions.CompanyIdProperty"/>: one
    /// search per 100 ids not yet cached (an <c>IN</c> filter, paged by <c>after</c>). Accounts without a company are
    /// absent from the answer. When several companies carry one account id, the oldest (lowest id) wins and a warning
    /// is logged. Mappings are cached for <see cref="HubSpotOptions.CompanyIdCacheDuration"/>.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> FindCompanyIdsAsync(IEnumerable<string> accountIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountIds);
        EnsureEnabled();
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var accountId in accountIds.Where(a => !string.IsNullOrWhiteSpace(a)).Distinct(StringComparer.Ordinal))
        {
            if (_state.TryGetCompany(accountId, out var companyId))
            {
                found[accountId] = companyId;
            }
            else
            {
                missing.Add(accountId);
            }
        }

        var property = _options.CompanyIdProperty;
        foreach (var chunk in missing.Chunk(SearchChunk))
        {
            // HubSpot's search compares text case-insensitively; map answers back the same way.
            var byValue = chunk.ToLookup(a => a, StringComparer.OrdinalIgnoreCase);
            string? after = null;
            do
            {
                var search = new SearchRequestWire(
                    [new FilterGroupWire([new FilterWire(property, "IN", Values: chunk)])],
                    [new SortWire("hs_object_id", "ASCENDING")],
                    [property],
                    SearchChunk,
                    after);
                var (_, page) = await CallAsync(
                    HttpMethod.Post, SearchPath, Serialize(search, HubSpotJson.Default.SearchRequestWire), HubSpotJson.Default.SearchResponseWire,
                    cancellationToken).ConfigureAwait(false);
                foreach (var company in page?.Results ?? [])
                {
                    var value = company.Properties?.GetValueOrDefault(property);
                    if (string.IsNullOrEmpty(value))
                    {
                        continue;
                    }

                    foreach (var accountId in byValue[value])
                    {
                        if (found.TryGetValue(accountId, out var first))
                        {
                            _logger.LogWarning(
                                "Several HubSpot companies carry {Property} = {AccountId}; using the oldest, {CompanyId}, not {Other}.",
                                property, accountId, first, company.Id);
                            continue;
                        }

                        found[accountId] = company.Id;
                        _state.RememberCompany(accountId, company.Id);
                    }
                }

                after = page?.Paging?.Next?.After;
            }
            while (after is not null);
        }

        return found;
    }

    /// <summary>
    /// Writes health figures to the accounts' companies with batch updates of at most
    /// <see cref="HubSpotOptions.BatchSize"/> (100) inputs, sent one after another. Bad values are refused before
    /// anything is sent and listed in <see cref="CompanyUpdateResult.Rejected"/>; accounts without a company are
    /// listed in <see cref="CompanyUpdateResult.NotFoundAccountIds"/>; when one account appears twice, the last
    /// update wins. Each batch is all-or-nothing at HubSpot; if one fails with a non-retryable error,
    /// <see cref="HubSpotApiException"/> is thrown and the earlier batches stay written (updates are idempotent, so
    /// sending the same list again is safe).
    /// </summary>
    public async Task<CompanyUpdateResult> UpdateCompaniesAsync(IReadOnlyList<CompanyUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        EnsureEnabled();
        var rejected = new List<RejectedCompanyUpdate>();
        var latest = new Dictionary<string, CompanyUpdate>(StringComparer.Ordinal);
        foreach (var update in updates)
        {
            if (Validate(update) is { } reason)
            {
                rejected.Add(new RejectedCompanyUpdate(update?.AccountId ?? "", reason));
                continue;
            }

            latest[update.AccountId] = update;
        }

        var companies = await FindCompanyIdsAsync(latest.Keys, cancellationToken).ConfigureAwait(false);
        var notFound = latest.Keys.Where(a => !companies.ContainsKey(a)).ToList();
        var byCompany = new Dictionary<string, (CompanyUpdate Update, BatchUpdateInputWire Input)>(StringComparer.Ordinal);
        foreach (var update in latest.Values.Where(u => companies.ContainsKey(u.AccountId)))
        {
            var companyId = companies[update.AccountId];
            if (byCompany.TryGetValue(companyId, out var other))
            {
                // HubSpot refuses a batch naming one id twice.
                rejected.Add(new RejectedCompanyUpdate(
                    other.Update.AccountId, $"company {companyId} also belongs to account {update.AccountId}, whose update was sent instead"));
            }

            byCompany[companyId] = (update, new BatchUpdateInputWire(companyId, PropertiesOf(update)));
        }

        var updated = new List<UpdatedCompany>();
        foreach (var chunk in byCompany.Values.Chunk(_options.BatchSize))
        {
            var batch = new BatchUpdateWire([.. chunk.Select(c => c.Input)]);
            var (_, response) = await CallAsync(
                HttpMethod.Post, BatchUpdatePath, Serialize(batch, HubSpotJson.Default.BatchUpdateWire), HubSpotJson.Default.BatchResponseWire,
                cancellationToken).ConfigureAwait(false);
            var failed = FailedIds(response);
            foreach (var (update, input) in chunk)
            {
                if (failed.TryGetValue(input.Id, out var message))
                {
                    rejected.Add(new RejectedCompanyUpdate(update.AccountId, $"HubSpot refused company {input.Id}: {message}"));
                }
                else
                {
                    updated.Add(new UpdatedCompany(update.AccountId, input.Id));
                }
            }
        }

        _logger.LogInformation(
            "HubSpot company update: {Updated} updated, {NotFound} accounts without a company, {Rejected} refused.",
            updated.Count, notFound.Count, rejected.Count);
        return new CompanyUpdateResult(updated, notFound, rejected);
    }

    private static string? Validate(CompanyUpdate? update)
    {
        static bool Percent(double value) => double.IsFinite(value) && value is >= 0 and <= 100;

        return update switch
        {
            null => "the update is null",
            { AccountId: var id } when string.IsNullOrWhiteSpace(id) => "the account id is empty",
            { HealthScore: var score } when !Percent(score) => $"health score {score.ToString(CultureInfo.InvariantCulture)} is not within 0–100",
            { Band: var band } when !Enum.IsDefined(band) => $"band {(int)band} is not a known band",
            { ChurnRiskPercent: { } churn } when !Percent(churn) => $"churn risk {churn.ToString(CultureInfo.InvariantCulture)} % is not within 0–100",
            { ExpansionLikelihoodPercent: { } expansion } when !Percent(expansion) =>
                $"expansion likelihood {expansion.ToString(CultureInfo.InvariantCulture)} % is not within 0–100",
            _ => null,
        };
    }

    /// <summary>Our properties as HubSpot takes them: strings, invariant numbers, ISO 8601 UTC times.</summary>
    internal static Dictionary<string, string> PropertiesOf(CompanyUpdate update)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [HubSpotPropertyNames.HealthScore] = Number(update.HealthScore),
            [HubSpotPropertyNames.HealthBand] = BandValue(update.Band),
            [HubSpotPropertyNames.TopDrivers] = Truncate(string.Join("\n", (update.TopDrivers ?? []).Where(d => !string.IsNullOrWhiteSpace(d)).Select(d => d.Trim()))),
            [HubSpotPropertyNames.ScoreUpdatedAt] = update.ScoredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        };
        if (update.ChurnRiskPercent is { } churn)
        {
            properties[HubSpotPropertyNames.ChurnRiskPercent] = Number(churn);
        }

        if (update.ExpansionLikelihoodPercent is { } expansion)
        {
            properties[HubSpotPropertyNames.ExpansionLikelihoodPercent] = Number(expansion);
        }

        return properties;
    }

    internal static string BandValue(HealthBand band) => band switch
    {
        HealthBand.Healthy => "healthy",
        HealthBand.Watch => "watch",
        HealthBand.AtRisk => "at-risk",
        _ => throw new ArgumentOutOfRangeException(nameof(band), band, "Unknown band."),
    };

    private static string Number(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    private static string Truncate(string text) => text.Length <= MaxTextLength ? text : text[..(MaxTextLength - 1)] + "…";

    /// <summary>Ids a 207 Multi-Status answer lists in <c>errors[].context.ids</c>, with HubSpot's message.</summary>
    private static Dictionary<string, string> FailedIds(BatchResponseWire? response)
    {
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var error in response?.Errors ?? [])
        {
            if (error.Context?.TryGetValue("ids", out var ids) == true && ids.ValueKind == JsonValueKind.Array)
            {
                foreach (var id in ids.EnumerateArray().Select(i => i.ToString()))
                {
                    failed[id] = error.Message ?? error.Category ?? "error";
                }
            }
        }

        return failed;
    }
}

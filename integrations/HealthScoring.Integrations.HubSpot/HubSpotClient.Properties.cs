using System.Net;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot;

public sealed partial class HubSpotClient
{
    private const string GroupsPath = "crm/v3/properties/companies/groups";
    private const string PropertiesPath = "crm/v3/properties/companies";

    /// <summary>The company properties HealthScoring needs, in display order.</summary>
    internal static IReadOnlyList<PropertyCreateWire> PropertyDefinitions(HubSpotOptions options)
    {
        var group = options.PropertyGroup;
        return
        [
            new(options.CompanyIdProperty, "HealthScoring account id", "string", "text", group,
                "Our account id; HealthScoring finds the company by it.", null, HasUniqueValue: true, 0),
            new(HubSpotPropertyNames.HealthScore, "Health score", "number", "number", group,
                "0–100, higher is healthier.", null, null, 1),
            new(HubSpotPropertyNames.HealthBand, "Health band", "enumeration", "select", group,
                "healthy ≥ 70 > watch ≥ 40 > at-risk (by default).",
                [new("Healthy", "healthy", false, 0), new("Watch", "watch", false, 1), new("At risk", "at-risk", false, 2)], null, 2),
            new(HubSpotPropertyNames.ChurnRiskPercent, "Churn risk (%)", "number", "number", group,
                "Calibrated probability of churn within the horizon, in percent.", null, null, 3),
            new(HubSpotPropertyNames.ExpansionLikelihoodPercent, "Expansion likelihood (%)", "number", "number", group,
                "Probability of expansion within the horizon, in percent.", null, null, 4),
            new(HubSpotPropertyNames.TopDrivers, "Top health drivers", "string", "textarea", group,
                "The reasons behind the score, one per line.", null, null, 5),
            new(HubSpotPropertyNames.ScoreUpdatedAt, "Health score updated at", "datetime", "date", group,
                "When HealthScoring last scored the account.", null, null, 6),
        ];
    }

    /// <summary>
    /// Creates our property group and company properties where missing. Reads what exists first (two calls), so a
    /// second run creates nothing and sends no failing requests; a 409 from a concurrent creator counts as present.
    /// A property that exists with another type, or an enumeration lacking one of our options, is reported as a
    /// mismatch (and logged), not changed.
    /// </summary>
    public async Task<PropertySetupResult> EnsurePropertiesAsync(CancellationToken cancellationToken = default)
    {
        EnsureEnabled();
        var (_, groups) = await CallAsync(HttpMethod.Get, GroupsPath, null, HubSpotJson.Default.ResultsWirePropertyGroupWire, cancellationToken)
            .ConfigureAwait(false);
        var createdGroup = false;
        if (groups?.Results?.Any(g => g.Name == _options.PropertyGroup) != true)
        {
            var group = new PropertyGroupWire(_options.PropertyGroup, _options.PropertyGroupLabel, -1);
            var (status, _) = await CallAsync(
                HttpMethod.Post, GroupsPath, Serialize(group, HubSpotJson.Default.PropertyGroupWire), HubSpotJson.Default.PropertyGroupWire,
                cancellationToken, tolerated: [HttpStatusCode.Conflict]).ConfigureAwait(false);
            createdGroup = status != HttpStatusCode.Conflict;
        }

        var (_, existingList) = await CallAsync(HttpMethod.Get, PropertiesPath, null, HubSpotJson.Default.ResultsWirePropertyWire, cancellationToken)
            .ConfigureAwait(false);
        var existing = (existingList?.Results ?? []).GroupBy(p => p.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var created = new List<string>();
        var present = new List<string>();
        var mismatched = new List<PropertyMismatch>();
        foreach (var definition in PropertyDefinitions(_options))
        {
            if (existing.TryGetValue(definition.Name, out var current))
            {
                present.Add(definition.Name);
                if (Mismatch(definition, current) is { } mismatch)
                {
                    mismatched.Add(mismatch);
                    _logger.LogWarning(
                        "HubSpot company property {Property} exists as {Actual}, not {Expected}; HealthScoring leaves it as it is and its updates may be refused.",
                        mismatch.Name, mismatch.Actual, mismatch.Expected);
                }

                continue;
            }

            var (status, _) = await CallAsync(
                HttpMethod.Post, PropertiesPath, Serialize(definition, HubSpotJson.Default.PropertyCreateWire), HubSpotJson.Default.PropertyWire,
                cancellationToken, tolerated: [HttpStatusCode.Conflict]).ConfigureAwait(false);
            (status == HttpStatusCode.Conflict ? present : created).Add(definition.Name);
        }

        if (createdGroup || created.Count > 0)
        {
            _logger.LogInformation(
                "HubSpot properties set up: group {Group} {GroupState}; created {Created}; already present {Present}.",
                _options.PropertyGroup, createdGroup ? "created" : "present", created.Count, present.Count);
        }

        return new PropertySetupResult(createdGroup, created, present, mismatched);
    }

    private static PropertyMismatch? Mismatch(PropertyCreateWire expected, PropertyWire actual)
    {
        if (!string.Equals(expected.Type, actual.Type, StringComparison.Ordinal))
        {
            return new PropertyMismatch(expected.Name, $"type {expected.Type}", $"type {actual.Type ?? "(none)"}");
        }

        var missing = (expected.Options ?? [])
            .Select(o => o.Value)
            .Except((actual.Options ?? []).Select(o => o.Value), StringComparer.Ordinal)
            .ToList();
        return missing.Count == 0
            ? null
            : new PropertyMismatch(expected.Name, $"options including {string.Join(", ", missing)}", "options without them");
    }
}

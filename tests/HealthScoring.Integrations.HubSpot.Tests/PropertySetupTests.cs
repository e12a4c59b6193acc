using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Integrations.HubSpot.Tests;

public sealed class PropertySetupTests
{
    private static readonly string[] OurProperties =
    [
        "healthscoring_account_id",
        HubSpotPropertyNames.HealthScore,
        HubSpotPropertyNames.HealthBand,
        HubSpotPropertyNames.ChurnRiskPercent,
        HubSpotPropertyNames.ExpansionLikelihoodPercent,
        HubSpotPropertyNames.TopDrivers,
        HubSpotPropertyNames.ScoreUpdatedAt,
    ];

    [Fact]
    public async Task The_group_and_properties_are_created_with_the_right_types()
    {
        await using var hub = await HubSpotHarness.StartAsync();

        var result = await hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken);

        result.CreatedGroup.ShouldBeTrue();
        result.Created.ShouldBe(OurProperties, ignoreOrder: true);
        result.Mismatched.ShouldBeEmpty();
        hub.Fake.PropertyGroups.ShouldContain(g => g.Name == "healthscoring" && g.Label == "HealthScoring");
        var properties = hub.Fake.CompanyProperties.ToDictionary(p => p.Name);
        properties[HubSpotPropertyNames.HealthScore].Type.ShouldBe("number");
        properties[HubSpotPropertyNames.ChurnRiskPercent].Type.ShouldBe("number");
        properties[HubSpotPropertyNames.ExpansionLikelihoodPercent].Type.ShouldBe("number");
        properties[HubSpotPropertyNames.TopDrivers].FieldType.ShouldBe("textarea");
        properties[HubSpotPropertyNames.ScoreUpdatedAt].Type.ShouldBe("datetime");
        var band = properties[HubSpotPropertyNames.HealthBand];
        band.Type.ShouldBe("enumeration");
        band.Options.Select(o => o.Value).ShouldBe(["healthy", "watch", "at-risk"]);
        properties["healthscoring_account_id"].HasUniqueValue.ShouldBeTrue();
        OurProperties.ShouldAllBe(name => properties[name].GroupName == "healthscoring");
    }

    [Fact]
    public async Task A_second_run_creates_nothing_and_sends_no_failing_request()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        await hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken);
        hub.Fake.ResetCallLog();

        // Another process (fresh container), as after a restart.
        var again = await hub.NewProcess().GetRequiredService<HubSpotClient>().EnsurePropertiesAsync(TestContext.Current.CancellationToken);

        again.CreatedNothing.ShouldBeTrue();
        again.AlreadyPresent.ShouldBe(OurProperties, ignoreOrder: true);
        hub.Fake.Calls.ShouldAllBe(c => c.Method == "GET" && c.StatusCode == 200);
        hub.Fake.Calls.Count.ShouldBe(2);
        hub.Fake.CompanyProperties.Count(p => p.GroupName == "healthscoring").ShouldBe(OurProperties.Length);
    }

    [Fact]
    public async Task A_409_from_a_concurrent_creator_counts_as_present()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.Fake.FailNext(1, 409, "POST", "/crm/v3/properties/companies");

        var result = await hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken);

        result.AlreadyPresent.ShouldBe(["healthscoring_account_id"]);
        result.Created.Count.ShouldBe(OurProperties.Length - 1);
    }

    [Fact]
    public async Task A_property_of_another_type_is_reported_and_left_alone()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.Fake.DefineCompanyProperty(HubSpotPropertyNames.HealthScore, "string", "text", "healthscoring");

        var result = await hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken);

        var mismatch = result.Mismatched.ShouldHaveSingleItem();
        mismatch.Name.ShouldBe(HubSpotPropertyNames.HealthScore);
        mismatch.Actual.ShouldBe("type string");
        result.CreatedGroup.ShouldBeFalse();
        hub.Fake.CompanyProperties.Single(p => p.Name == HubSpotPropertyNames.HealthScore).Type.ShouldBe("string");
    }
}

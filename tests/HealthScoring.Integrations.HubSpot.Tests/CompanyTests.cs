using HealthScoring.Testing.Fakes.HubSpot;

namespace HealthScoring.Integrations.HubSpot.Tests;

public sealed class CompanyTests
{
    private const string SearchPath = "/crm/v3/objects/companies/search";
    private const string BatchUpdatePath = "/crm/v3/objects/companies/batch/update";
    private static readonly DateTimeOffset ScoredAt = new(2026, 11, 21, 9, 30, 0, TimeSpan.Zero);

    private static CompanyUpdate Update(string accountId, double score = 72.456) =>
        new(accountId, score, HealthBand.Watch, ScoredAt)
        {
            ChurnRiskPercent = 31.5,
            ExpansionLikelihoodPercent = 8,
            TopDrivers = ["usage down 66 % vs the previous 4 weeks", "2 failed payments"],
        };

    [Fact]
    public async Task Accounts_map_to_companies_by_the_account_id_property_and_are_cached()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(3);
        hub.Fake.AddCompany("No account id");

        var found = await hub.Client.FindCompanyIdsAsync(["acc_0001", "acc_0003", "acc_9999"], TestContext.Current.CancellationToken);

        found.ShouldBe(new Dictionary<string, string> { ["acc_0001"] = companies["acc_0001"], ["acc_0003"] = companies["acc_0003"] }, ignoreOrder: true);
        hub.Fake.CallsTo("POST", SearchPath).Count.ShouldBe(1);

        var again = await hub.Client.FindCompanyIdsAsync(["acc_0001", "acc_0003"], TestContext.Current.CancellationToken);

        again.Count.ShouldBe(2);
        hub.Fake.CallsTo("POST", SearchPath).Count.ShouldBe(1);
    }

    [Fact]
    public async Task When_two_companies_carry_one_account_id_the_oldest_wins()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.Fake.DefineCompanyProperty("healthscoring_account_id", groupName: "healthscoring");
        var first = hub.Fake.AddCompany("First", properties: new Dictionary<string, string?> { ["healthscoring_account_id"] = "acc_1" });
        hub.Fake.AddCompany("Duplicate", properties: new Dictionary<string, string?> { ["healthscoring_account_id"] = "ACC_1" });

        var found = await hub.Client.FindCompanyIdsAsync(["acc_1"], TestContext.Current.CancellationToken);

        found["acc_1"].ShouldBe(first);
        hub.Logs.Lines.ShouldContain(l => l.Text.Contains("Several HubSpot companies", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_batch_update_of_250_companies_takes_three_calls()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(250);

        var result = await hub.Client.UpdateCompaniesAsync([.. companies.Keys.Select(a => Update(a))], TestContext.Current.CancellationToken);

        result.Updated.Count.ShouldBe(250);
        result.NotFoundAccountIds.ShouldBeEmpty();
        result.Rejected.ShouldBeEmpty();
        var batches = hub.Fake.CallsTo("POST", BatchUpdatePath);
        batches.Count.ShouldBe(3);
        batches.ShouldAllBe(c => c.StatusCode == 200);
        hub.Fake.CallsTo("POST", SearchPath).Count.ShouldBe(3);

        var company = hub.Fake.Company(companies["acc_0137"])!;
        company[HubSpotPropertyNames.HealthScore].ShouldBe("72.46");
        company[HubSpotPropertyNames.HealthBand].ShouldBe("watch");
        company[HubSpotPropertyNames.ChurnRiskPercent].ShouldBe("31.5");
        company[HubSpotPropertyNames.ExpansionLikelihoodPercent].ShouldBe("8");
        company[HubSpotPropertyNames.TopDrivers].ShouldBe("usage down 66 % vs the previous 4 weeks\n2 failed payments");
        company[HubSpotPropertyNames.ScoreUpdatedAt].ShouldBe("2026-11-21T09:30:00.000Z");
        hub.Fake.Companies.ShouldAllBe(c => c[HubSpotPropertyNames.HealthBand] == "watch");
    }

    [Fact]
    public async Task Accounts_without_a_company_and_bad_values_are_reported_and_not_sent()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(2);

        var result = await hub.Client.UpdateCompaniesAsync(
            [Update("acc_0001"), Update("acc_0002", score: double.NaN), Update("acc_0404"), Update("acc_0001", score: 12) with { Band = HealthBand.AtRisk }],
            TestContext.Current.CancellationToken);

        result.Updated.ShouldBe([new UpdatedCompany("acc_0001", companies["acc_0001"])]);
        result.NotFoundAccountIds.ShouldBe(["acc_0404"]);
        result.Rejected.ShouldHaveSingleItem().AccountId.ShouldBe("acc_0002");
        var company = hub.Fake.Company(companies["acc_0001"])!;
        company[HubSpotPropertyNames.HealthScore].ShouldBe("12");
        company[HubSpotPropertyNames.HealthBand].ShouldBe("at-risk");
        hub.Fake.Company(companies["acc_0002"])![HubSpotPropertyNames.HealthScore].ShouldBeNull();
    }

    [Fact]
    public async Task A_value_HubSpot_refuses_is_a_clear_exception_without_retry()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        // The band property exists in the portal without the at-risk option (an admin edited it).
        hub.Fake.DefineCompanyProperty(HubSpotPropertyNames.HealthBand, "enumeration", "select", "healthscoring",
            [new FakeHubSpotOption("Healthy", "healthy"), new FakeHubSpotOption("Watch", "watch")]);
        hub.AddAccounts(1);

        var error = await Should.ThrowAsync<HubSpotApiException>(() =>
            hub.Client.UpdateCompaniesAsync([Update("acc_0001") with { Band = HealthBand.AtRisk }], TestContext.Current.CancellationToken));

        error.StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
        error.Category.ShouldBe("VALIDATION_ERROR");
        error.IsTransient.ShouldBeFalse();
        error.HubSpotMessage.ShouldNotBeNull().ShouldContain("at-risk was not one of the allowed options");
        error.Message.ShouldContain("POST /crm/v3/objects/companies/batch/update answered 400");
        hub.Fake.CallsTo("POST", BatchUpdatePath).Count.ShouldBe(1);
    }
}

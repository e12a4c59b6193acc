using HealthScoring.Testing.Fakes.HubSpot;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task The_access_token_never_appears_in_logs_or_errors()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        var owner = hub.Fake.AddOwner("sam@example.com");
        await hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken);
        var companies = hub.AddAccounts(2, owner.Id);
        hub.Fake.FailNext(1, 500);
        await hub.Client.UpdateCompaniesAsync(
            [.. companies.Keys.Select(a => new CompanyUpdate(a, 40, HealthBand.Watch, DateTimeOffset.UnixEpoch))], TestContext.Current.CancellationToken);
        await hub.Client.CreateTaskAsync(new TaskRequest("alert-1", "acc_0001", "Check in", ["usage down"]), TestContext.Current.CancellationToken);
        hub.Fake.FailNext(1, 400);
        var error = await Should.ThrowAsync<HubSpotApiException>(() =>
            hub.Client.UpdateCompaniesAsync([new CompanyUpdate("acc_0002", 41, HealthBand.Watch, DateTimeOffset.UnixEpoch)], TestContext.Current.CancellationToken));

        var lines = hub.Logs.Lines;
        lines.Count.ShouldBeGreaterThan(20);
        // HttpClient's own trace of each request, headers included, is among them.
        lines.ShouldContain(l => l.Level == LogLevel.Trace && l.Text.Contains("Authorization", StringComparison.Ordinal));
        lines.ShouldAllBe(l => !l.Text.Contains(hub.Fake.AccessToken, StringComparison.Ordinal));
        error.ToString().ShouldNotContain(hub.Fake.AccessToken);
        hub.Client.ToString()!.ShouldNotContain(hub.Fake.AccessToken);
        new HubSpotOptions { AccessToken = hub.Fake.AccessToken }.ToString().ShouldNotContain(hub.Fake.AccessToken);
    }

    [Fact]
    public async Task Without_a_token_the_integration_is_off_and_says_so_once()
    {
        var logs = new CapturedLogs();
        var services = new ServiceCollection()
            .AddLogging(l => l.AddProvider(logs))
            .AddHubSpot(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["HubSpot:BaseUrl"] = "http://127.0.0.1:9/" }).Build());
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<HubSpotClient>();
        var another = provider.GetRequiredService<HubSpotClient>();

        client.IsEnabled.ShouldBeFalse();
        another.IsEnabled.ShouldBeFalse();
        provider.GetRequiredService<HubSpotIntegrationStatus>().IsEnabled.ShouldBeFalse();
        logs.Lines.Where(l => l.Text.Contains("HubSpot integration is off", StringComparison.Ordinal)).ShouldHaveSingleItem();
        await Should.ThrowAsync<InvalidOperationException>(() => client.EnsurePropertiesAsync(TestContext.Current.CancellationToken));
        await Should.ThrowAsync<InvalidOperationException>(() => client.FindCompanyIdsAsync(["a"], TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_token_can_come_from_the_HubSpot__AccessToken_environment_variable()
    {
        await using var fake = await FakeHubSpot.StartNewAsync(cancellationToken: TestContext.Current.CancellationToken);
        Environment.SetEnvironmentVariable("HubSpot__AccessToken", fake.AccessToken);
        Environment.SetEnvironmentVariable("HubSpot__BaseUrl", fake.BaseAddress.ToString());
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            await using var provider = new ServiceCollection().AddLogging().AddHubSpot(configuration).BuildServiceProvider();
            var client = provider.GetRequiredService<HubSpotClient>();

            client.IsEnabled.ShouldBeTrue();
            (await client.EnsurePropertiesAsync(TestContext.Current.CancellationToken)).CreatedGroup.ShouldBeTrue();
        }
        finally
        {
            Environment.SetEnvironmentVariable("HubSpot__AccessToken", null);
            Environment.SetEnvironmentVariable("HubSpot__BaseUrl", null);
        }
    }

    [Fact]
    public async Task Settings_that_would_break_HubSpot_limits_are_refused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HubSpot:AccessToken"] = "pat-na1-test",
            ["HubSpot:MaxRequestsPer10Seconds"] = "300",
            ["HubSpot:BatchSize"] = "250",
        }).Build();
        await using var provider = new ServiceCollection().AddLogging().AddHubSpot(configuration).BuildServiceProvider();

        var error = Should.Throw<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<HubSpotClient>());

        error.Message.ShouldContain("MaxRequestsPer10Seconds");
        error.Message.ShouldContain("BatchSize");
    }
}

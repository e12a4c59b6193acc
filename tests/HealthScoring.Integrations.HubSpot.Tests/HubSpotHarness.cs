using HealthScoring.Testing.Fakes.HubSpot;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot.Tests;

/// <summary>
/// A fake HubSpot plus a container wired the way the host wires it (<c>AddHubSpot</c> over configuration), with
/// test-sized delays and every log line captured.
/// </summary>
public sealed class HubSpotHarness : IAsyncDisposable
{
    private readonly List<ServiceProvider> _providers = [];

    private HubSpotHarness(FakeHubSpot fake) => Fake = fake;

    public FakeHubSpot Fake { get; }

    public CapturedLogs Logs { get; } = new();

    /// <summary>The client of the first "process".</summary>
    public HubSpotClient Client => _providers[0].GetRequiredService<HubSpotClient>();

    public static async Task<HubSpotHarness> StartAsync(FakeHubSpotOptions? fake = null, Action<HubSpotOptions>? client = null, string? token = null)
    {
        var harness = new HubSpotHarness(await FakeHubSpot.StartNewAsync(fake, TestContext.Current.CancellationToken));
        harness.NewProcess(client, token);
        return harness;
    }

    /// <summary>
    /// A second container against the same fake: new singletons (limiter, caches), as after a restart or in another
    /// instance of the service.
    /// </summary>
    public IServiceProvider NewProcess(Action<HubSpotOptions>? client = null, string? token = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["HubSpot:BaseUrl"] = Fake.BaseAddress.ToString(),
                ["HubSpot:AccessToken"] = token ?? Fake.AccessToken,
            })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        services.AddHubSpot(configuration, options =>
        {
            options.RetryBaseDelay = TimeSpan.FromMilliseconds(50);
            options.MaxRetryDelay = TimeSpan.FromSeconds(5);
            options.AttemptTimeout = TimeSpan.FromSeconds(10);
            options.MaxRequestsPer10Seconds = 150;
            client?.Invoke(options);
        });
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    /// <summary>Defines our company properties in the fake directly (no requests), as an earlier setup run would have.</summary>
    public void DefineHealthProperties(HubSpotOptions? options = null)
    {
        foreach (var property in HubSpotClient.PropertyDefinitions(options ?? new HubSpotOptions()))
        {
            Fake.DefineCompanyProperty(
                property.Name, property.Type, property.FieldType, property.GroupName,
                [.. (property.Options ?? []).Select(o => new FakeHubSpotOption(o.Label, o.Value))],
                property.HasUniqueValue == true);
        }
    }

    /// <summary>Adds companies carrying account ids <c>acc_0001</c>… (directly, no requests); returns account → company.</summary>
    public Dictionary<string, string> AddAccounts(int count, string? ownerId = null, int start = 1)
    {
        var companies = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = start; i < start + count; i++)
        {
            var accountId = $"acc_{i:0000}";
            companies[accountId] = Fake.AddCompany($"Company {i}", ownerId, new Dictionary<string, string?> { ["healthscoring_account_id"] = accountId });
        }

        return companies;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await Fake.DisposeAsync();
    }
}

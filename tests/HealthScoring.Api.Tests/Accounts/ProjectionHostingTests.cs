using HealthScoring.Api.Accounts;
using HealthScoring.Api.Alerts;
using HealthScoring.EventStore.Subscriptions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthScoring.Api.Tests.Accounts;

/// <summary>The host with Accounts:RunProjection=false, as an ingest-only host beside one that runs the projection.</summary>
public sealed class IngestOnlyApiFixture : ApiFixture
{
    protected override void Configure(IWebHostBuilder web) => web.UseSetting(AccountsExtensions.RunProjectionKey, "false");
}

public sealed class ProjectionHostingTests(IngestOnlyApiFixture fixture) : IClassFixture<IngestOnlyApiFixture>
{
    [Fact]
    public void An_ingest_only_host_runs_no_account_daily_projection_but_still_publishes_alerts()
    {
        var runners = fixture.Factory.Services.GetServices<IHostedService>().OfType<SubscriptionRunner>().Select(r => r.Name).ToList();

        runners.ShouldNotContain(AccountDailyProjection.SubscriptionName);
        runners.ShouldContain(AlertPublisher.SubscriptionName);
    }
}

using HealthScoring.Api.Accounts;
using HealthScoring.Api.Alerts;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using HealthScoring.Testing.Scenarios;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

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

    // Regression: under steady ingest (the soak benchmark) `healthscore score` waited until ingest stopped, as the
    // wait asked for a moment with nothing after the leader's checkpoint rather than for what was stored before it.
    [Fact]
    public async Task Waiting_for_the_leading_projection_needs_what_was_stored_before_the_call_not_what_is_appended_meanwhile()
    {
        var ct = TestContext.Current.CancellationToken;
        var rebuilder = fixture.Service<ProjectionRebuilder>();
        var store = fixture.Service<IEventStore>();
        var day = new DateOnly(2026, 11, 2);

        // What was stored before the call, already handled by the leader (this host runs no projection: the test leads it).
        await InactivityScenario.RecordActivityAsync(store, "acme", ["wait-before"], day, ct);
        await rebuilder.CatchUpAsync(null, ct);

        // A transaction older than the call stays open, so the wait's first poll finds its horizon not yet passed.
        var dataSource = fixture.Service<NpgsqlDataSource>();
        await using var older = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await older.BeginTransactionAsync(ct);
        await using (var xid = new NpgsqlCommand("select pg_current_xact_id()", older, tx))
        {
            await xid.ExecuteScalarAsync(ct);
        }

        using var polls = new Polls();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var waiting = rebuilder.WaitForLeaderAsync(polls, stop.Token);
        await polls.NextAsync(ct);

        // Appended after the call (its transaction is past the horizon) and never projected: the leader need not reach it.
        await InactivityScenario.RecordActivityAsync(store, "acme", ["wait-meanwhile"], day, ct);
        await tx.RollbackAsync(ct);

        // Two more polls once the call's horizon has passed (other sessions' transactions on the shared server may
        // hold it back a while), unless the wait ends first.
        await LogHorizon.WaitUntilReadableAsync(dataSource, TimeSpan.FromMilliseconds(50), ct);
        var seen = polls.Count;
        while (!waiting.IsCompleted && polls.Count < seen + 2)
        {
            await Task.WhenAny(waiting, polls.NextAsync(ct));
        }

        await stop.CancelAsync();
        waiting.IsCompletedSuccessfully.ShouldBeTrue("the wait went on polling for an event appended after it began");
    }

    /// <summary>Counts the wait's polls (it reports each one) and lets the test await the next.</summary>
    private sealed class Polls : IProgress<long>, IDisposable
    {
        private readonly SemaphoreSlim _next = new(0);
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Report(long value)
        {
            Interlocked.Increment(ref _count);
            _next.Release();
        }

        public Task NextAsync(CancellationToken cancellationToken) => _next.WaitAsync(cancellationToken);

        public void Dispose() => _next.Dispose();
    }
}

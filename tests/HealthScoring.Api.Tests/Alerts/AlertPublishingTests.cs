using System.Collections.Concurrent;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using M = HealthScoring.Contracts.Messages;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host with its bus on a RabbitMQ virtual host of its own.</summary>
public sealed class BusApiFixture : ApiFixture
{
    public RabbitMqVhost Vhost { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Vhost = await RabbitMqVhost.CreateAsync();
        await base.InitializeAsync();
    }

    protected override void Configure(IWebHostBuilder web) => web.UseSetting("RabbitMq:VirtualHost", Vhost.Name);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Vhost.DisposeAsync();
    }
}

public sealed class AlertPublishingTests(BusApiFixture fixture) : IClassFixture<BusApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Alerts_appended_to_the_log_reach_rabbitmq_once_each_with_the_event_id_as_message_id()
    {
        var received = new ConcurrentBag<(Guid? MessageId, string Kind, string Account)>();
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(RabbitMqVhost.Host, RabbitMqVhost.Port, fixture.Vhost.Name, h =>
            {
                h.Username(RabbitMqVhost.Username);
                h.Password(RabbitMqVhost.Password);
            });
            rabbit.ReceiveEndpoint("test-alerts", e =>
            {
                e.Handler<M.AccountBecameAtRisk>(c => Record(c, "at-risk", c.Message.AccountId));
                e.Handler<M.AccountHealthScored>(c => Record(c, "scored", c.Message.AccountId));
            });
        });
        Task Record(ConsumeContext context, string kind, string account)
        {
            received.Add((context.MessageId, kind, account));
            return Task.CompletedTask;
        }

        await bus.StartAsync(Ct);
        try
        {
            var account = $"pub-{Guid.NewGuid():N}";
            var atRisk = new NewEvent(Guid.NewGuid(), new AccountBecameAtRisk(new DateOnly(2026, 9, 1), "a1", 25, 0.8, "owner@x", [new ScoreDriver("days_since_last_activity", 23, 0.9, "no activity for 23 days")]));
            var scored = new NewEvent(Guid.NewGuid(), new AccountHealthScored(new DateOnly(2026, 9, 1), 25, "at-risk", 0.8, null, 1, null, null, [], [], new Dictionary<string, double>()));
            await fixture.Service<IEventStore>().AppendToStreamAsync("acme", IngestionPipeline.AccountStream(account), ExpectedVersion.NoStream, [scored, atRisk], Ct);

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (received.Count(r => r.Account == account) < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }

            await Task.Delay(1000, Ct); // a duplicate would arrive now
            var mine = received.Where(r => r.Account == account).ToList();
            mine.Select(r => (r.MessageId, r.Kind)).ShouldBe([(scored.EventId, "scored"), (atRisk.EventId, "at-risk")], ignoreOrder: true);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void Only_account_streams_scores_and_alerts_become_messages() =>
        AlertPublisher.ToMessage(new RecordedEvent(LogPosition.Start, "t", "unassigned:u1", 1, Guid.NewGuid(), "health.account_scored",
            new AccountHealthScored(new DateOnly(2026, 9, 1), 50, "watch", 0.3, null, 1, null, null, [], [], new Dictionary<string, double>()), "{}", new EventMetadata(), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).ShouldBeNull();
}

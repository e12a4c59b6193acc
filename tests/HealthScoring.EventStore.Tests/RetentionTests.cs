namespace HealthScoring.EventStore.Tests;

public sealed class RetentionTests(PostgresSchemaFixtureForRetention fixture) : IClassFixture<PostgresSchemaFixtureForRetention>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Purging_removes_only_old_events_of_the_given_types_of_one_tenant_and_never_unprocessed_ones()
    {
        var store = fixture.CreateStore(TestEvents.Registry());
        var old = DateTimeOffset.UtcNow.AddDays(-400);
        await store.AppendToStreamAsync("acme", "a", ExpectedVersion.Any,
            [TestEvents.Usage("old", occurredAt: old), TestEvents.Usage("new"), new NewEvent(Guid.NewGuid(), new PlanChanged("pro", 3), OccurredAt: old)], Ct);
        await store.AppendToStreamAsync("globex", "a", ExpectedVersion.Any, [TestEvents.Usage("old", occurredAt: old)], Ct);

        // A subscription that has processed nothing yet holds everything back.
        await using (var checkpoint = fixture.DataSource.CreateCommand($"insert into {fixture.Schema}.subscriptions (name, tx_id, seq) values ('slow', '0', 0)"))
        {
            await checkpoint.ExecuteNonQueryAsync(Ct);
        }

        (await store.PurgeAsync("acme", ["UsageRecorded"], DateTimeOffset.UtcNow.AddDays(-365), Ct)).ShouldBe(0);

        await using (var caughtUp = fixture.DataSource.CreateCommand($"update {fixture.Schema}.subscriptions set tx_id = '9999999999', seq = 0"))
        {
            await caughtUp.ExecuteNonQueryAsync(Ct);
        }

        (await store.PurgeAsync("acme", ["UsageRecorded"], DateTimeOffset.UtcNow.AddDays(-365), Ct)).ShouldBe(1);

        var acme = await store.ReadStreamAsync("acme", "a", cancellationToken: Ct).ToListAsync(Ct);
        acme.Select(e => e.StreamVersion).ShouldBe([2L, 3L], "versions are kept; the stream starts later");
        acme[1].Data.ShouldBeOfType<PlanChanged>();
        (await store.ReadStreamAsync("globex", "a", cancellationToken: Ct).CountAsync(Ct)).ShouldBe(1, "other tenants are untouched");
        (await store.AppendToStreamAsync("acme", "a", ExpectedVersion.Exactly(3), [TestEvents.Usage()], Ct)).StreamVersion.ShouldBe(4);
    }
}

public sealed class PostgresSchemaFixtureForRetention : Testing.PostgresSchemaFixture;

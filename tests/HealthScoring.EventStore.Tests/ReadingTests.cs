using System.Text.Json.Nodes;
using HealthScoring.EventStore.Subscriptions;
using Npgsql;

namespace HealthScoring.EventStore.Tests;

public sealed class ReadingTests(PostgresSchemaFixtureForReads fixture) : IClassFixture<PostgresSchemaFixtureForReads>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_event_of_a_type_this_process_does_not_know_is_surfaced_not_crashed_on()
    {
        var writerRegistry = TestEvents.Registry().Register<NotRegistered>("SomethingNew");
        var stream = $"s-{Guid.NewGuid():N}";
        await fixture.CreateStore(writerRegistry).AppendToStreamAsync("acme", stream, ExpectedVersion.Any,
            [TestEvents.Usage(), new NewEvent(Guid.NewGuid(), new NotRegistered("hello"))], Ct);

        var read = await fixture.CreateStore(TestEvents.Registry()).ReadStreamAsync("acme", stream, cancellationToken: Ct).ToListAsync(Ct);

        read.Count.ShouldBe(2);
        read[0].IsUnknownType.ShouldBeFalse();
        read[1].IsUnknownType.ShouldBeTrue();
        read[1].EventType.ShouldBe("SomethingNew");
        read[1].Json.ShouldContain("hello");
    }

    [Fact]
    public async Task An_upcaster_turns_an_old_event_version_into_the_current_type_at_read_time()
    {
        var stream = $"s-{Guid.NewGuid():N}";
        // A v1 event, written by an older build: {"plan":"pro"} without seats.
        await using (var insert = fixture.DataSource.CreateCommand(
            $"insert into {fixture.Schema}.events (tenant_id, stream_id, stream_version, event_id, type, data, occurred_at) values ('acme', $1, 1, gen_random_uuid(), 'PlanChanged.v1', '{{\"plan\":\"pro\"}}', now())"))
        {
            insert.Parameters.AddWithValue(stream);
            await insert.ExecuteNonQueryAsync(Ct);
        }

        var registry = TestEvents.Registry().AddUpcaster("PlanChanged.v1", nameof(PlanChanged), old =>
        {
            old["seats"] = 1;
            return old;
        });
        var read = await fixture.CreateStore(registry).ReadStreamAsync("acme", stream, cancellationToken: Ct).SingleAsync(Ct);

        read.EventType.ShouldBe(nameof(PlanChanged));
        read.Data.ShouldBe(new PlanChanged("pro", 1));
        JsonNode.Parse(read.Json)!["seats"].ShouldBeNull("the log itself is never rewritten");
    }

    [Fact]
    public async Task Reading_all_pages_through_the_log_in_order_and_never_past_an_unfinished_transaction()
    {
        var store = fixture.CreateStore(TestEvents.Registry());
        var tenant = $"t-{Guid.NewGuid():N}";
        var start = await HeadAsync(store);

        // A slow writer: its transaction gets the smaller sequence number but commits last.
        await using var slow = await fixture.DataSource.OpenConnectionAsync(Ct);
        await using var slowTx = await slow.BeginTransactionAsync(Ct);
        await using (var insert = new NpgsqlCommand(
            $"insert into {fixture.Schema}.events (tenant_id, stream_id, stream_version, event_id, type, data, occurred_at) values ($1, 'slow', 1, gen_random_uuid(), 'UsageRecorded', '{{\"name\":\"slow\",\"count\":1}}', now())", slow, slowTx))
        {
            insert.Parameters.AddWithValue(tenant);
            await insert.ExecuteNonQueryAsync(Ct);
        }

        await store.AppendToStreamAsync(tenant, "fast", ExpectedVersion.Any, [TestEvents.Usage("fast")], Ct);

        var whileOpen = await store.ReadAllAsync(start, 1000, tenant, Ct);
        whileOpen.Events.ShouldBeEmpty("the fast event sits behind an unfinished transaction and must wait, not be passed over");

        await slowTx.CommitAsync(Ct);
        // Other tests' transactions (anywhere in the cluster) can hold the log's readable end back for a moment too:
        // wait until every transaction older than now has ended, as a subscription's catch-up does.
        var horizon = await LogHorizon.NowAsync(fixture.DataSource, Ct);
        while (!await LogHorizon.HasPassedAsync(fixture.DataSource, horizon, Ct))
        {
            await Task.Delay(20, Ct);
        }

        var afterCommit = await store.ReadAllAsync(start, 1000, tenant, Ct);
        afterCommit.Events.Select(e => ((UsageRecorded)e.Data!).Name).ShouldBe(["slow", "fast"]);

        var firstPage = await store.ReadAllAsync(start, 1, tenant, Ct);
        var secondPage = await store.ReadAllAsync(firstPage.LastPosition, 1, tenant, Ct);
        var thirdPage = await store.ReadAllAsync(secondPage.LastPosition, 1, tenant, Ct);
        firstPage.Events.ShouldHaveSingleItem().StreamId.ShouldBe("slow");
        secondPage.Events.ShouldHaveSingleItem().StreamId.ShouldBe("fast");
        thirdPage.Events.ShouldBeEmpty();
        thirdPage.LastPosition.ShouldBe(secondPage.LastPosition);
    }

    [Fact]
    public void Log_positions_order_by_transaction_then_sequence_and_round_trip_as_text()
    {
        var a = new LogPosition(10, 500);
        var b = new LogPosition(11, 3);
        (a < b).ShouldBeTrue();
        LogPosition.Parse(a.ToString()).ShouldBe(a);
        LogPosition.TryParse("12", out _).ShouldBeFalse();
        LogPosition.TryParse("x/1", out _).ShouldBeFalse();
        Should.Throw<FormatException>(() => LogPosition.Parse("-1/2"));
    }

    private static async Task<LogPosition> HeadAsync(PostgresEventStore store)
    {
        var position = LogPosition.Start;
        while (true)
        {
            var page = await store.ReadAllAsync(position, 10_000, null, Ct);
            if (page.Events.Count == 0)
            {
                return position;
            }

            position = page.LastPosition;
        }
    }
}

public sealed class PostgresSchemaFixtureForReads : Testing.PostgresSchemaFixture;

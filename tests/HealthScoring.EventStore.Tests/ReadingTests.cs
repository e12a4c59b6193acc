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
    public async Task Omitted_fields_of_the_named_types_are_left_out_of_the_data_and_other_types_come_whole()
    {
        var store = fixture.CreateStore(TestEvents.Registry());
        var tenant = $"t-{Guid.NewGuid():N}";
        var stream = $"s-{Guid.NewGuid():N}";
        await store.AppendToStreamAsync(tenant, stream, ExpectedVersion.Any,
            [TestEvents.Usage("a", 7), new NewEvent(Guid.NewGuid(), new PlanChanged("pro", 3)), TestEvents.Usage("b", 2)], Ct);
        await LogHorizon.WaitUntilReadableAsync(fixture.DataSource, TimeSpan.FromMilliseconds(20), Ct);
        var omit = new DataOmission([typeof(UsageRecorded)], ["count"]);

        var all = await store.ReadAllAsync(LogPosition.Start, 1_000, tenant, omit, Ct);
        var typed = await store.ReadAllOfTypesAsync(LogPosition.Start, 1_000, [typeof(UsageRecorded), typeof(PlanChanged)], tenant, omit, Ct);

        foreach (var page in new[] { all, typed })
        {
            page.Events.Select(e => e.Data).ShouldBe([new UsageRecorded("a", 0), new PlanChanged("pro", 3), new UsageRecorded("b", 0)]);
            JsonNode.Parse(page.Events[0].Json)!["count"].ShouldBeNull();
        }

        (await store.ReadAllAsync(LogPosition.Start, 1_000, tenant, cancellationToken: Ct)).Events[0].Data.ShouldBe(new UsageRecorded("a", 7), "the log keeps every field");
    }

    [Fact]
    public async Task Reading_all_pages_through_the_log_in_order_and_never_past_an_unfinished_transaction()
    {
        var store = fixture.CreateStore(TestEvents.Registry());
        var tenant = $"t-{Guid.NewGuid():N}";
        var start = await HeadAsync(store);

        // A slow writer: its transaction gets the smaller sequence number but commits last.
        var (slow, slowTx) = await BeginSlowWriterAsync(tenant, nameof(UsageRecorded), """{"name":"slow","count":1}""");
        await using var slowConnection = slow;
        await using var slowTransaction = slowTx;

        await store.AppendToStreamAsync(tenant, "fast", ExpectedVersion.Any, [TestEvents.Usage("fast")], Ct);

        var whileOpen = await store.ReadAllAsync(start, 1000, tenant, cancellationToken: Ct);
        whileOpen.Events.ShouldBeEmpty("the fast event sits behind an unfinished transaction and must wait, not be passed over");

        await slowTx.CommitAsync(Ct);
        await LogHorizon.WaitUntilReadableAsync(fixture.DataSource, TimeSpan.FromMilliseconds(20), Ct);
        var afterCommit = await store.ReadAllAsync(start, 1000, tenant, cancellationToken: Ct);
        afterCommit.Events.Select(e => ((UsageRecorded)e.Data!).Name).ShouldBe(["slow", "fast"]);

        var firstPage = await store.ReadAllAsync(start, 1, tenant, cancellationToken: Ct);
        var secondPage = await store.ReadAllAsync(firstPage.LastPosition, 1, tenant, cancellationToken: Ct);
        var thirdPage = await store.ReadAllAsync(secondPage.LastPosition, 1, tenant, cancellationToken: Ct);
        firstPage.Events.ShouldHaveSingleItem().StreamId.ShouldBe("slow");
        secondPage.Events.ShouldHaveSingleItem().StreamId.ShouldBe("fast");
        thirdPage.Events.ShouldBeEmpty();
        thirdPage.LastPosition.ShouldBe(secondPage.LastPosition);
    }

    [Fact]
    public async Task Reading_only_some_types_skips_the_others_in_the_database_and_moves_past_them()
    {
        var stream = $"s-{Guid.NewGuid():N}";
        var tenant = $"t-{Guid.NewGuid():N}";
        // A PlanChanged.v1 event from an older build reads as PlanChanged, so it is one of the wanted.
        await using (var insert = fixture.DataSource.CreateCommand(
            $"insert into {fixture.Schema}.events (tenant_id, stream_id, stream_version, event_id, type, data, occurred_at) values ($1, $2, 1, gen_random_uuid(), 'PlanChanged.v1', '{{\"plan\":\"old\"}}', now())"))
        {
            insert.Parameters.AddWithValue(tenant);
            insert.Parameters.AddWithValue($"{stream}-old");
            await insert.ExecuteNonQueryAsync(Ct);
        }

        var registry = TestEvents.Registry().AddUpcaster("PlanChanged.v1", nameof(PlanChanged), old =>
        {
            old["seats"] = 1;
            return old;
        });
        var store = fixture.CreateStore(registry);
        await store.AppendToStreamAsync(tenant, stream, ExpectedVersion.Any,
            [TestEvents.Usage("a"), new NewEvent(Guid.NewGuid(), new PlanChanged("pro", 3)), TestEvents.Usage("b"), new NewEvent(Guid.NewGuid(), new Measured(1.5)), TestEvents.Usage("c")], Ct);

        await LogHorizon.WaitUntilReadableAsync(fixture.DataSource, TimeSpan.FromMilliseconds(20), Ct);
        var plans = await store.ReadAllOfTypesAsync(LogPosition.Start, 1_000, [typeof(PlanChanged)], tenant, cancellationToken: Ct);
        plans.Events.Select(e => e.Data).ShouldBe([new PlanChanged("old", 1), new PlanChanged("pro", 3)]);

        // The short page moved past the usage events after the last plan: reading on finds nothing of them again,
        // while the unfiltered log still has them all after the last plan's position.
        plans.LastPosition.ShouldBeGreaterThan(plans.Events[^1].Position);
        (await store.ReadAllOfTypesAsync(plans.LastPosition, 1_000, [typeof(UsageRecorded)], tenant, cancellationToken: Ct)).Events.ShouldBeEmpty();
        (await store.ReadAllAsync(plans.Events[^1].Position, 1_000, tenant, cancellationToken: Ct)).Events.Select(e => e.EventType)
            .ShouldBe([nameof(UsageRecorded), nameof(Measured), nameof(UsageRecorded)]);

        // A full page stops at its last event, as an unfiltered read does.
        var first = await store.ReadAllOfTypesAsync(LogPosition.Start, 1, [typeof(UsageRecorded), typeof(Measured)], tenant, cancellationToken: Ct);
        first.Events.ShouldHaveSingleItem().Data.ShouldBe(new UsageRecorded("a", 1));
        first.LastPosition.ShouldBe(first.Events[0].Position);
        var rest = await store.ReadAllOfTypesAsync(first.LastPosition, 1_000, [typeof(UsageRecorded), typeof(Measured)], tenant, cancellationToken: Ct);
        rest.Events.Select(e => e.Data).ShouldBe([new UsageRecorded("b", 1), new Measured(1.5), new UsageRecorded("c", 1)]);
    }

    [Fact]
    public async Task A_filtered_read_never_moves_past_an_unfinished_transaction()
    {
        var store = fixture.CreateStore(TestEvents.Registry());
        var tenant = $"t-{Guid.NewGuid():N}";
        var start = await HeadAsync(store);
        var (slow, slowTx) = await BeginSlowWriterAsync(tenant, nameof(Measured), """{"value":2}""");
        await using var slowConnection = slow;
        await using var slowTransaction = slowTx;

        await store.AppendToStreamAsync(tenant, "fast", ExpectedVersion.Any, [TestEvents.Usage("fast")], Ct);
        var whileOpen = await store.ReadAllOfTypesAsync(start, 1_000, [typeof(Measured)], tenant, cancellationToken: Ct);
        whileOpen.Events.ShouldBeEmpty();

        await slowTx.CommitAsync(Ct);
        var afterCommit = await store.ReadAllOfTypesAsync(whileOpen.LastPosition, 1_000, [typeof(Measured)], tenant, cancellationToken: Ct);
        afterCommit.Events.ShouldHaveSingleItem().Data.ShouldBe(new Measured(2), "the position skipped past nothing the open transaction wrote");
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

    /// <summary>An open transaction that has written one event to stream "slow" of <paramref name="tenant"/>; the caller commits it later.</summary>
    private async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> BeginSlowWriterAsync(string tenant, string type, string json)
    {
        var connection = await fixture.DataSource.OpenConnectionAsync(Ct);
        var tx = await connection.BeginTransactionAsync(Ct);
        await using var insert = new NpgsqlCommand(
            $"insert into {fixture.Schema}.events (tenant_id, stream_id, stream_version, event_id, type, data, occurred_at) values ($1, 'slow', 1, gen_random_uuid(), $2, $3::jsonb, now())", connection, tx);
        insert.Parameters.AddWithValue(tenant);
        insert.Parameters.AddWithValue(type);
        insert.Parameters.AddWithValue(json);
        await insert.ExecuteNonQueryAsync(Ct);
        return (connection, tx);
    }

    private static async Task<LogPosition> HeadAsync(PostgresEventStore store)
    {
        var position = LogPosition.Start;
        while (true)
        {
            var page = await store.ReadAllAsync(position, 10_000, cancellationToken: Ct);
            if (page.Events.Count == 0)
            {
                return position;
            }

            position = page.LastPosition;
        }
    }
}

public sealed class PostgresSchemaFixtureForReads : Testing.PostgresSchemaFixture;

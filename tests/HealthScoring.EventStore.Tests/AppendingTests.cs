using HealthScoring.EventStore.Subscriptions;
using Npgsql;

namespace HealthScoring.EventStore.Tests;

public sealed class AppendingTests(PostgresSchemaFixtureForAppends fixture) : IClassFixture<PostgresSchemaFixtureForAppends>
{
    private readonly PostgresEventStore _store = fixture.CreateStore(TestEvents.Registry());
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Appended_events_are_read_back_in_stream_order_with_their_data_and_metadata()
    {
        var stream = NewStream();
        var occurred = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.FromHours(2));
        var first = new NewEvent(Guid.NewGuid(), new UsageRecorded("login", 3), new EventMetadata("corr-1", "cause-1", "http"), occurred);
        var second = new NewEvent(Guid.NewGuid(), new PlanChanged("pro", 12));

        var result = await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.NoStream, [first, second], Ct);

        result.StreamVersion.ShouldBe(2);
        result.AppendedCount.ShouldBe(2);
        result.DuplicateEventIds.ShouldBeEmpty();
        var read = await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).ToListAsync(Ct);
        read.Select(e => e.StreamVersion).ShouldBe([1L, 2L]);
        read[0].Data.ShouldBe(new UsageRecorded("login", 3));
        read[0].EventType.ShouldBe("UsageRecorded");
        read[0].EventId.ShouldBe(first.EventId);
        read[0].Metadata.ShouldBe(new EventMetadata("corr-1", "cause-1", "http"));
        read[0].OccurredAt.ShouldBe(occurred);
        read[0].OccurredAt.Offset.ShouldBe(TimeSpan.Zero);
        read[1].Data.ShouldBe(new PlanChanged("pro", 12));
        read[0].Position.ShouldBeLessThan(read[1].Position);
        (await _store.GetStreamVersionAsync("acme", stream, Ct)).ShouldBe(2);
    }

    [Fact]
    public async Task Two_writers_at_the_same_expected_version_one_wins_and_the_other_gets_a_concurrency_exception()
    {
        var stream = NewStream();
        await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.NoStream, [TestEvents.Usage()], Ct);

        var writers = Enumerable.Range(0, 2).Select(i => Task.Run(() =>
            _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Exactly(1), [TestEvents.Usage($"writer-{i}"), TestEvents.Usage($"writer-{i}")], Ct), Ct)).ToArray();
        var outcomes = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                return (object)await w;
            }
            catch (ConcurrencyException ex)
            {
                return ex;
            }
        }));

        outcomes.OfType<AppendResult>().ShouldHaveSingleItem().StreamVersion.ShouldBe(3);
        var loser = outcomes.OfType<ConcurrencyException>().ShouldHaveSingleItem();
        loser.ActualVersion.ShouldBe(3);
        loser.Expected.ShouldBe(ExpectedVersion.Exactly(1));
        var events = await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).ToListAsync(Ct);
        events.Count.ShouldBe(3, "the loser wrote nothing");
        events.Skip(1).Select(e => ((UsageRecorded)e.Data!).Name).Distinct().ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Appending_with_a_stale_version_is_rejected_and_writes_nothing()
    {
        var stream = NewStream();
        await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Any, [TestEvents.Usage(), TestEvents.Usage()], Ct);

        var stale = await Should.ThrowAsync<ConcurrencyException>(() => _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Exactly(1), [TestEvents.Usage()], Ct));
        stale.ActualVersion.ShouldBe(2);
        var exists = await Should.ThrowAsync<ConcurrencyException>(() => _store.AppendToStreamAsync("acme", stream, ExpectedVersion.NoStream, [TestEvents.Usage()], Ct));
        exists.ActualVersion.ShouldBe(2);
        var missing = await Should.ThrowAsync<ConcurrencyException>(() => _store.AppendToStreamAsync("acme", NewStream(), ExpectedVersion.Exactly(1), [TestEvents.Usage()], Ct));
        missing.ActualVersion.ShouldBeNull();

        (await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).CountAsync(Ct)).ShouldBe(2);
    }

    [Fact]
    public async Task Duplicate_event_ids_are_skipped_and_reported()
    {
        var stream = NewStream();
        var a = TestEvents.Usage("a");
        var b = TestEvents.Usage("b");
        await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Any, [a], Ct);

        var c = TestEvents.Usage("c");
        var result = await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Any, [a, b, b, c], Ct);

        result.AppendedCount.ShouldBe(2);
        result.DuplicateEventIds.ShouldBe([a.EventId, b.EventId]);
        result.StreamVersion.ShouldBe(3);
        var names = await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).Select(e => ((UsageRecorded)e.Data!).Name).ToListAsync(Ct);
        names.ShouldBe(["a", "b", "c"]);
    }

    [Fact]
    public async Task Retrying_a_committed_append_at_its_old_expected_version_reports_duplicates_not_a_conflict()
    {
        var stream = NewStream();
        NewEvent[] batch = [TestEvents.Usage(), TestEvents.Usage()];
        await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.NoStream, batch, Ct);

        var retry = await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.NoStream, batch, Ct);

        retry.AppendedCount.ShouldBe(0);
        retry.DuplicateEventIds.Count.ShouldBe(2);
        retry.StreamVersion.ShouldBe(2);
    }

    [Fact]
    public async Task Bulk_append_spreads_events_over_many_streams_and_skips_duplicates()
    {
        var streams = Enumerable.Range(0, 50).Select(_ => NewStream()).ToArray();
        var events = Enumerable.Range(0, 1_000).Select(i => new StreamEvent(streams[i % streams.Length], TestEvents.Usage($"e{i}", i))).ToList();
        await _store.AppendToStreamAsync("acme", streams[0], ExpectedVersion.Any, [TestEvents.Usage("pre-existing")], Ct);

        var first = await _store.BulkAppendAsync("acme", events, Ct);
        first.AppendedCount.ShouldBe(1_000);
        first.DuplicateEventIds.ShouldBeEmpty();
        first.StreamVersions[streams[0]].ShouldBe(21);
        first.StreamVersions[streams[1]].ShouldBe(20);

        var again = await _store.BulkAppendAsync("acme", [.. events.Take(10), new StreamEvent(streams[3], TestEvents.Usage("new"))], Ct);
        again.AppendedCount.ShouldBe(1);
        again.DuplicateEventIds.Count.ShouldBe(10);

        var stream0 = await _store.ReadStreamAsync("acme", streams[0], cancellationToken: Ct).ToListAsync(Ct);
        stream0.Select(e => e.StreamVersion).ShouldBe(Enumerable.Range(1, 21).Select(v => (long)v));
        stream0.Skip(1).Select(e => ((UsageRecorded)e.Data!).Count).ShouldBe(Enumerable.Range(0, 20).Select(i => i * 50), "bulk append keeps each stream's events in call order");
    }

    [Fact]
    public async Task Bulk_appends_number_each_stream_without_gaps_when_another_store_writes_the_same_streams_in_between_or_at_once()
    {
        // Two store instances stand for two processes: each knows the versions it committed last, and is wrong
        // about every stream the other has written since.
        var other = fixture.CreateStore(TestEvents.Registry());
        var streams = Enumerable.Range(0, 20).Select(_ => NewStream()).ToArray();
        List<StreamEvent> Round(IEnumerable<string> to, int perStream, string tag) =>
            [.. Enumerable.Range(0, perStream).SelectMany(i => to.Select(s => new StreamEvent(s, TestEvents.Usage($"{tag}-{i}", i))))];

        (await _store.BulkAppendAsync("acme", Round(streams, 5, "a1"), Ct)).StreamVersions.Values.ShouldAllBe(v => v == 5);
        (await _store.BulkAppendAsync("acme", Round(streams, 5, "a2"), Ct)).StreamVersions.Values.ShouldAllBe(v => v == 10);
        (await other.BulkAppendAsync("acme", Round(streams.Take(10), 3, "b1"), Ct)).StreamVersions.Values.ShouldAllBe(v => v == 13);

        var third = await _store.BulkAppendAsync("acme", Round(streams, 5, "a3"), Ct);
        third.AppendedCount.ShouldBe(100);
        streams.Select(s => third.StreamVersions[s]).ShouldBe(streams.Select((_, i) => i < 10 ? 18L : 15L));

        // Both at once, several times over, on overlapping streams: whichever way their reservations interleave, every
        // event is stored once and each stream stays numbered 1..n.
        var writers = new[] { _store, other }.Select((store, w) => Task.Run(async () =>
        {
            for (var round = 0; round < 5; round++)
            {
                (await store.BulkAppendAsync("acme", Round(streams, 2, $"c{w}-{round}"), Ct)).AppendedCount.ShouldBe(40);
            }
        }, Ct));
        await Task.WhenAll(writers);

        foreach (var (stream, i) in streams.Select((s, i) => (s, i)))
        {
            var expected = (i < 10 ? 18 : 15) + 20;
            var read = await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).ToListAsync(Ct);
            read.Select(e => e.StreamVersion).ShouldBe(Enumerable.Range(1, expected).Select(v => (long)v));
            (await other.GetStreamVersionAsync("acme", stream, Ct)).ShouldBe(expected);
        }

        await ShouldBeInTheLogInVersionOrderAsync("acme", streams);
    }

    [Fact]
    public async Task Concurrent_bulk_appends_on_one_store_with_some_failing_keep_every_stream_numbered_without_gaps()
    {
        // One store's concurrent appends overlap (each numbers its events before locking its streams), and a failed
        // one leaves the versions it was handed unused: the appends after it must notice and number again.
        var streams = Enumerable.Range(0, 30).Select(_ => NewStream()).ToArray();
        var stored = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var round = 0; round < 12; round++)
            {
                var events = Enumerable.Range(0, 60).Select(i => new StreamEvent(streams[(i * 7 + w + round) % streams.Length], TestEvents.Usage($"w{w}-r{round}-{i}", i))).ToList();
                if ((w + round) % 5 == 0)
                {
                    // Fails inside the COPY, after its versions were handed out.
                    events.Insert(30, new StreamEvent(streams[w], new NewEvent(Guid.NewGuid(), new Measured(double.NaN))));
                    await Should.ThrowAsync<EventSerializationException>(() => _store.BulkAppendAsync("acme", events, Ct));
                    continue;
                }

                (await _store.BulkAppendAsync("acme", events, Ct)).AppendedCount.ShouldBe(60);
                Interlocked.Add(ref stored, 60);
            }
        }, Ct));
        await Task.WhenAll(writers);

        var total = 0;
        foreach (var stream in streams)
        {
            var versions = await _store.ReadStreamAsync("acme", stream, cancellationToken: Ct).Select(e => e.StreamVersion).ToListAsync(Ct);
            versions.ShouldBe(Enumerable.Range(1, versions.Count).Select(v => (long)v));
            (await _store.GetStreamVersionAsync("acme", stream, Ct) ?? 0).ShouldBe(versions.Count);
            total += versions.Count;
        }

        total.ShouldBe(stored);
        await ShouldBeInTheLogInVersionOrderAsync("acme", streams);
    }

    [Fact]
    public async Task The_log_gives_each_streams_events_in_version_order_however_appends_of_either_kind_race()
    {
        // The log is ordered by the writing transaction's id, so an append numbered after another on a stream must
        // also have taken its transaction id after it; else a subscriber sees version 7 before version 1. Two stores
        // stand for two processes (so some bulk appends lock first, after a stale claim); single-stream appends lock
        // first; the streams are new each round, because creating a stream's row races too.
        var tenant = $"race-{Guid.NewGuid():N}";
        var stores = new[] { _store, fixture.CreateStore(TestEvents.Registry()) };
        var streams = new List<string>();
        for (var round = 0; round < 6; round++)
        {
            var shared = Enumerable.Range(0, 3).Select(_ => NewStream()).ToArray();
            streams.AddRange(shared);
            await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                var store = stores[w % 2];
                for (var i = 0; i < 8; i++)
                {
                    if ((w + i) % 3 == 0)
                    {
                        await store.AppendToStreamAsync(tenant, shared[(w + i) % 3], ExpectedVersion.Any, [TestEvents.Usage($"w{w}-{i}"), TestEvents.Usage($"w{w}-{i}")], Ct);
                    }
                    else
                    {
                        await store.BulkAppendAsync(tenant, [.. shared.Select(s => new StreamEvent(s, TestEvents.Usage($"w{w}-{i}")))], Ct);
                    }
                }
            }, Ct)));
        }

        await ShouldBeInTheLogInVersionOrderAsync(tenant, streams);
    }

    [Fact]
    public async Task A_claim_whose_stream_row_a_later_transaction_wrote_retries_locking_first()
    {
        // Another process can move a row to exactly the version a claim expects (when this store's claim before it
        // failed meanwhile): the version matches, but that writer's transaction is later than the claim's, so the
        // claim's events, numbered after that writer's, would come before them in the log.
        var tenant = $"later-{Guid.NewGuid():N}";
        var stream = NewStream();
        await _store.BulkAppendAsync(tenant, [new StreamEvent(stream, TestEvents.Usage("first"))], Ct);
        await using (var later = fixture.DataSource.CreateCommand(
            $"update {fixture.Schema}.streams set tx_id = (pg_current_xact_id()::text::bigint + 1000000)::text::xid8 where tenant_id = $1 and stream_id = $2"))
        {
            later.Parameters.AddWithValue(tenant);
            later.Parameters.AddWithValue(stream);
            (await later.ExecuteNonQueryAsync(Ct)).ShouldBe(1);
        }

        var stale = _store.StaleClaims;
        var second = await _store.BulkAppendAsync(tenant, [new StreamEvent(stream, TestEvents.Usage("second"))], Ct);

        _store.StaleClaims.ShouldBe(stale + 1, "the claim must not commit over a row a later transaction wrote");
        second.StreamVersions[stream].ShouldBe(2);
        (await _store.ReadStreamAsync(tenant, stream, cancellationToken: Ct).Select(e => e.StreamVersion).ToListAsync(Ct)).ShouldBe([1L, 2L]);
    }

    [Fact]
    public async Task A_bulk_append_after_a_streams_events_and_version_were_deleted_numbers_it_from_one_again()
    {
        var tenant = $"emptied-{Guid.NewGuid():N}";
        var streams = Enumerable.Range(0, 5).Select(_ => NewStream()).ToArray();
        var events = streams.SelectMany(s => Enumerable.Range(0, 4).Select(i => new StreamEvent(s, TestEvents.Usage($"first-{i}", i)))).ToList();
        (await _store.BulkAppendAsync(tenant, events, Ct)).StreamVersions.Values.ShouldAllBe(v => v == 4);

        await using (var empty = fixture.DataSource.CreateBatch())
        {
            empty.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {fixture.Schema}.events where tenant_id = $1") { Parameters = { new() { Value = tenant } } });
            empty.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {fixture.Schema}.streams where tenant_id = $1") { Parameters = { new() { Value = tenant } } });
            await empty.ExecuteNonQueryAsync(Ct);
        }

        var again = await _store.BulkAppendAsync(tenant, [.. streams.Select(s => new StreamEvent(s, TestEvents.Usage("again")))], Ct);

        again.StreamVersions.Values.ShouldAllBe(v => v == 1);
        foreach (var stream in streams)
        {
            (await _store.ReadStreamAsync(tenant, stream, cancellationToken: Ct).ToListAsync(Ct)).ShouldHaveSingleItem().StreamVersion.ShouldBe(1);
            (await _store.GetStreamVersionAsync(tenant, stream, Ct)).ShouldBe(1);
        }
    }

    [Fact]
    public async Task Bulk_append_with_one_event_of_an_unregistered_type_writes_nothing_and_names_the_event()
    {
        var stream = NewStream();
        var bad = new NewEvent(Guid.NewGuid(), new NotRegistered("x"));
        List<StreamEvent> events = [new(stream, TestEvents.Usage()), new(stream, bad), new(NewStream(), TestEvents.Usage())];

        var ex = await Should.ThrowAsync<UnregisteredEventTypeException>(() => _store.BulkAppendAsync("acme", events, Ct));

        ex.EventId.ShouldBe(bad.EventId);
        ex.Message.ShouldContain(bad.EventId.ToString());
        ex.Message.ShouldContain(nameof(NotRegistered));
        (await _store.GetStreamVersionAsync("acme", stream, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Bulk_append_with_one_unserializable_event_writes_nothing_and_names_the_event()
    {
        var before = await CountEventsAsync("acme");
        var stream = NewStream();
        var bad = new NewEvent(Guid.NewGuid(), new Measured(double.NaN));

        var ex = await Should.ThrowAsync<EventSerializationException>(() => _store.BulkAppendAsync("acme", [new(stream, TestEvents.Usage()), new(stream, bad)], Ct));

        ex.EventId.ShouldBe(bad.EventId);
        ex.EventType.ShouldBe(nameof(Measured));
        (await CountEventsAsync("acme")).ShouldBe(before);
        (await _store.GetStreamVersionAsync("acme", stream, Ct)).ShouldBeNull();

        // The event is serialized during the COPY, after the first row went out: the aborted COPY leaves the
        // connection usable, and the same append without the bad event then writes both of its rows.
        var good = await _store.BulkAppendAsync("acme", [new(stream, TestEvents.Usage()), new(stream, TestEvents.Usage())], Ct);
        good.AppendedCount.ShouldBe(2);
        (await _store.GetStreamVersionAsync("acme", stream, Ct)).ShouldBe(2);
    }

    [Fact]
    public async Task A_large_bulk_append_with_an_unserializable_event_far_down_writes_nothing_and_names_that_event()
    {
        // Large appends make their JSON on another thread ahead of the COPY; a failure there is still the COPY's
        // to report, in order, and the events before it (made ahead) are not written either.
        var before = await CountEventsAsync("acme");
        var streams = Enumerable.Range(0, 20).Select(_ => NewStream()).ToArray();
        var events = Enumerable.Range(0, 2_000).Select(i => new StreamEvent(streams[i % streams.Length], TestEvents.Usage($"e{i}", i))).ToList();
        var bad = new NewEvent(Guid.NewGuid(), new Measured(double.PositiveInfinity));
        events.Insert(1_500, new StreamEvent(streams[0], bad));

        var ex = await Should.ThrowAsync<EventSerializationException>(() => _store.BulkAppendAsync("acme", events, Ct));

        ex.EventId.ShouldBe(bad.EventId);
        (await CountEventsAsync("acme")).ShouldBe(before);
        (await _store.GetStreamVersionAsync("acme", streams[0], Ct)).ShouldBeNull();

        events.RemoveAt(1_500);
        var good = await _store.BulkAppendAsync("acme", events, Ct);
        good.AppendedCount.ShouldBe(2_000);
        var stream3 = await _store.ReadStreamAsync("acme", streams[3], cancellationToken: Ct).ToListAsync(Ct);
        stream3.Select(e => e.Data).ShouldBe(Enumerable.Range(0, 100).Select(k => (object)new UsageRecorded($"e{3 + (k * 20)}", 3 + (k * 20))));
    }

    [Fact]
    public async Task Tenants_never_see_each_others_streams_or_events()
    {
        var stream = NewStream();
        var shared = Guid.NewGuid();
        await _store.AppendToStreamAsync("tenant-a", stream, ExpectedVersion.NoStream, [TestEvents.Usage("a", id: shared)], Ct);

        var b = await _store.AppendToStreamAsync("tenant-b", stream, ExpectedVersion.NoStream, [TestEvents.Usage("b", id: shared)], Ct);

        b.AppendedCount.ShouldBe(1, "the same event id in another tenant is not a duplicate");
        b.StreamVersion.ShouldBe(1, "the same stream id in another tenant is another stream");
        var aEvents = await _store.ReadStreamAsync("tenant-a", stream, cancellationToken: Ct).ToListAsync(Ct);
        aEvents.ShouldHaveSingleItem().Data.ShouldBe(new UsageRecorded("a", 1));
        aEvents[0].TenantId.ShouldBe("tenant-a");
        (await _store.ReadStreamAsync("tenant-b", stream, cancellationToken: Ct).SingleAsync(Ct)).Data.ShouldBe(new UsageRecorded("b", 1));
        (await _store.ReadStreamAsync("tenant-c", stream, cancellationToken: Ct).CountAsync(Ct)).ShouldBe(0);
        (await _store.GetStreamVersionAsync("tenant-c", stream, Ct)).ShouldBeNull();

        // The log shows an event once no older transaction anywhere in the cluster is still open (by design, so that
        // readers never skip one); other test assemblies' transactions can hold it back for a moment.
        await LogHorizon.WaitUntilReadableAsync(fixture.DataSource, TimeSpan.FromMilliseconds(50), Ct);
        var page = await _store.ReadAllAsync(LogPosition.Start, 10_000, "tenant-b", cancellationToken: Ct);

        page.Events.ShouldAllBe(e => e.TenantId == "tenant-b");
        page.Events.ShouldContain(e => e.StreamId == stream);
    }

    [Fact]
    public async Task Reading_a_stream_can_stop_at_a_version_or_a_point_in_time()
    {
        var stream = NewStream();
        var day = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await _store.AppendToStreamAsync("acme", stream, ExpectedVersion.Any,
            [.. Enumerable.Range(0, 5).Select(i => TestEvents.Usage($"d{i}", occurredAt: day.AddDays(i)))], Ct);

        (await _store.ReadStreamAsync("acme", stream, new ReadStreamOptions(ToVersion: 3), Ct).CountAsync(Ct)).ShouldBe(3);
        (await _store.ReadStreamAsync("acme", stream, new ReadStreamOptions(FromVersion: 4), Ct).Select(e => e.StreamVersion).ToListAsync(Ct)).ShouldBe([4L, 5L]);
        (await _store.ReadStreamAsync("acme", stream, new ReadStreamOptions(OccurredUntil: day.AddDays(1)), Ct).CountAsync(Ct)).ShouldBe(2);
        (await _store.ReadStreamAsync("acme", stream, new ReadStreamOptions(RecordedUntil: DateTimeOffset.UtcNow.AddHours(-1)), Ct).CountAsync(Ct)).ShouldBe(0);
        (await _store.ReadStreamAsync("acme", stream, new ReadStreamOptions(RecordedUntil: DateTimeOffset.UtcNow.AddHours(1)), Ct).CountAsync(Ct)).ShouldBe(5);
    }

    [Fact]
    public async Task Losing_the_connection_mid_append_leaves_nothing_half_written()
    {
        var before = await CountEventsAsync("acme");
        var streams = Enumerable.Range(0, 100).Select(_ => NewStream()).ToArray();
        var padding = new string('x', 2_000);
        var events = Enumerable.Range(0, 150_000).Select(i => new StreamEvent(streams[i % 100], TestEvents.Usage(padding, i))).ToList();
        await using var tagged = new NpgsqlDataSourceBuilder(Testing.TestSettings.PostgresConnectionString + ";Application Name=hs-doomed-append").Build();
        var store = new PostgresEventStore(tagged, TestEvents.Registry(), fixture.Options);

        var append = Task.Run(() => store.BulkAppendAsync("acme", events, Ct), Ct);
        var killed = false;
        for (var i = 0; i < 600 && !append.IsCompleted && !killed; i++)
        {
            await using var kill = fixture.DataSource.CreateCommand(
                "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hs-doomed-append' and query like 'copy%'");
            killed = await kill.ExecuteScalarAsync(Ct) is true;
            await Task.Delay(10, Ct);
        }

        killed.ShouldBeTrue("the test must catch the append while its COPY is running");
        await Should.ThrowAsync<Exception>(() => append);
        (await CountEventsAsync("acme")).ShouldBe(before);
        foreach (var stream in streams)
        {
            (await _store.GetStreamVersionAsync("acme", stream, Ct)).ShouldBeNull();
        }
    }

    private async Task<long> CountEventsAsync(string tenant)
    {
        await using var command = fixture.DataSource.CreateCommand($"select count(*) from {fixture.Schema}.events where tenant_id = $1");
        command.Parameters.AddWithValue(tenant);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>
    /// Reads the tenant's log in its global order until every event of <paramref name="streams"/> is there, checking
    /// that each stream's events come in version order 1..n. The log shows events only once every transaction
    /// before theirs has ended (other tests' too), so it is read again until complete; what it shows is always a
    /// prefix of the final order, so the order is checked at every read.
    /// </summary>
    private async Task ShouldBeInTheLogInVersionOrderAsync(string tenant, IReadOnlyCollection<string> streams)
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var stream in streams)
        {
            expected[stream] = await _store.GetStreamVersionAsync(tenant, stream, Ct) ?? 0;
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var seen = streams.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
            var position = LogPosition.Start;
            while (true)
            {
                var page = await _store.ReadAllAsync(position, 5_000, tenant, cancellationToken: Ct);
                foreach (var e in page.Events.Where(e => seen.ContainsKey(e.StreamId)))
                {
                    e.StreamVersion.ShouldBe(seen[e.StreamId] + 1, $"stream {e.StreamId}: the log must give its events in version order");
                    seen[e.StreamId] = e.StreamVersion;
                }

                if (page.Events.Count == 0)
                {
                    break;
                }

                position = page.LastPosition;
            }

            if (seen.All(kv => kv.Value == expected[kv.Key]))
            {
                return;
            }

            DateTime.UtcNow.ShouldBeLessThan(deadline, "the log did not show every event within 30 s");
            await Task.Delay(50, Ct);
        }
    }

    private static string NewStream() => $"account-{Guid.NewGuid():N}";
}

public sealed class PostgresSchemaFixtureForAppends : Testing.PostgresSchemaFixture;

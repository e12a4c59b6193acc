using System.Collections.Concurrent;
using HealthScoring.EventStore.Subscriptions;

namespace HealthScoring.EventStore.Tests.Subscriptions;

public sealed class SubscriptionTests(PostgresSchemaFixtureForSubscriptions fixture) : IClassFixture<PostgresSchemaFixtureForSubscriptions>
{
    private readonly PostgresEventStore _store = fixture.CreateStore(TestEvents.Registry());
    private readonly string _tenant = $"t-{Guid.NewGuid():N}";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Four_racing_writers_are_delivered_exactly_once_in_global_order_with_no_gap_skipped()
    {
        var handler = new RecordingHandler(_tenant);
        await using var runner = NewRunner(handler, batchSize: 37);
        await runner.StartAsync(Ct);

        const int writers = 4, appendsPerWriter = 60;
        var written = new ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < appendsPerWriter; i++)
            {
                var batch = Enumerable.Range(0, 1 + (i % 7)).Select(_ => TestEvents.Usage($"w{w}")).ToList();
                if (i % 3 == 0)
                {
                    await _store.BulkAppendAsync(_tenant, [.. batch.Select((e, k) => new StreamEvent($"w{w}-s{k % 3}", e))], Ct);
                }
                else
                {
                    await _store.AppendToStreamAsync(_tenant, $"shared-{i % 5}", ExpectedVersion.Any, batch, Ct);
                }

                foreach (var e in batch)
                {
                    written.Add(e.EventId);
                }
            }
        }, Ct)));

        await WaitUntilAsync(() => handler.Count >= written.Count);
        await Task.Delay(500, Ct); // anything delivered twice would show up now

        var delivered = handler.Events;
        delivered.Select(e => e.EventId).ShouldBe(written.ToHashSet(), ignoreOrder: true);
        delivered.Count.ShouldBe(written.Count, "every event exactly once");
        delivered.Zip(delivered.Skip(1)).ShouldAllBe(pair => pair.First.Position < pair.Second.Position);
        foreach (var stream in delivered.GroupBy(e => e.StreamId))
        {
            stream.Select(e => e.StreamVersion).ShouldBe(Enumerable.Range(1, stream.Count()).Select(v => (long)v), $"stream {stream.Key} in version order");
        }
    }

    [Fact]
    public async Task A_subscription_that_crashes_mid_batch_resumes_from_its_checkpoint_with_nothing_lost()
    {
        var events = Enumerable.Range(0, 100).Select(i => TestEvents.Usage($"e{i}", i)).ToList();
        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.NoStream, events, Ct);

        // The first process dies while handling event 55; its batch of 20 is never checkpointed. (Where batches
        // start depends on the other tests' events earlier in the log, so the test reads the checkpoint.)
        var crashing = new RecordingHandler(_tenant, failOn: e => ((UsageRecorded)e.Data!).Count == 55);
        var name = $"crash-{Guid.NewGuid():N}";
        var first = NewRunner(crashing, batchSize: 20, name: name);
        await first.StartAsync(Ct);
        await WaitUntilAsync(() => crashing.Failures > 0);
        await first.DisposeAsync();
        var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(fixture.DataSource, fixture.Options, name, Ct);
        var firstUnhandled = (await _store.ReadAllAsync(checkpoint ?? LogPosition.Start, 1_000, _tenant, cancellationToken: Ct)).Events
            .Select(e => ((UsageRecorded)e.Data!).Count).First();

        var resumed = new RecordingHandler(_tenant);
        await using var second = NewRunner(resumed, batchSize: 20, name: name);
        await second.StartAsync(Ct);
        await WaitUntilAsync(() => resumed.Counts.LastOrDefault() == 99);

        crashing.Counts.ShouldContain(54);
        crashing.Counts.ShouldNotContain(56);
        firstUnhandled.ShouldBeInRange(55 - 19, 55, "only the batch that failed is not checkpointed");
        resumed.Counts.ShouldBe(Enumerable.Range(firstUnhandled, 100 - firstUnhandled), "the new process resumes exactly after the checkpoint");
        crashing.Counts.Where(c => c < firstUnhandled).Distinct().Order().ShouldBe(Enumerable.Range(0, firstUnhandled));
        crashing.Counts.Concat(resumed.Counts).Distinct().Order().ShouldBe(Enumerable.Range(0, 100), "nothing lost");
    }

    [Fact]
    public async Task A_transactional_handler_takes_effect_exactly_once_even_when_a_batch_fails_half_way()
    {
        var table = $"{fixture.Schema}.projected_{Guid.NewGuid():N}"[..60];
        await using (var create = fixture.DataSource.CreateCommand($"create table {table} (event_id uuid not null, n int not null)"))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }

        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 100).Select(i => TestEvents.Usage(count: i))], Ct);
        var handler = new ProjectingHandler(_tenant, table, failAt: 65);

        await using var runner = NewRunner(handler, batchSize: 20);
        await runner.StartAsync(Ct);
        await WaitUntilAsync(() => handler.Done);
        await Task.Delay(300, Ct);

        handler.Failed.ShouldBeTrue();
        await using var count = fixture.DataSource.CreateCommand($"select count(*), count(distinct event_id), min(n), max(n) from {table}");
        await using var reader = await count.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        reader.GetInt64(0).ShouldBe(100, "rows written before the failure were rolled back with the batch");
        reader.GetInt64(1).ShouldBe(100);
        reader.GetInt32(2).ShouldBe(0);
        reader.GetInt32(3).ShouldBe(99);
    }

    [Fact]
    public async Task A_failing_batch_is_retried_by_the_same_runner_after_a_backoff()
    {
        var events = Enumerable.Range(0, 30).Select(i => TestEvents.Usage($"e{i}", i)).ToList();
        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.NoStream, events, Ct);
        var failures = 0;
        var handler = new RecordingHandler(_tenant, failOn: e => ((UsageRecorded)e.Data!).Count == 25 && Interlocked.Increment(ref failures) <= 2);

        await using var runner = NewRunner(handler, batchSize: 10);
        await runner.StartAsync(Ct);
        await WaitUntilAsync(() => handler.Counts.Contains(29));

        failures.ShouldBe(3);
        handler.Counts.Distinct().Order().ShouldBe(Enumerable.Range(0, 30));
    }

    [Fact]
    public async Task Of_two_runners_for_one_subscription_only_one_processes_and_the_other_takes_over_when_it_stops()
    {
        var name = $"lead-{Guid.NewGuid():N}";
        var handlerA = new RecordingHandler(_tenant);
        var handlerB = new RecordingHandler(_tenant);
        var a = NewRunner(handlerA, name: name);
        await using var b = NewRunner(handlerB, name: name);
        await a.StartAsync(Ct);
        await WaitUntilAsync(() => a.IsLeader);
        await b.StartAsync(Ct);

        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.Any, [.. Enumerable.Range(0, 50).Select(i => TestEvents.Usage(count: i))], Ct);
        await WaitUntilAsync(() => handlerA.Count == 50);
        await Task.Delay(1500, Ct);
        handlerB.Count.ShouldBe(0, "the standby must not process while the leader runs");
        b.IsLeader.ShouldBeFalse();

        await a.DisposeAsync();
        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.Any, [.. Enumerable.Range(50, 50).Select(i => TestEvents.Usage(count: i))], Ct);
        var stopped = DateTime.UtcNow;
        await WaitUntilAsync(() => handlerB.Count == 50);

        (DateTime.UtcNow - stopped).ShouldBeLessThan(TimeSpan.FromSeconds(5));
        b.IsLeader.ShouldBeTrue();
        handlerB.Counts.ShouldBe(Enumerable.Range(50, 50), "the new leader starts from the old leader's checkpoint");
    }

    [Fact]
    public async Task When_the_leaders_connection_dies_the_lead_is_restored_within_seconds_and_each_event_is_handled_once()
    {
        var name = $"die-{Guid.NewGuid():N}";
        var handlerA = new RecordingHandler(_tenant);
        var handlerB = new RecordingHandler(_tenant);
        await using var a = NewRunner(handlerA, name: name);
        await using var b = NewRunner(handlerB, name: name);
        await a.StartAsync(Ct);
        await WaitUntilAsync(() => a.IsLeader);
        await b.StartAsync(Ct);
        var killedPid = await LeaderPidAsync(name);
        killedPid.ShouldNotBeNull();

        // What PostgreSQL sees when the leader's process dies: its session ends and the lock goes with it.
        await using (var kill = fixture.DataSource.CreateCommand("select pg_terminate_backend($1)"))
        {
            kill.Parameters.AddWithValue(killedPid.Value);
            (await kill.ExecuteScalarAsync(Ct)).ShouldBe(true);
        }

        // Either instance may win the lock back (the old one reconnects after its backoff); what matters is
        // that a live session leads again within seconds and that both instances agree who it is.
        var killed = DateTime.UtcNow;
        int? newPid = null;
        await WaitUntilAsync(async () =>
        {
            newPid = await LeaderPidAsync(name);
            return newPid is not null && newPid != killedPid && a.IsLeader != b.IsLeader;
        }, seconds: 10);
        (DateTime.UtcNow - killed).ShouldBeLessThan(TimeSpan.FromSeconds(5));

        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.Any, [.. Enumerable.Range(0, 10).Select(i => TestEvents.Usage(count: i))], Ct);
        var leader = a.IsLeader ? handlerA : handlerB;
        var standby = a.IsLeader ? handlerB : handlerA;
        await WaitUntilAsync(() => leader.Count == 10);
        await Task.Delay(500, Ct);
        leader.Counts.ShouldBe(Enumerable.Range(0, 10));
        standby.Count.ShouldBe(0);
    }

    private async Task<int?> LeaderPidAsync(string subscription)
    {
        await using var command = fixture.DataSource.CreateCommand(
            """
            select l.pid from pg_locks l
            where l.locktype = 'advisory' and l.granted
              and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)
            """);
        command.Parameters.AddWithValue($"healthscoring.subscription:{fixture.Schema}:{subscription}");
        return await command.ExecuteScalarAsync(Ct) as int?;
    }

    [Fact]
    public async Task Catching_up_in_the_foreground_handles_everything_then_returns_and_refuses_while_another_instance_leads()
    {
        await _store.AppendToStreamAsync(_tenant, "catch-up", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 25).Select(i => TestEvents.Usage($"c{i}", i))], Ct);
        var name = $"catch-up-{Guid.NewGuid():N}";
        var handler = new RecordingHandler(_tenant);
        await using (var foreground = NewRunner(handler, batchSize: 10, name: name))
        {
            await foreground.CatchUpAsync(cancellationToken: Ct);
        }

        handler.Counts.ShouldBe(Enumerable.Range(0, 25));

        // A reset runs with the checkpoint's removal: everything is handled again from the start of the log.
        var resets = 0;
        await using (var rebuild = NewRunner(handler, batchSize: 10, name: name))
        {
            await rebuild.CatchUpAsync((_, _, _) => { resets++; return Task.CompletedTask; }, cancellationToken: Ct);
        }

        resets.ShouldBe(1);
        handler.Counts.ShouldBe([.. Enumerable.Range(0, 25), .. Enumerable.Range(0, 25)]);

        await using var leader = NewRunner(new RecordingHandler(_tenant), name: name);
        await leader.StartAsync(Ct);
        await WaitUntilAsync(() => Task.FromResult(leader.IsLeader));
        await using var other = NewRunner(new RecordingHandler(_tenant), name: name);
        await Should.ThrowAsync<SubscriptionBusyException>(() => other.CatchUpAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task Catching_up_waits_for_a_transaction_open_elsewhere_that_hides_events_appended_before_it_began()
    {
        // Regression: a foreground catch-up returned at once, having handled nothing, while another test's transaction
        // was open (the log shows an event only once every older transaction has ended).
        await using var other = await fixture.DataSource.OpenConnectionAsync(Ct);
        await using var open = await other.BeginTransactionAsync(Ct);
        await using (var takeId = new Npgsql.NpgsqlCommand("select pg_current_xact_id()", other, open))
        {
            await takeId.ExecuteScalarAsync(Ct);
        }

        await _store.AppendToStreamAsync(_tenant, "hidden", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 5).Select(i => TestEvents.Usage($"h{i}", i))], Ct);
        var handler = new RecordingHandler(_tenant);
        await using var runner = NewRunner(handler);

        var catchUp = runner.CatchUpAsync(cancellationToken: Ct);
        await Task.Delay(300, Ct);
        var finishedWhileHidden = catchUp.IsCompleted;
        await open.RollbackAsync(Ct);
        await catchUp;

        finishedWhileHidden.ShouldBeFalse("the catch-up must not call an empty read 'caught up' while older transactions are open");
        handler.Counts.ShouldBe(Enumerable.Range(0, 5));
    }

    [Fact]
    public async Task A_subscription_to_some_types_is_handed_only_those_and_its_checkpoint_moves_past_the_rest()
    {
        await _store.AppendToStreamAsync(_tenant, "typed", ExpectedVersion.NoStream,
            [TestEvents.Usage("u1"), new NewEvent(Guid.NewGuid(), new Measured(1)), TestEvents.Usage("u2"), new NewEvent(Guid.NewGuid(), new Measured(2)), TestEvents.Usage("u3")], Ct);
        var name = $"typed-{Guid.NewGuid():N}";
        var handler = new RecordingHandler(_tenant);
        await using (var runner = NewRunner(handler, batchSize: 1, name: name, eventTypes: [typeof(Measured)]))
        {
            await runner.CatchUpAsync(cancellationToken: Ct);
        }

        handler.Events.Select(e => e.Data).ShouldBe([new Measured(1), new Measured(2)]);
        var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(fixture.DataSource, fixture.Options, name, Ct);
        var last = (await _store.ReadStreamAsync(_tenant, "typed", cancellationToken: Ct).ToListAsync(Ct))[^1];
        checkpoint!.Value.ShouldBeGreaterThanOrEqualTo(last.Position, "the skipped usage events after the last measurement are behind the checkpoint too");
    }

    private SubscriptionRunner NewRunner(ISubscriptionHandler handler, int batchSize = 100, string? name = null, IReadOnlyCollection<Type>? eventTypes = null) => new(
        fixture.DataSource, _store, fixture.Options, handler,
        new SubscriptionOptions
        {
            Name = name ?? $"sub-{Guid.NewGuid():N}",
            BatchSize = batchSize,
            EventTypes = eventTypes,
            PollInterval = TimeSpan.FromMilliseconds(50),
            LeadershipRetryInterval = TimeSpan.FromMilliseconds(250),
            ErrorBackoff = TimeSpan.FromMilliseconds(100),
        });

    private static Task WaitUntilAsync(Func<bool> condition, int seconds = 30) => WaitUntilAsync(() => Task.FromResult(condition()), seconds);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Condition not met within {seconds} s.");
            }

            await Task.Delay(20, Ct);
        }
    }

    /// <summary>Writes one row per event of one tenant in the runner's transaction; fails once at event <c>failAt</c>.</summary>
    private sealed class ProjectingHandler(string tenant, string table, int failAt) : ITransactionalSubscriptionHandler
    {
        public bool Failed { get; private set; }

        public bool Done { get; private set; }

        public async Task HandleAsync(IReadOnlyList<RecordedEvent> events, Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, CancellationToken cancellationToken)
        {
            foreach (var e in events.Where(e => e.TenantId == tenant))
            {
                var n = ((UsageRecorded)e.Data!).Count;
                if (n == failAt && !Failed)
                {
                    Failed = true;
                    throw new InvalidOperationException("Simulated failure half way through a batch.");
                }

                await using var insert = new Npgsql.NpgsqlCommand($"insert into {table} (event_id, n) values ($1, $2)", connection, transaction);
                insert.Parameters.AddWithValue(e.EventId);
                insert.Parameters.AddWithValue(n);
                await insert.ExecuteNonQueryAsync(cancellationToken);
                Done |= n == 99;
            }
        }
    }

    /// <summary>Records the events of one tenant (the log holds other tests' events too).</summary>
    private sealed class RecordingHandler(string tenant, Func<RecordedEvent, bool>? failOn = null) : ISubscriptionHandler
    {
        private readonly List<RecordedEvent> _events = [];
        private int _failures;

        public int Count
        {
            get
            {
                lock (_events)
                {
                    return _events.Count;
                }
            }
        }

        public int Failures => Volatile.Read(ref _failures);

        public List<RecordedEvent> Events
        {
            get
            {
                lock (_events)
                {
                    return [.. _events];
                }
            }
        }

        public List<int> Counts => [.. Events.Select(e => ((UsageRecorded)e.Data!).Count)];

        public Task HandleAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
        {
            foreach (var e in events.Where(e => e.TenantId == tenant))
            {
                if (failOn?.Invoke(e) == true)
                {
                    Interlocked.Increment(ref _failures);
                    throw new InvalidOperationException($"Simulated crash at {e.EventId}.");
                }

                lock (_events)
                {
                    _events.Add(e);
                }
            }

            return Task.CompletedTask;
        }
    }
}

public sealed class PostgresSchemaFixtureForSubscriptions : Testing.PostgresSchemaFixture;

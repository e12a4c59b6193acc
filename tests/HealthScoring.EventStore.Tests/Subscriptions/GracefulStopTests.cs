using HealthScoring.EventStore.Subscriptions;

namespace HealthScoring.EventStore.Tests.Subscriptions;

/// <summary>A host's graceful stop (SubscriptionRunner.StopAsync) finishes the batch in progress and checkpoints it.</summary>
public sealed class GracefulStopTests(PostgresSchemaFixtureForSubscriptions fixture) : IClassFixture<PostgresSchemaFixtureForSubscriptions>
{
    private readonly PostgresEventStore _store = fixture.CreateStore(TestEvents.Registry());
    private readonly string _tenant = $"t-{Guid.NewGuid():N}";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stopping_finishes_the_batch_in_progress_and_saves_its_checkpoint()
    {
        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 30).Select(i => TestEvents.Usage(count: i))], Ct);
        var handler = new GatedHandler(_tenant);
        var name = $"graceful-{Guid.NewGuid():N}";
        await using var runner = NewRunner(handler, name);
        await runner.StartAsync(Ct);
        var batch = await handler.Entered.Task.WaitAsync(Ct);

        var stop = runner.StopAsync(CancellationToken.None);
        handler.Release.SetResult();
        await stop;

        handler.Cancelled.ShouldBeFalse("a graceful stop lets the batch finish");
        handler.Batches.ShouldBe(1, "no batch starts after the stop");
        var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(fixture.DataSource, fixture.Options, name, Ct);
        checkpoint.ShouldBe(batch[^1].Position, "the finished batch is checkpointed");
    }

    [Fact]
    public async Task A_stop_whose_time_runs_out_cancels_the_batch_and_leaves_it_to_be_delivered_again()
    {
        await _store.AppendToStreamAsync(_tenant, "account-1", ExpectedVersion.NoStream, [.. Enumerable.Range(0, 30).Select(i => TestEvents.Usage(count: i))], Ct);
        var handler = new GatedHandler(_tenant);
        var name = $"cut-{Guid.NewGuid():N}";
        await using var runner = NewRunner(handler, name);
        await runner.StartAsync(Ct);
        var batch = await handler.Entered.Task.WaitAsync(Ct);

        using var timeUp = new CancellationTokenSource();
        var stop = runner.StopAsync(timeUp.Token);
        await timeUp.CancelAsync();
        await stop;
        await handler.Finished.Task.WaitAsync(Ct);

        handler.Cancelled.ShouldBeTrue("the host's shutdown timeout cancels the batch");
        // Batches before it (other tests' events in this schema) may be checkpointed; the cancelled one is not.
        var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(fixture.DataSource, fixture.Options, name, Ct);
        (checkpoint ?? LogPosition.Start).ShouldBeLessThan(batch[0].Position, "the cancelled batch is not checkpointed");
    }

    private SubscriptionRunner NewRunner(ISubscriptionHandler handler, string name) => new(
        fixture.DataSource, _store, fixture.Options, handler,
        new SubscriptionOptions { Name = name, BatchSize = 10, PollInterval = TimeSpan.FromMilliseconds(50) });

    /// <summary>Holds its first batch of the tenant's events until released (or cancelled).</summary>
    private sealed class GatedHandler(string tenant) : ISubscriptionHandler
    {
        private int _batches;

        public TaskCompletionSource<IReadOnlyList<RecordedEvent>> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public int Batches => Volatile.Read(ref _batches);

        public async Task HandleAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
        {
            var own = events.Where(e => e.TenantId == tenant).ToList();
            if (own.Count == 0)
            {
                return;
            }

            Interlocked.Increment(ref _batches);
            Entered.TrySetResult(events);
            try
            {
                await Release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
            finally
            {
                Finished.TrySetResult();
            }
        }
    }
}

using System.Diagnostics.Metrics;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Observability;
using HealthScoring.EventStore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthScoring.Api.Tests.Ingestion;

public sealed class IngestPressureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly HealthScoringMetrics Metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    [Fact]
    public async Task Requests_waiting_behind_a_commit_mark_ingest_as_saturated_and_a_lone_request_does_not()
    {
        // A clock that stands still: only the backlog can speak here, not the share of time spent committing.
        var clock = new ManualClock();
        var alone = new IngestPressure(clock);
        var store = new GatedStore();
        await using (var appender = new GroupCommitAppender(store, alone, NullLogger<GroupCommitAppender>.Instance, Metrics))
        {
            store.Open();
            await appender.AppendAsync("acme", [Event()], Ct);
        }

        alone.IsSaturated.ShouldBeFalse();

        var busy = new IngestPressure(clock);
        store = new GatedStore();
        await using (var appender = new GroupCommitAppender(store, busy, NullLogger<GroupCommitAppender>.Instance, Metrics))
        {
            // Both group commits the writer keeps in flight are held open while two more requests queue up behind them.
            var first = appender.AppendAsync("acme", [Event()], Ct);
            await store.Entered.Task.WaitAsync(Ct);
            var second = appender.AppendAsync("acme", [Event()], Ct);
            await store.SecondEntered.Task.WaitAsync(Ct);
            var queued = new[] { appender.AppendAsync("acme", [Event()], Ct), appender.AppendAsync("acme", [Event()], Ct) };
            busy.IsSaturated.ShouldBeFalse("nothing has been committed yet");
            store.Open();
            await Task.WhenAll([first, second, .. queued]);
        }

        busy.IsSaturated.ShouldBeTrue();
        store.Commits.ShouldBe(3, "the two requests waiting for a free slot went in one group commit");
    }

    [Fact]
    public void A_writer_busy_committing_for_half_the_window_counts_as_saturated_without_any_backlog()
    {
        var clock = new ManualClock();
        var pressure = new IngestPressure(clock);
        pressure.IsSaturated.ShouldBeFalse("nothing committed yet");

        pressure.Committed(TimeSpan.FromMilliseconds(300));
        clock.Advance(TimeSpan.FromMilliseconds(400));
        pressure.IsSaturated.ShouldBeTrue("300 ms of the last 400 ms committing");

        clock.Advance(TimeSpan.FromMilliseconds(700));
        pressure.IsSaturated.ShouldBeFalse("the last full window was 30 % busy, and the new one is too young to judge");

        pressure.Committed(TimeSpan.FromMilliseconds(600));
        clock.Advance(TimeSpan.FromSeconds(1));
        pressure.IsSaturated.ShouldBeTrue("the last full window was 60 % busy");

        clock.Advance(TimeSpan.FromSeconds(2.5));
        pressure.IsSaturated.ShouldBeFalse("idle for more than a window");

        // 600 ms of committing in a window that, first looked at 1.5 s after it began, lasted 1.5 s: 40 %.
        pressure.Committed(TimeSpan.FromMilliseconds(600));
        clock.Advance(TimeSpan.FromSeconds(1.5));
        pressure.IsSaturated.ShouldBeFalse("600 ms of a 1.5 s window is under half");
    }

    [Theory]
    [InlineData(2.0, 0.25, true, 6.0)]
    [InlineData(2.0, 0.5, true, 2.0)]
    [InlineData(2.0, 0.1, true, 18.0)]
    [InlineData(2.0, 0.25, false, 0.0)]
    [InlineData(2.0, 1.0, true, 0.0)]
    [InlineData(20.0, 0.25, true, 30.0)]
    public void The_projection_pauses_only_under_saturated_ingest_for_the_rest_of_its_share(double batchSeconds, double share, bool saturated, double expectedPause)
    {
        AccountDailyProjection.PauseAfter(TimeSpan.FromSeconds(batchSeconds), FullBatch, share, saturated, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2))
            .ShouldBe(TimeSpan.FromSeconds(expectedPause));
    }

    [Theory]
    [InlineData(119.0, 18.0)]
    [InlineData(120.0, 0.0)]
    [InlineData(600.0, 0.0)]
    public void The_projection_stops_giving_way_once_it_is_the_maximum_lag_behind(double lagSeconds, double expectedPause)
    {
        AccountDailyProjection.PauseAfter(TimeSpan.FromSeconds(2), FullBatch, 0.1, saturated: true, TimeSpan.FromSeconds(lagSeconds), TimeSpan.FromMinutes(2))
            .ShouldBe(TimeSpan.FromSeconds(expectedPause));
    }

    [Fact]
    public void A_projection_that_keeps_up_with_the_log_never_pauses()
    {
        // A short batch: everything the log held. Pausing it would only hold up a scoring run waiting for it.
        AccountDailyProjection.PauseAfter(TimeSpan.FromSeconds(2), FullBatch - 1, 0.1, saturated: true, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2))
            .ShouldBe(TimeSpan.Zero);
    }

    private static int FullBatch => AccountDailyProjection.SubscriptionOptions.BatchSize;

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.FromDays(1).Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private static StreamEvent Event() => new("s", new NewEvent(Guid.NewGuid(), new object()));

    /// <summary>A store whose bulk appends wait until <see cref="Open"/>; nothing else is used.</summary>
    private sealed class GatedStore : IEventStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private int _entries;
        private int _commits;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SecondEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Commits => Volatile.Read(ref _commits);

        public void Open() => _gate.TrySetResult();

        public async Task<BulkAppendResult> BulkAppendAsync(string tenantId, IReadOnlyList<StreamEvent> events, CancellationToken cancellationToken = default)
        {
            (Interlocked.Increment(ref _entries) == 1 ? Entered : SecondEntered).TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref _commits);
            return new BulkAppendResult(events.Count, [], new Dictionary<string, long>());
        }

        public Task<AppendResult> AppendToStreamAsync(string tenantId, string streamId, ExpectedVersion expectedVersion, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string tenantId, string streamId, ReadStreamOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long?> GetStreamVersionAsync(string tenantId, string streamId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<LogPage> ReadAllAsync(LogPosition after, int maxCount, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<LogPage> ReadAllOfTypesAsync(LogPosition after, int maxCount, IReadOnlyCollection<Type> eventTypes, string? tenantId = null, DataOmission? omit = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long> PurgeAsync(string tenantId, IReadOnlyCollection<string> eventTypes, DateTimeOffset occurredBefore, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}

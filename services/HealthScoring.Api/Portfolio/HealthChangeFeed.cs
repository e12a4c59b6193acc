using System.Threading.Channels;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Portfolio;

/// <summary>A watcher could not keep up, or the feed lost its database connection: it may have missed changes.</summary>
public sealed class HealthFeedInterruptedException(string message) : Exception(message);

/// <summary>
/// One LISTEN per host on <see cref="HealthNotifications.Channel"/>, fanned out to every watcher of the tenant:
/// scoring in any process (the CLI, another host) reaches a watcher as soon as its transaction commits, with one
/// database connection however many watch. Live only: a watcher that falls behind by <see cref="WatcherCapacity"/>
/// changes, or every watcher when the connection drops (notifications sent meanwhile are lost), is ended with
/// <see cref="HealthFeedInterruptedException"/>, so that it re-reads and watches again rather than silently miss a change.
/// </summary>
public sealed class HealthChangeFeed(NpgsqlDataSource dataSource, EventStoreOptions storeOptions, ILogger<HealthChangeFeed> logger) : BackgroundService
{
    public const int WatcherCapacity = 10_000;

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private readonly OutageLog _outage = new();
    private readonly HashSet<Watcher> _watchers = [];
    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the feed listens (again); a watcher subscribed after it hears every later change.</summary>
    public Task WhenListeningAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _listening.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Starts watching one tenant's changes that pass <paramref name="filter"/>; dispose to stop.</summary>
    public Watcher Watch(string tenantId, Func<HealthChange, bool> filter)
    {
        var watcher = new Watcher(this, tenantId, filter);
        lock (_gate)
        {
            _watchers.Add(watcher);
        }

        return watcher;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var channel = HealthNotifications.Channel(storeOptions.Schema);
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Dispatch(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen \"{channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                lock (_gate)
                {
                    _listening.TrySetResult();
                }

                backoff = TimeSpan.FromMilliseconds(250);
                if (_outage.Succeeded() is { } outage)
                {
                    logger.LogInformation("The health feed listens again after {Outage} without its database connection", outage);
                }

                await using var heartbeat = new NpgsqlCommand("select 1", connection);
                while (true)
                {
                    // A quiet channel says nothing about the connection: ask it now and then, so a dead one is noticed.
                    if (!await connection.WaitAsync(Heartbeat, stoppingToken))
                    {
                        await heartbeat.ExecuteScalarAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // While the database is away this repeats with a growing pause: log the first failure of an outage only.
                if (!TransientStoreFailure.Is(ex) || _outage.Failed())
                {
                    logger.LogWarning(ex, "The health feed lost its database connection; watchers are ended and it listens again in {Backoff}", backoff);
                }

                Interrupt("The live feed lost its database connection; changes may have been missed. Re-read and watch again.");
                await Task.Delay(backoff, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        Interrupt("The server is shutting down.");
    }

    private void Interrupt(string reason)
    {
        Watcher[] all;
        lock (_gate)
        {
            all = [.. _watchers];
            _watchers.Clear();
            if (_listening.Task.IsCompleted)
            {
                _listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        foreach (var watcher in all)
        {
            watcher.End(new HealthFeedInterruptedException(reason));
        }
    }

    private void Dispatch(string payload)
    {
        if (HealthNotifications.Parse(payload) is not { } change)
        {
            logger.LogWarning("The health feed ignored a notification it could not read");
            return;
        }

        Watcher[] all;
        lock (_gate)
        {
            all = [.. _watchers];
        }

        foreach (var watcher in all)
        {
            if (watcher.TenantId == change.TenantId && watcher.Filter(change) && !watcher.TryWrite(change))
            {
                Remove(watcher);
                watcher.End(new HealthFeedInterruptedException($"The watcher fell more than {WatcherCapacity} changes behind; changes were missed. Re-read and watch again."));
            }
        }
    }

    private void Remove(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }

    /// <summary>One subscriber: read <see cref="Changes"/> until it ends (or throws <see cref="HealthFeedInterruptedException"/>).</summary>
    public sealed class Watcher : IDisposable
    {
        private readonly HealthChangeFeed _feed;
        private readonly Channel<HealthChange> _channel = Channel.CreateBounded<HealthChange>(
            new BoundedChannelOptions(WatcherCapacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

        internal Watcher(HealthChangeFeed feed, string tenantId, Func<HealthChange, bool> filter)
        {
            _feed = feed;
            TenantId = tenantId;
            Filter = filter;
        }

        public string TenantId { get; }

        internal Func<HealthChange, bool> Filter { get; }

        public ChannelReader<HealthChange> Changes => _channel.Reader;

        internal bool TryWrite(HealthChange change) => _channel.Writer.TryWrite(change);

        internal void End(Exception reason) => _channel.Writer.TryComplete(reason);

        public void Dispose()
        {
            _feed.Remove(this);
            _channel.Writer.TryComplete();
        }
    }
}

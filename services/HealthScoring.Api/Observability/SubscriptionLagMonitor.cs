using System.Diagnostics.Metrics;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using Npgsql;

namespace HealthScoring.Api.Observability;

/// <summary>
/// How far behind the head of the log each subscription this host runs is (events not yet passed), for readiness and
/// for the <c>healthscoring_subscription_lag</c> gauge (measured when <c>/metrics</c> is scraped, not in the background).
/// </summary>
public sealed partial class SubscriptionLagMonitor
{
    /// <summary>The most events counted behind one subscription when scraped (a bounded index scan); beyond it the gauge stays at this figure.</summary>
    public const long MetricsCountLimit = 10_000_000;

    private readonly IServiceProvider _services;
    private readonly NpgsqlDataSource _dataSource;
    private readonly EventStoreOptions _storeOptions;
    private readonly ILogger<SubscriptionLagMonitor> _logger;
    private IReadOnlyList<SubscriptionRunner>? _runners;
    private volatile IReadOnlyList<(string Name, long Lag)> _last = [];

    public SubscriptionLagMonitor(IServiceProvider services, NpgsqlDataSource dataSource, EventStoreOptions storeOptions, HealthScoringMetrics metrics, ILogger<SubscriptionLagMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _services = services;
        _dataSource = dataSource;
        _storeOptions = storeOptions;
        _logger = logger;
        metrics.Meter.CreateObservableGauge("healthscoring.subscription.lag", () => _last.Select(l => new Measurement<long>(l.Lag, new KeyValuePair<string, object?>("subscription", l.Name))),
            "{event}", $"Events in the log after the subscription's position, per subscription (counted up to {MetricsCountLimit:N0}).");
    }

    /// <summary>The subscriptions this host runs (hosted <see cref="SubscriptionRunner"/>s), resolved on first use.</summary>
    private IReadOnlyList<SubscriptionRunner> Runners => _runners ??= [.. _services.GetServices<IHostedService>().OfType<SubscriptionRunner>()];

    /// <summary>Each subscription's lag, counted up to <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<(string Name, long Lag)>> MeasureAsync(long limit, CancellationToken cancellationToken)
    {
        var lags = new List<(string, long)>(Runners.Count);
        foreach (var runner in Runners)
        {
            lags.Add((runner.Name, await SubscriptionLag.OfAsync(runner, _dataSource, _storeOptions, limit, cancellationToken)));
        }

        return lags;
    }

    /// <summary>Measures again for the gauge; when PostgreSQL cannot answer, the gauge has no samples rather than stale ones.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            _last = await MeasureAsync(MetricsCountLimit, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            _last = [];
            LogUnmeasured(_logger, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription lag not measured for /metrics: PostgreSQL did not answer ({Error})")]
    private static partial void LogUnmeasured(ILogger logger, string error);
}

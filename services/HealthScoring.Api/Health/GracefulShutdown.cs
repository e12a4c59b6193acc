using System.Diagnostics;

namespace HealthScoring.Api.Health;

/// <summary>
/// How the host stops on SIGTERM (or Ctrl+C). The generic host stops its hosted services in reverse order of
/// registration, and the web server is registered last, so it stops first: Kestrel closes its listeners, lets the
/// requests in flight finish (an ingest request answers only once its events are committed) and ends open gRPC
/// client streams after the messages already received (<c>GrpcCallContext.ServerStopping</c>). Then the background
/// services stop: the alert publisher finishes and checkpoints its batch before the bus stops (no more consuming),
/// the account projection checkpoints its batch, the data-quality counters flush. Last, the container disposes the
/// group-commit writer (it drains) and then the PostgreSQL data source. All within <see cref="TimeoutKey"/>, after
/// which what is still running is cut off (and its requests were not acknowledged).
/// </summary>
public static partial class GracefulShutdown
{
    /// <summary>The setting for the whole shutdown's limit (a TimeSpan, e.g. <c>00:00:30</c>; env <c>Shutdown__Timeout</c>).</summary>
    public const string TimeoutKey = "Shutdown:Timeout";

    /// <summary>The default limit: long enough for a group commit and a projection batch on a busy machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static IHostApplicationBuilder AddGracefulShutdown(this IHostApplicationBuilder builder)
    {
        var timeout = builder.Configuration.GetValue(TimeoutKey, DefaultTimeout);
        if (timeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{TimeoutKey} must be positive; it is {timeout}.");
        }

        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = timeout);

        // Registered before every other hosted service, so it stops last: its log line closes the shutdown.
        builder.Services.AddHostedService(services => new ShutdownLog(
            services.GetRequiredService<IHostApplicationLifetime>(), services.GetRequiredService<ILogger<ShutdownLog>>(), timeout));
        return builder;
    }

    /// <summary>Says when the shutdown begins and when the background work has stopped.</summary>
    internal sealed partial class ShutdownLog(IHostApplicationLifetime lifetime, ILogger<ShutdownLog> logger, TimeSpan timeout) : IHostedService
    {
        private long _began;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStopping.Register(() =>
            {
                _began = Stopwatch.GetTimestamp();
                LogStopping(logger, timeout.TotalSeconds);
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            LogStopped(logger, _began == 0 ? 0 : Stopwatch.GetElapsedTime(_began).TotalSeconds);
            return Task.CompletedTask;
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: no new connections; finishing requests in flight and background work (limit {TimeoutSeconds} s)")]
        private static partial void LogStopping(ILogger logger, double timeoutSeconds);

        [LoggerMessage(Level = LogLevel.Information, Message = "Requests and background services stopped after {Seconds:F1} s; closing the store")]
        private static partial void LogStopped(ILogger logger, double seconds);
    }
}

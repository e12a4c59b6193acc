using System.Collections.Concurrent;
using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Testing.Fakes.Stripe;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.Stripe.Tests.Client;

/// <summary>A started <see cref="FakeStripe"/> and a client wired to it the way a host wires it (configuration, DI, typed client).</summary>
internal sealed class StripeTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StripeTestHost(FakeStripe fake, ServiceProvider services, CapturedLogs logs)
    {
        Fake = fake;
        _services = services;
        Logs = logs;
    }

    public FakeStripe Fake { get; }

    public CapturedLogs Logs { get; }

    public IStripeClient Client => _services.GetRequiredService<IStripeClient>();

    public T Resolve<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Retries wait a millisecond or so here; the policy itself is what is under test.</summary>
    public static async Task<StripeTestHost> StartAsync(
        bool withKey = true,
        int maxRetries = 3,
        TimeSpan? requestTimeout = null,
        TimeSpan? maxRetryDelay = null,
        TimeProvider? clock = null,
        Action<IConfigurationBuilder>? configure = null)
    {
        var fake = new FakeStripe(clock: clock);
        await fake.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Stripe:BaseUrl"] = fake.BaseAddress.ToString(),
            ["Stripe:MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Stripe:InitialRetryDelay"] = "00:00:00.001",
            ["Stripe:MaxRetryDelay"] = (maxRetryDelay ?? TimeSpan.FromMilliseconds(10)).ToString(),
            ["Stripe:RequestTimeout"] = (requestTimeout ?? TimeSpan.FromSeconds(30)).ToString(),
        };
        if (withKey)
        {
            settings["Stripe:SecretKey"] = fake.SecretKey;
        }

        var builder = new ConfigurationBuilder().AddInMemoryCollection(settings);
        configure?.Invoke(builder);
        var logs = new CapturedLogs();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddStripeClient(builder.Build());
        return new StripeTestHost(fake, services.BuildServiceProvider(), logs);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Fake.DisposeAsync();
    }
}

/// <summary>Every log line, formatted, with its exception text.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

using System.Collections.Concurrent;
using System.Net;
using HealthScoring.Api.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>
/// A real Kestrel on 127.0.0.1, dynamic port, HTTP/2 only (what h2c clients need), serving <see cref="EchoTestService"/>
/// and the UNIMPLEMENTED fallback. Real sockets, not TestServer: the python client must connect to it.
/// </summary>
public sealed class GrpcTestHost : IAsyncLifetime
{
    /// <summary>Smaller than the 4 MiB defaults so that limit tests stay fast, larger than HTTP/2's flow-control window.</summary>
    public const int MessageSizeLimit = 2 * 1024 * 1024;

    private WebApplication? _app;

    public EchoTestService Service { get; } = new();

    public CollectingLoggerProvider Logs { get; } = new();

    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grpc:MaxReceiveMessageSize"] = $"{MessageSizeLimit}",
            ["Grpc:MaxSendMessageSize"] = $"{MessageSizeLimit}",
        });
        builder.Logging.ClearProviders().AddProvider(Logs);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpcFraming(builder.Configuration);

        _app = builder.Build();
        Service.Map(_app);
        _app.MapGrpcUnimplementedFallback();
        await _app.StartAsync();
        Port = new Uri(_app.Urls.Single()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>Keeps what the host logs, so tests can assert that errors are logged (and what the client does not see).</summary>
public sealed class CollectingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, string Message, Exception? Exception);

    private sealed class Logger(CollectingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception), exception));
            }
        }
    }
}

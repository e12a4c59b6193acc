using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot.Tests;

/// <summary>Keeps every log line (message, state values and exception text) at every level, for assertions.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _lines = new();

    public IReadOnlyList<CapturedLog> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue(new CapturedLog(category, LogLevel.Trace, $"scope: {state}"));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join("; ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            lines.Enqueue(new CapturedLog(category, logLevel, $"{formatter(state, exception)} [{values}] {exception}"));
        }
    }
}

public sealed record CapturedLog(string Category, LogLevel Level, string Text);

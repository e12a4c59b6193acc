using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Testing;

/// <summary>
/// A logger provider that keeps every entry at every level with the scopes active when it was written (it takes the
/// factory's external scopes, as the console logger does), so tests can assert what a host logs and under which
/// scope values — and that some strings never reach a log at all.
/// </summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedEntry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<CapturedEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<CapturedScope>();
            capture._scopes.ForEachScope((scope, list) => list.Add(CapturedScope.Of(scope)), scopes);
            capture._entries.Enqueue(new CapturedEntry(category, logLevel, formatter(state, exception), ValuesOf(state), scopes, exception?.ToString()));
        }
    }

    private static Dictionary<string, string> ValuesOf(object? state) =>
        state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => Convert.ToString(g.Last().Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")
            : new Dictionary<string, string>();

    /// <summary>One scope: its text and, when it is a list of named values, those values.</summary>
    public sealed record CapturedScope(string Text, IReadOnlyDictionary<string, string> Values)
    {
        public static CapturedScope Of(object? scope) => new(scope?.ToString() ?? "", ValuesOf(scope));
    }

    /// <summary>One entry: category, level, formatted message, its named values, the scopes around it, the exception's text.</summary>
    public sealed record CapturedEntry(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, string> Values, IReadOnlyList<CapturedScope> Scopes, string? Exception)
    {
        /// <summary>Everything the entry carries, as one text to search.</summary>
        public string AllText => string.Join('\n', [Category, Message, .. Values.Select(v => $"{v.Key}={v.Value}"), .. Scopes.SelectMany(s => (string[])[s.Text, .. s.Values.Select(v => $"{v.Key}={v.Value}")]), Exception ?? ""]);
    }
}

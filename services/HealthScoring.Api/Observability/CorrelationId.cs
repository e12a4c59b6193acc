using System.Collections;
using System.Diagnostics;

namespace HealthScoring.Api.Observability;

/// <summary>
/// Gives every request (REST and gRPC alike: they share the pipeline) a correlation id: the caller's <c>X-Request-Id</c>
/// when it is a plain token (letters, digits, <c>-_.:</c>, up to 128), else the trace id of its <c>traceparent</c> (the
/// request's activity), else a new one. The id goes back as the <c>X-Request-Id</c> response header, into a logging
/// scope (<c>CorrelationId</c>) around everything the request logs, and into problem details as <c>requestId</c>.
/// </summary>
public sealed class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public const string HeaderName = "X-Request-Id";
    public const string ScopeKey = "CorrelationId";
    private const int MaxLength = 128;

    public async Task InvokeAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var id = Resolve(http.Request.Headers[HeaderName].ToString(), http.Request.Headers.TraceParent.ToString(), Activity.Current);
        http.Features.Set(new CorrelationIdFeature(id));
        // At the start of the response, not now: an exception handler clears the headers set before it ran.
        http.Response.OnStarting(static state =>
        {
            var (response, value) = ((HttpResponse, string))state;
            response.Headers[HeaderName] = value;
            return Task.CompletedTask;
        }, (http.Response, id));
        using (logger.BeginScope(new CorrelationScope(id)))
        {
            await next(http);
        }
    }

    /// <summary>The correlation id for a request's headers and activity.</summary>
    internal static string Resolve(string? requestId, string? traceParent, Activity? activity)
    {
        if (IsAcceptable(requestId))
        {
            return requestId!;
        }

        if (TraceIdOf(traceParent) is { } traceId)
        {
            return traceId;
        }

        return activity is { TraceId: var id } && id != default ? id.ToHexString() : ActivityTraceId.CreateRandom().ToHexString();
    }

    private static bool IsAcceptable(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    /// <summary>The trace id of a W3C <c>traceparent</c> (<c>00-{32 hex}-{16 hex}-{2 hex}</c>), or null when it is not one.</summary>
    internal static string? TraceIdOf(string? traceParent)
    {
        if (string.IsNullOrEmpty(traceParent) || traceParent.Length < 55 || traceParent[2] != '-' || traceParent[35] != '-' || traceParent[52] != '-')
        {
            return null;
        }

        var traceId = traceParent.Substring(3, 32);
        return traceId.All(char.IsAsciiHexDigitLower) && traceId.Any(c => c != '0') ? traceId : null;
    }
}

/// <summary>The request's correlation id (see <see cref="CorrelationIdMiddleware"/>).</summary>
public sealed record CorrelationIdFeature(string Id);

/// <summary>The logging scope: one named value, shown as <c>CorrelationId:…</c> by the simple console formatter and as a property by the JSON one.</summary>
internal sealed class CorrelationScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] => index == 0 ? new(CorrelationIdMiddleware.ScopeKey, id) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{CorrelationIdMiddleware.ScopeKey}:{id}";
}

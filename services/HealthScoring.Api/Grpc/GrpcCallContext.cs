namespace HealthScoring.Api.Grpc;

/// <summary>
/// What a handler knows about its call (the stand-in for <c>Grpc.Core.ServerCallContext</c>): request metadata,
/// cancellation, deadline, and the response trailers it wants to add.
/// </summary>
public sealed class GrpcCallContext
{
    private List<KeyValuePair<string, string>>? _responseTrailers;

    /// <summary>Creates a context; the layer does this per call, tests of handlers may do it over a <c>DefaultHttpContext</c>.</summary>
    public GrpcCallContext(HttpContext httpContext, CancellationToken cancellationToken, DateTimeOffset? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        HttpContext = httpContext;
        CancellationToken = cancellationToken;
        Deadline = deadline;
    }

    /// <summary>The underlying HTTP/2 request and response.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Fires when the client cancels (or disconnects) or the deadline passes. Pass it to everything the handler awaits.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Fires when the host begins a graceful shutdown (<c>IHostApplicationLifetime.ApplicationStopping</c>). The call
    /// itself goes on: a long-lived call ends on it by choice (a client stream's reader stops after the messages
    /// already received; a live feed ends with UNAVAILABLE), so that the shutdown need not wait for clients.
    /// </summary>
    public CancellationToken ServerStopping { get; init; }

    /// <summary>When the client's <c>grpc-timeout</c> expires; null when it sent none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>The token of <c>authorization: Bearer &lt;token&gt;</c> metadata; null when absent or malformed.</summary>
    public string? BearerToken
    {
        get
        {
            var values = HttpContext.Request.Headers.Authorization;
            if (values.Count != 1 || values[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            var token = value["Bearer ".Length..].Trim();
            return token.Length == 0 || token.Any(char.IsWhiteSpace) ? null : token;
        }
    }

    /// <summary>
    /// A request metadata value (an HTTP/2 header), repeated values joined with ","; null when absent. Keys are
    /// case-insensitive. Values of <c>-bin</c> keys are returned as sent: base64, padded or not.
    /// </summary>
    public string? GetMetadata(string key)
    {
        var values = HttpContext.Request.Headers[key];
        return values.Count == 0 ? null : values.ToString();
    }

    /// <summary>
    /// Sends the response headers now rather than with the first message (as <c>ServerCallContext.WriteResponseHeadersAsync</c>):
    /// a streaming handler that may wait long for its first message tells the client it is ready. A later error then
    /// travels in trailers.
    /// </summary>
    public async Task WriteResponseHeadersAsync()
    {
        await HttpContext.Response.StartAsync(CancellationToken);

        // Starting only queues the HEADERS frame; the flush puts it on the wire.
        await HttpContext.Response.BodyWriter.FlushAsync(CancellationToken);
    }

    /// <summary>Adds an ASCII trailer sent with the status, whether the call succeeds or fails.</summary>
    /// <param name="key">Lower-case <c>[0-9a-z_.-]</c>, not starting with <c>grpc-</c> (reserved), not ending with <c>-bin</c>.</param>
    /// <param name="value">Printable ASCII (0x20-0x7E).</param>
    public void AddResponseTrailer(string key, string value)
    {
        ValidateKey(key, binary: false);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException("ASCII metadata values must be printable ASCII; send other data in a '-bin' trailer.", nameof(value));
        }

        (_responseTrailers ??= []).Add(new(key, value));
    }

    /// <summary>Adds a binary trailer, sent base64-encoded as the protocol requires.</summary>
    /// <param name="key">Lower-case <c>[0-9a-z_.-]</c>, not starting with <c>grpc-</c>, ending with <c>-bin</c>.</param>
    /// <param name="value">Any bytes.</param>
    public void AddResponseTrailer(string key, byte[] value)
    {
        ValidateKey(key, binary: true);
        ArgumentNullException.ThrowIfNull(value);
        (_responseTrailers ??= []).Add(new(key, GrpcProtocol.ToUnpaddedBase64(value)));
    }

    internal IReadOnlyList<KeyValuePair<string, string>> ResponseTrailers => _responseTrailers ?? [];

    private static void ValidateKey(string key, bool binary)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.StartsWith("grpc-", StringComparison.Ordinal) || !key.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
        {
            throw new ArgumentException($"Metadata key '{key}' must be lower-case [0-9a-z_.-] and must not start with 'grpc-' (reserved).", nameof(key));
        }

        if (key.EndsWith("-bin", StringComparison.Ordinal) != binary)
        {
            throw new ArgumentException(binary ? "Binary metadata keys end with '-bin'." : "Keys ending with '-bin' carry bytes: use the byte[] overload.", nameof(key));
        }
    }
}

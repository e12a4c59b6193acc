using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Benchmarks;

/// <summary>
/// What the soak saw, per operation: latencies (ms), failures by kind (every one of them fails the soak), and the
/// deliberately invalid items the API rejected as it should (never failures).
/// </summary>
public sealed class SoakStats
{
    private readonly ConcurrentDictionary<string, List<double>> _latencies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _deliberateRejects;
    private long _accepted;
    private long _duplicates;

    /// <summary>Live events the API stored (HTTP and gRPC).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Deliberately repeated events the API answered as duplicates.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Deliberately invalid items the API rejected, each with the error expected of it.</summary>
    public long DeliberateRejects => Interlocked.Read(ref _deliberateRejects);

    /// <summary>Failures by kind; any is a failure of the soak.</summary>
    public IReadOnlyDictionary<string, long> Errors => _errors;

    public long ErrorCount => _errors.Values.Sum();

    public void Latency(string operation, double ms)
    {
        var list = _latencies.GetOrAdd(operation, _ => []);
        lock (list)
        {
            list.Add(ms);
        }
    }

    public void Error(string kind) => _errors.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public void Ingested(long accepted, long duplicates, long deliberateRejects)
    {
        Interlocked.Add(ref _accepted, accepted);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _deliberateRejects, deliberateRejects);
    }

    /// <summary>The operations seen so far, with a copy of their latencies.</summary>
    public IReadOnlyDictionary<string, double[]> Latencies() =>
        _latencies.ToDictionary(p => p.Key, p =>
        {
            lock (p.Value)
            {
                return p.Value.ToArray();
            }
        }, StringComparer.Ordinal);
}

/// <summary>
/// Open-loop pacing: starts <c>send(n)</c> at a fixed rate whatever the answers' speed, as independent clients
/// would, up to a cap of calls in flight (the calls of <see cref="Backlog"/> at the rate, at least 8). A call that
/// cannot start because the cap is reached is a failure (the host fell behind the load), never silently dropped.
/// </summary>
public static class SoakPacer
{
    /// <summary>How far behind the host may fall (calls in flight, as time at the rate) before calls are refused.</summary>
    public static readonly TimeSpan Backlog = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    /// <summary>Paces until <paramref name="stop"/>, then waits for the calls in flight.</summary>
    public static async Task RunAsync(string operation, double perSecond, Func<long, Task> send, SoakStats stats, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(stats);
        var maxInFlight = Math.Max(8, (int)Math.Ceiling(perSecond * Backlog.TotalSeconds));
        using var gate = new SemaphoreSlim(maxInFlight);
        var running = new List<Task>();
        var clock = Stopwatch.StartNew();
        long started = 0;
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var due = (long)(clock.Elapsed.TotalSeconds * perSecond);
                for (; started < due; started++)
                {
                    if (!await gate.WaitAsync(0, CancellationToken.None))
                    {
                        stats.Error(string.Create(CultureInfo.InvariantCulture, $"{operation}: not started, {maxInFlight} already in flight (the host fell behind)"));
                        continue;
                    }

                    var n = started;
                    running.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await send(n);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }, CancellationToken.None));
                }

                running.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The soak's time is up.
        }

        await Task.WhenAll(running);
    }
}

/// <summary>
/// The live traffic's Segment track calls: users of the seeded accounts doing things now, with a small share of
/// deliberately invalid items (no event name: rejected with the item's error) and of repeats of messageIds the
/// API already acknowledged (answered as duplicates).
/// </summary>
public sealed class SoakEvents
{
    /// <summary>Every this many /v1/batch requests, one item lacks its event name.</summary>
    public const int InvalidEvery = 5;

    /// <summary>Every this many /v1/batch requests (offset from the invalid ones), a few acknowledged messageIds are sent again.</summary>
    public const int RepeatEvery = 5;

    public const int RepeatsPerBatch = 2;

    private readonly string[] _accounts;
    private readonly string[][] _users;
    private readonly string[] _eventNames;
    private readonly ConcurrentQueue<(string MessageId, string Json)> _acknowledged = new();

    public SoakEvents(IReadOnlyList<(string AccountId, int Seats)> accounts, IReadOnlyList<string> eventNames, string userIdFormat)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        _accounts = [.. accounts.Select(a => a.AccountId)];
        // The generator's user ids: the account's number and the user's (usr_0007_003); a few of its users each.
        _users = [.. accounts.Select(a => Enumerable.Range(1, Math.Clamp(a.Seats, 1, 5))
            .Select(u => string.Format(CultureInfo.InvariantCulture, userIdFormat, a.AccountId[(a.AccountId.IndexOf('_', StringComparison.Ordinal) + 1)..], u)).ToArray())];
        _eventNames = [.. eventNames];
    }

    /// <summary>One /v1/batch body: its items, which of them are invalid, how many repeat earlier calls, and the fresh calls.</summary>
    public sealed record HttpBatch(byte[] Body, int Count, IReadOnlyList<int> Invalid, int Repeats, IReadOnlyList<(string MessageId, string Json)> Fresh);

    /// <summary>The <paramref name="n"/>th request's batch of <paramref name="count"/> items.</summary>
    public HttpBatch NextHttpBatch(long n, int count)
    {
        var items = new List<string>(count);
        var invalid = new List<int>();
        var fresh = new List<(string, string)>();
        var repeats = 0;
        if (n % RepeatEvery == 2)
        {
            for (var r = 0; r < RepeatsPerBatch && _acknowledged.TryDequeue(out var old); r++)
            {
                items.Add(old.Json);
                repeats++;
            }
        }

        while (items.Count < count)
        {
            var (id, json) = NewCall(n * count + items.Count, valid: !(n % InvalidEvery == 0 && invalid.Count == 0));
            if (id is null)
            {
                invalid.Add(items.Count);
            }
            else
            {
                fresh.Add((id, json));
            }

            items.Add(json);
        }

        return new HttpBatch(Encoding.UTF8.GetBytes($"{{\"batch\":[{string.Join(',', items)}]}}"), items.Count, invalid, repeats, fresh);
    }

    /// <summary>Marks calls as stored, so that later batches may repeat them (a few are kept).</summary>
    public void Acknowledge(IReadOnlyList<(string MessageId, string Json)> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        if (_acknowledged.Count < 1_000 && calls.Count > 0)
        {
            _acknowledged.Enqueue(calls[0]);
        }
    }

    /// <summary>One length-prefixed <see cref="IngestBatchRequest"/> of <paramref name="count"/> valid calls.</summary>
    public byte[] NextGrpcFrame(long seed, int count)
    {
        var request = new IngestBatchRequest();
        for (var i = 0; i < count; i++)
        {
            var (account, user, name) = Pick(seed * count + i);
            var context = new Struct();
            context.Fields["groupId"] = Value.ForString(account);
            request.Messages.Add(new SegmentMessage
            {
                Track = new Track
                {
                    Common = new Common { MessageId = Guid.NewGuid().ToString("D"), UserId = user, Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Context = context },
                    Event = name,
                    Properties = new Struct(),
                },
            });
        }

        var size = request.CalculateSize();
        var frame = new byte[5 + size];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
        request.WriteTo(frame.AsSpan(5));
        return frame;
    }

    private (string? MessageId, string Json) NewCall(long seed, bool valid)
    {
        var (account, user, name) = Pick(seed);
        var id = Guid.NewGuid().ToString("D");
        var call = new JsonObject
        {
            ["type"] = "track",
            ["messageId"] = id,
            ["userId"] = user,
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["context"] = new JsonObject { ["groupId"] = account },
        };
        if (valid)
        {
            call["event"] = name;
        }

        return (valid ? id : null, call.ToJsonString());
    }

    private (string Account, string User, string Event) Pick(long seed)
    {
        var a = (int)((seed * 7919) % _accounts.Length);
        var users = _users[a];
        return (_accounts[a], users[(int)(seed % users.Length)], _eventNames[(int)((seed / 3) % _eventNames.Length)]);
    }
}

/// <summary>The soak's REST clients: Segment's /v1/batch with the write key, and the read endpoints with the API key.</summary>
public sealed class SoakHttp : IDisposable
{
    private static readonly Uri BatchUri = new("v1/batch", UriKind.Relative);

    private readonly SocketsHttpHandler _handler;
    private readonly HttpClient _client;
    private readonly AuthenticationHeaderValue _write;
    private readonly AuthenticationHeaderValue _read;
    private readonly SoakStats _stats;

    public SoakHttp(Uri restUrl, string writeKey, string apiKey, SoakStats stats)
    {
        _handler = new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        _client = new HttpClient(_handler, disposeHandler: false) { BaseAddress = restUrl, Timeout = TimeSpan.FromSeconds(30) };
        _write = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        _read = new AuthenticationHeaderValue("Bearer", apiKey);
        _stats = stats;
    }

    /// <summary>
    /// Posts one batch and checks the answer item by item: 200 with every fresh call accepted and every repeat a
    /// duplicate, or, when the batch holds deliberately invalid items, 400 naming exactly those items.
    /// </summary>
    public async Task SendBatchAsync(SoakEvents.HttpBatch batch, SoakEvents events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(events);
        using var content = new ByteArrayContent(batch.Body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, BatchUri) { Content = content };
        request.Headers.Authorization = _write;
        var answer = await SendAsync("ingest.http", "POST /v1/batch", request, cancellationToken);
        if (answer is not { } a)
        {
            return;
        }

        var expected = batch.Invalid.Count == 0 ? HttpStatusCode.OK : HttpStatusCode.BadRequest;
        if (a.Status != expected)
        {
            _stats.Error(string.Create(CultureInfo.InvariantCulture, $"POST /v1/batch: HTTP {(int)a.Status}, expected {(int)expected}"));
            return;
        }

        using var json = JsonDocument.Parse(a.Body);
        var root = json.RootElement;
        var accepted = root.GetProperty("accepted").GetInt32();
        var duplicates = root.GetProperty("duplicates").GetInt32();
        var rejected = root.TryGetProperty("errors", out var errors)
            ? errors.EnumerateArray().Select(e => e.GetProperty("index").GetInt32()).Distinct().Order().ToList()
            : [];
        if (accepted != batch.Fresh.Count || duplicates != batch.Repeats || !rejected.SequenceEqual(batch.Invalid))
        {
            _stats.Error("POST /v1/batch: counts other than sent (accepted, duplicates or rejected items)");
            return;
        }

        _stats.Ingested(accepted, duplicates, rejected.Count);
        events.Acknowledge(batch.Fresh);
    }

    /// <summary>GETs a read endpoint; anything but 200 is a failure. Returns the body, or null.</summary>
    public async Task<byte[]?> GetAsync(string operation, string route, string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(pathAndQuery, UriKind.Relative));
        request.Headers.Authorization = _read;
        var answer = await SendAsync(operation, $"GET {route}", request, cancellationToken);
        if (answer is { Status: HttpStatusCode.OK } ok)
        {
            return ok.Body;
        }

        if (answer is { } other)
        {
            _stats.Error(string.Create(CultureInfo.InvariantCulture, $"GET {route}: HTTP {(int)other.Status}"));
        }

        return null;
    }

    public void Dispose()
    {
        _client.Dispose();
        _handler.Dispose();
    }

    private async Task<(HttpStatusCode Status, byte[] Body)?> SendAsync(string operation, string what, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            _stats.Latency(operation, sw.Elapsed.TotalMilliseconds);
            return (response.StatusCode, body);
        }
        catch (HttpRequestException ex)
        {
            _stats.Error($"{what}: {ex.HttpRequestError}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _stats.Error($"{what}: no answer within {_client.Timeout.TotalSeconds:F0}s");
        }

        return null;
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;
using GrpcStatus = HealthScoring.Api.Grpc.StatusCode;

namespace HealthScoring.Api.Tests.Resilience;

/// <summary>
/// A client that keeps sending events as a careful Segment library or gRPC service would: each batch carries new
/// unique messageIds; a batch refused for now (HTTP 503/429, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED) is sent again,
/// the same messageIds, after its retry hint; a batch counts as acknowledged only when the answer says it was stored.
/// It records every acknowledged messageId and every answer it saw, so a test can check that nothing acknowledged was
/// lost and that no answer was an error the client could not retry.
/// </summary>
internal sealed class IngestLoad(Uri restUrl, Uri grpcUrl, string writeKey)
{
    private readonly ConcurrentDictionary<string, byte> _acknowledged = new();
    private readonly ConcurrentDictionary<string, int> _answers = new();
    private readonly ConcurrentDictionary<string, int> _successes = new();

    /// <summary>The messageIds the host acknowledged.</summary>
    public IReadOnlyCollection<string> Acknowledged => (IReadOnlyCollection<string>)_acknowledged.Keys;

    /// <summary>Every answer seen ("http 200", "grpc Unavailable", …) and how often.</summary>
    public IReadOnlyDictionary<string, int> Answers => _answers;

    /// <summary>Answers a client could not have retried: anything not a success nor a retryable refusal with a retry hint.</summary>
    public IReadOnlyList<string> Unexpected => [.. _answers.Keys.Where(a => !a.EndsWith(" ok", StringComparison.Ordinal) && !a.EndsWith(" retry", StringComparison.Ordinal))];

    /// <summary>Retryable refusals seen.</summary>
    public int Refusals => _answers.Where(a => a.Key.EndsWith(" retry", StringComparison.Ordinal)).Sum(a => a.Value);

    /// <summary>Acknowledged batches per worker.</summary>
    public int Successes(string worker) => _successes.GetValueOrDefault(worker);

    /// <summary>Four HTTP clients (as the demo sends), one unary and one streaming gRPC client, all at once.</summary>
    public static readonly string[] Workers = ["http-1", "http-2", "http-3", "http-4", "grpc-batch", "grpc-stream"];

    /// <summary>Runs the workers until <paramref name="stop"/> fires; a batch being retried then is abandoned, unacknowledged.</summary>
    public Task RunAsync(CancellationToken stop) => Task.WhenAll(Workers.Select(worker => RunWorkerAsync(worker, stop)));

    private async Task RunWorkerAsync(string worker, CancellationToken stop)
    {
        using var client = worker.StartsWith("http", StringComparison.Ordinal)
            ? new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = restUrl }
            : GrpcHttp.CreateClient(grpcUrl);
        var batch = 0;
        while (!stop.IsCancellationRequested)
        {
            // Messages per batch: 3 gRPC stream messages of 50, or one batch of 100.
            var ids = Enumerable.Range(0, worker == "grpc-stream" ? 150 : 100).Select(i => $"{worker}-{batch}-{i}-{Guid.NewGuid():N}").ToList();
            batch++;
            while (!stop.IsCancellationRequested)
            {
                var (answer, retryAfter) = await SendAsync(client, worker, ids);
                _answers.AddOrUpdate(answer, 1, (_, n) => n + 1);
                if (answer.EndsWith(" ok", StringComparison.Ordinal))
                {
                    foreach (var id in ids)
                    {
                        _acknowledged.TryAdd(id, 0);
                    }

                    _successes.AddOrUpdate(worker, 1, (_, n) => n + 1);
                    break;
                }

                if (!answer.EndsWith(" retry", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(retryAfter, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task<(string Answer, TimeSpan RetryAfter)> SendAsync(HttpClient client, string worker, List<string> ids)
    {
        try
        {
            return worker switch
            {
                "grpc-batch" => await SendGrpcAsync(client, "IngestBatch", [ids]),
                "grpc-stream" => await SendGrpcAsync(client, "IngestStream", ids.Chunk(50).Select(c => c.ToList()).ToList()),
                _ => await SendHttpAsync(client, ids),
            };
        }
        catch (HttpRequestException ex)
        {
            // The host never goes away in these tests: a broken connection is a failure, not an outage.
            return ($"{worker} transport {ex.HttpRequestError}", TimeSpan.Zero);
        }
    }

    private async Task<(string, TimeSpan)> SendHttpAsync(HttpClient client, List<string> ids)
    {
        using var response = await IngestCalls.PostBatchAsync(client, writeKey, ids, Account, CancellationToken.None);
        await response.Content.ReadAsByteArrayAsync();
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return ($"http {status} ok", TimeSpan.Zero);
        }

        // A refusal for now must say when to come back: Retry-After in seconds.
        var retryable = status is 503 or 429 && response.Headers.RetryAfter?.Delta is { } delta && delta >= TimeSpan.FromSeconds(1)
            && response.Content.Headers.ContentType?.MediaType == "application/problem+json";
        return retryable ? ($"http {status} retry", response.Headers.RetryAfter!.Delta!.Value) : ($"http {status}", TimeSpan.Zero);
    }

    private async Task<(string, TimeSpan)> SendGrpcAsync(HttpClient client, string method, List<List<string>> messages)
    {
        var body = messages.SelectMany(m => GrpcHttp.Frame(IngestCalls.Request(m, Account))).ToArray();
        var response = await IngestCalls.CallAsync(client, writeKey, $"/healthscoring.v1.Ingest/{method}", body, CancellationToken.None);
        if (response.Status == GrpcStatus.Ok)
        {
            var reply = IngestResponse.Parser.ParseFrom(response.Messages.Single());
            return (reply.Accepted + reply.Duplicates == messages.Sum(m => m.Count) ? $"grpc {method} ok" : $"grpc {method} ok but counts {reply}", TimeSpan.Zero);
        }

        var metadata = response.StatusMetadata;
        var retryable = response.Status is GrpcStatus.Unavailable or GrpcStatus.ResourceExhausted
            && metadata.TryGetValue("grpc-retry-pushback-ms", out var pushback) && metadata.ContainsKey("retry-after");
        return retryable
            ? ($"grpc {response.Status} retry", TimeSpan.FromMilliseconds(long.Parse(metadata["grpc-retry-pushback-ms"], CultureInfo.InvariantCulture)))
            : ($"grpc {response.Status} {response.Message}", TimeSpan.Zero);
    }

    /// <summary>Eight accounts, so that group commits span several streams.</summary>
    private static string Account(string messageId) => $"load-{(uint)messageId.GetHashCode(StringComparison.Ordinal) % 8}";
}

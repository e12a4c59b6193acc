using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Resilience;
using HealthScoring.Api.Tenancy;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;
using GrpcStatus = HealthScoring.Api.Grpc.StatusCode;

namespace HealthScoring.Api.Tests.Resilience;

/// <summary>
/// The real host with tight limits: 10 events per key at once and 3 queries per API key, each refilled by one every
/// 20 seconds (so nothing refills during a test), and one ingest request at a time with none waiting.
/// </summary>
public sealed class LimitedApiFixture : LiveApiFixture
{
    protected override void Configure(IDictionary<string, string?> settings)
    {
        settings["RateLimits:Ingest:EventsPerSecond"] = "0.05";
        settings["RateLimits:Ingest:Burst"] = "10";
        settings["RateLimits:Ingest:MaxConcurrentRequests"] = "1";
        settings["RateLimits:Ingest:QueueLimit"] = "0";
        settings["RateLimits:Api:RequestsPerSecond"] = "0.05";
        settings["RateLimits:Api:Burst"] = "3";
    }
}

/// <summary>Rate limits per key (429 / RESOURCE_EXHAUSTED with a retry hint) and the bound on ingest work (503).</summary>
public sealed class RateLimitTests(LimitedApiFixture host) : IClassFixture<LimitedApiFixture>, IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.RestUrl };
    private readonly HttpClient _grpc = GrpcHttp.CreateClient(new Uri($"http://127.0.0.1:{host.GrpcPort}/"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_key_past_its_burst_gets_429_with_Retry_After_and_nothing_of_the_batch_is_stored()
    {
        var key = await host.CreateKeyAsync(KeyKind.Write, "burst");
        using var first = await PostBatchAsync(key, Ids(10));
        var refusedIds = Ids(10);
        using var refused = await PostBatchAsync(key, refusedIds);

        first.StatusCode.ShouldBe(HttpStatusCode.OK, await first.Content.ReadAsStringAsync(Ct));
        var body = await refused.Content.ReadAsStringAsync(Ct);
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests, body);
        refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        // Whole seconds, rounded up, never 0; at most what 10 events take at one per 20 s.
        refused.Headers.RetryAfter?.Delta.ShouldNotBeNull().ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(200));
        using var problem = JsonDocument.Parse(body);
        problem.RootElement.GetProperty("title").GetString().ShouldBe("Rate limit exceeded");
        body.ShouldNotContain(key);
        (await StoredAsync(refusedIds)).ShouldBe(0);
    }

    [Fact]
    public async Task Keys_do_not_share_a_bucket()
    {
        var spent = await host.CreateKeyAsync(KeyKind.Write, "spent");
        var fresh = await host.CreateKeyAsync(KeyKind.Write, "fresh");
        using var spending = await PostBatchAsync(spent, Ids(10));
        using var refused = await PostBatchAsync(spent, Ids(10));
        using var other = await PostBatchAsync(fresh, Ids(10));

        spending.StatusCode.ShouldBe(HttpStatusCode.OK);
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        other.StatusCode.ShouldBe(HttpStatusCode.OK, await other.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task gRPC_ingest_past_the_burst_is_RESOURCE_EXHAUSTED_with_a_retry_hint_and_shares_the_keys_bucket_with_HTTP()
    {
        var key = await host.CreateKeyAsync(KeyKind.Write, "grpc");
        using var overHttp = await PostBatchAsync(key, Ids(8));
        var withinBurst = await SendGrpcAsync(key, Ids(2));
        var refusedIds = Ids(1);
        var refused = await SendGrpcAsync(key, refusedIds);

        overHttp.StatusCode.ShouldBe(HttpStatusCode.OK);
        withinBurst.Status.ShouldBe(GrpcStatus.Ok, withinBurst.Message);
        refused.Status.ShouldBe(GrpcStatus.ResourceExhausted, refused.Message);
        refused.Message.ShouldNotBeNull().ShouldContain("events per second");
        long.Parse(refused.StatusMetadata["grpc-retry-pushback-ms"], System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(1, 20_000);
        int.Parse(refused.StatusMetadata["retry-after"], System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(1, 20);
        (await StoredAsync(refusedIds)).ShouldBe(0);
    }

    [Fact]
    public async Task An_API_key_past_its_burst_gets_429_over_REST_and_RESOURCE_EXHAUSTED_over_gRPC()
    {
        var key = await host.CreateKeyAsync(KeyKind.Api, "queries");
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 10; i++)
        {
            var response = await GetAsync(key, "v1/accounts");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
                break;
            }

            response.Dispose();
        }

        statuses.ShouldBe([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests]);
        using (refused)
        {
            refused!.Headers.RetryAfter?.Delta.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
            refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        }

        var grpc = await IngestCalls.CallAsync(_grpc, key, "/healthscoring.v1.Accounts/ListAccounts", GrpcHttp.Frame(new ListAccountsRequest()), Ct);
        grpc.Status.ShouldBe(GrpcStatus.ResourceExhausted, grpc.Message);
        grpc.StatusMetadata.ShouldContainKey("grpc-retry-pushback-ms");

        // Another API key, and a write key sending events, are not held back by this key's queries.
        using var other = await GetAsync(await host.CreateKeyAsync(KeyKind.Api, "other queries"), "v1/accounts");
        other.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var ingest = await PostBatchAsync(host.AcmeWriteKey, Ids(1));
        ingest.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task When_every_ingest_slot_is_taken_and_none_may_wait_a_request_gets_503_with_Retry_After_instead_of_queueing()
    {
        // A batch whose body has not arrived holds the host's one slot (taken before the body is read).
        var key = await host.CreateKeyAsync(KeyKind.Write, "slots");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heldIds = Ids(1);
        using var held = new HttpRequestMessage(HttpMethod.Post, "v1/batch") { Content = new HeldBackContent(IngestCalls.BatchJson(heldIds, Account), release.Task) };
        held.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var holder = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.RestUrl };
        var holding = holder.SendAsync(held, Ct);

        // Once the held request has the slot (taken before its body is read), the next is refused at once. Bounded:
        // should the held request end instead (Kestrel gives up on a body that does not come), the test says so.
        var limits = host.Services.GetRequiredService<BackPressure>();
        var waitingKey = await host.CreateKeyAsync(KeyKind.Write, "slots, waiting");
        using (var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            bound.CancelAfter(TimeSpan.FromSeconds(60));
            while (limits.IngestSlotsFree > 0)
            {
                holding.IsCompleted.ShouldBeFalse("the held request ended before it took the host's ingest slot");
                await Task.Delay(20, bound.Token);
            }
        }

        using var busy = await PostBatchAsync(waitingKey, Ids(1));
        var body = await busy.Content.ReadAsStringAsync(Ct);
        busy.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
        busy.Headers.RetryAfter?.Delta.ShouldBe(TimeSpan.FromSeconds(1));
        JsonDocument.Parse(body).RootElement.GetProperty("title").GetString().ShouldBe("Too busy");

        release.SetResult();
        using var done = await holding;
        done.StatusCode.ShouldBe(HttpStatusCode.OK, await done.Content.ReadAsStringAsync(Ct));
        (await StoredAsync(heldIds)).ShouldBe(1);
    }

    public void Dispose()
    {
        _http.Dispose();
        _grpc.Dispose();
    }

    private static List<string> Ids(int count) => [.. Enumerable.Range(0, count).Select(_ => $"rl-{Guid.NewGuid():N}")];

    private Task<HttpResponseMessage> PostBatchAsync(string key, IEnumerable<string> ids) => IngestCalls.PostBatchAsync(_http, key, ids, Account, Ct);

    private static readonly Func<string, string> Account = _ => "acct-limits";

    private async Task<HttpResponseMessage> GetAsync(string key, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _http.SendAsync(request, Ct);
    }

    private Task<GrpcResponse> SendGrpcAsync(string key, IEnumerable<string> ids) => IngestCalls.IngestBatchAsync(_grpc, key, ids, Account, Ct);

    private async Task<int> StoredAsync(IEnumerable<string> messageIds)
    {
        await using var command = host.DataSource.CreateCommand($"select count(*) from {host.Schema}.events where tenant_id = 'acme' and event_id = any($1)");
        command.Parameters.AddWithValue(messageIds.Select(IngestionPipeline.EventIdOf).ToArray());
        return (int)(long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>A request body that starts only when released: the request is in the host, its body not yet read.</summary>
    private sealed class HeldBackContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly Task _release;

        public HeldBackContent(string json, Task release)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            _release = release;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.FlushAsync();
            await _release;
            await stream.WriteAsync(_bytes);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}

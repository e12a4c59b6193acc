using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Portfolio;
using HealthScoring.Api.Resilience;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using GrpcStatus = HealthScoring.Api.Grpc.StatusCode;

namespace HealthScoring.Api.Tests.Resilience;

/// <summary>The host on a PostgreSQL of its own, keeping what it logs.</summary>
public sealed class PostgresRestartFixture : PostgresNodeApiFixture
{
    public CollectingLoggerProvider Logs { get; } = new();

    protected override void Configure(WebApplicationBuilder builder) => builder.Logging.AddProvider(Logs);
}

/// <summary>
/// The real host on a PostgreSQL of its own (<see cref="PostgresNode"/>), which these tests stop and restart under it:
/// while the database is away every answer is a retryable refusal with a retry hint, never a 500 or INTERNAL; nothing
/// acknowledged is lost; and the host recovers by itself.
/// </summary>
public sealed class PostgresRestartTests(PostgresRestartFixture host) : IClassFixture<PostgresRestartFixture>
{
    /// <summary>How long the database stays down in the restart test: long enough for every client to meet the outage.</summary>
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(3);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restarting_PostgreSQL_during_ingest_loses_no_acknowledged_event_and_clients_see_only_retryable_refusals()
    {
        var logged = host.Logs.Entries.Count;
        var load = new IngestLoad(host.RestUrl, new Uri($"http://127.0.0.1:{host.GrpcPort}/"), host.AcmeWriteKey);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = load.RunAsync(stop.Token);

        // Traffic on every door before the restart, through it, and after it until every door has been acknowledged again.
        await WaitForAsync(() => IngestLoad.Workers.All(w => load.Successes(w) >= 3), running, "every client's first acknowledgements", load);
        await host.Postgres.RestartAsync(Downtime, Ct);
        var before = IngestLoad.Workers.ToDictionary(w => w, load.Successes);
        await WaitForAsync(() => IngestLoad.Workers.All(w => load.Successes(w) >= before[w] + 3), running, "acknowledgements after the restart", load);
        await stop.CancelAsync();
        await running;

        TestContext.Current.TestOutputHelper?.WriteLine($"{load.Acknowledged.Count} messageIds acknowledged; answers: {Describe(load)}");
        load.Unexpected.ShouldBeEmpty($"answers seen: {Describe(load)}");
        load.Refusals.ShouldBeGreaterThan(0, $"the clients must have met the outage; answers seen: {Describe(load)}");
        var missing = await MissingFromStoreAsync(load.Acknowledged);
        missing.ShouldBeEmpty($"{missing.Count} of {load.Acknowledged.Count} acknowledged messageIds are not in the store, e.g. {string.Join(", ", missing.Take(5))}");

        // The background subscriptions came back too: each leads again and the projection reads past the last event.
        var last = await LastPositionAsync();
        var runners = host.Services.GetServices<IHostedService>().OfType<SubscriptionRunner>().ToList();
        runners.ShouldNotBeEmpty();
        await WaitForAsync(() => runners.All(r => r.IsLeader) && runners.Single(r => r.Name == AccountDailyProjection.SubscriptionName).Position >= last,
            Task.Delay(Timeout.Infinite, Ct), "the subscriptions to resume", load);

        // Nothing was an unhandled error, and the outage was logged once per component, not once per refused request.
        var entries = host.Logs.Entries.Skip(logged).ToList();
        entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception?.GetType().Name}").ShouldBeEmpty();
        var warnings = entries.Where(e => e.Level == LogLevel.Warning).GroupBy(e => e.Category).ToDictionary(g => g.Key, g => g.Count());
        TestContext.Current.TestOutputHelper?.WriteLine($"warnings logged: {Describe(warnings)}");
        warnings.GetValueOrDefault(typeof(StoreUnavailable).FullName!).ShouldBeLessThanOrEqualTo(1, Describe(warnings));
        warnings.GetValueOrDefault(typeof(SubscriptionRunner).FullName!).ShouldBeLessThanOrEqualTo(runners.Count, Describe(warnings));
        warnings.GetValueOrDefault(typeof(QualityCounters).FullName!).ShouldBeLessThanOrEqualTo(1, Describe(warnings));
        warnings.GetValueOrDefault(typeof(HealthChangeFeed).FullName!).ShouldBeLessThanOrEqualTo(1, Describe(warnings));
    }

    [Fact]
    public async Task While_PostgreSQL_is_stopped_ingest_and_reads_answer_503_or_UNAVAILABLE_with_a_retry_hint_and_work_again_after()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.RestUrl };
        using var grpc = GrpcHttp.CreateClient(new Uri($"http://127.0.0.1:{host.GrpcPort}/"));
        var messageId = $"stopped-{Guid.NewGuid():N}";

        await host.Postgres.StopAsync(Ct);
        try
        {
            // Whether the key is still cached or its lookup needs the database too, the answer is 503, never 500.
            using var batch = await PostBatchAsync(http, messageId);
            await ShouldBeUnavailableAsync(batch);
            using var read = new HttpRequestMessage(HttpMethod.Get, "v1/accounts");
            read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.AcmeApiKey);
            using var readResponse = await http.SendAsync(read, Ct);
            await ShouldBeUnavailableAsync(readResponse);

            var grpcAnswer = await SendGrpcBatchAsync(grpc, messageId);
            grpcAnswer.Status.ShouldBe(GrpcStatus.Unavailable, grpcAnswer.Message);
            grpcAnswer.StatusMetadata["retry-after"].ShouldBe("2");
            grpcAnswer.StatusMetadata["grpc-retry-pushback-ms"].ShouldBe("2000");
            var grpcRead = await IngestCalls.CallAsync(grpc, host.AcmeApiKey, "/healthscoring.v1.Accounts/ListAccounts", GrpcHttp.Frame(new ListAccountsRequest()), Ct);
            grpcRead.Status.ShouldBe(GrpcStatus.Unavailable, grpcRead.Message);
            grpcRead.StatusMetadata.ShouldContainKey("grpc-retry-pushback-ms");
        }
        finally
        {
            await host.Postgres.StartAsync(Ct);
        }

        // Back without restarting the host; a pooled connection broken by the restart may cost one more refusal.
        var again = await RetryWhileRefusedAsync(() => PostBatchAsync(http, messageId));
        again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync(Ct));
        (await MissingFromStoreAsync([messageId])).ShouldBeEmpty();
        var grpcAgain = await SendGrpcBatchAsync(grpc, messageId);
        grpcAgain.Status.ShouldBe(GrpcStatus.Ok, grpcAgain.Message);
        IngestResponse.Parser.ParseFrom(grpcAgain.Messages.Single()).Duplicates.ShouldBe(1);
    }

    private static async Task ShouldBeUnavailableAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
        response.Headers.RetryAfter?.Delta.ShouldBe(TimeSpan.FromSeconds(2));
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        using var problem = JsonDocument.Parse(body);
        problem.RootElement.GetProperty("status").GetInt32().ShouldBe(503);
        problem.RootElement.GetProperty("title").GetString().ShouldBe("Database unavailable");
        body.ShouldNotContain("Npgsql", Case.Insensitive);
        body.ShouldNotContain("Password", Case.Insensitive);
    }

    private Task<HttpResponseMessage> PostBatchAsync(HttpClient http, string messageId) =>
        IngestCalls.PostBatchAsync(http, host.AcmeWriteKey, [messageId], _ => "acct-stopped", Ct);

    private Task<GrpcResponse> SendGrpcBatchAsync(HttpClient grpc, string messageId) =>
        IngestCalls.IngestBatchAsync(grpc, host.AcmeWriteKey, [messageId], _ => "acct-stopped", Ct);

    private static async Task<HttpResponseMessage> RetryWhileRefusedAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 10)
            {
                return response;
            }

            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait, Ct);
        }
    }

    /// <summary>The acknowledged messageIds whose events (ids derived as the pipeline derives them) are not in the store.</summary>
    private async Task<List<string>> MissingFromStoreAsync(IReadOnlyCollection<string> messageIds)
    {
        // A data source of its own: the fixture's pooled connections did not survive the restart.
        await using var dataSource = NpgsqlDataSource.Create(host.ConnectionString);
        var stored = await StoredEventIds.AmongAsync(dataSource, host.Schema, "acme", messageIds.Select(IngestionPipeline.EventIdOf), Ct);
        return [.. messageIds.Where(id => !stored.Contains(IngestionPipeline.EventIdOf(id)))];
    }

    private async Task<LogPosition> LastPositionAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(host.ConnectionString);
        await LogHorizon.WaitUntilReadableAsync(dataSource, TimeSpan.FromMilliseconds(50), Ct);
        await using var command = dataSource.CreateCommand($"select tx_id, seq from {host.Schema}.events order by tx_id desc, seq desc limit 1");
        await using var reader = await command.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        return new LogPosition(await reader.GetFieldValueAsync<ulong>(0, Ct), reader.GetInt64(1));
    }

    /// <summary>
    /// Waits for <paramref name="condition"/>; fails if <paramref name="running"/> ends first (a client crashed) or it
    /// takes unreasonably long (a host that never recovers), naming what it waited for.
    /// </summary>
    private static async Task WaitForAsync(Func<bool> condition, Task running, string what, IngestLoad load)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (running.IsCompleted)
            {
                await running;
                throw new InvalidOperationException($"The clients stopped before {what}; answers seen: {Describe(load)}");
            }

            if (waited.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"No {what} after {waited.Elapsed}; answers seen: {Describe(load)}");
            }

            await Task.Delay(100, Ct);
        }
    }

    private static string Describe(Dictionary<string, int> warnings) => string.Join(", ", warnings.Select(w => $"{w.Key} × {w.Value}"));

    private static string Describe(IngestLoad load) => string.Join(", ", load.Answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} × {a.Value}"));
}

using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Alerts;
using HealthScoring.EventStore;
using HealthScoring.Testing;

namespace HealthScoring.Resilience.Tests;

/// <summary>
/// SIGTERM to the API host during sustained ingest over HTTP and gRPC, with the bus on its own RabbitMQ vhost: the
/// requests in flight are answered (an HTTP batch inside its handler, an IngestStream held open), every success
/// answer's events are stored, no client sees an error other than a refused or closed connection (or a stream's
/// UNAVAILABLE saying what it handled), the process exits 0, and each subscription's checkpoint is where it stopped.
/// </summary>
public sealed partial class GracefulShutdownTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private const int Calls = 9_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_SIGTERM_requests_in_flight_are_answered_acknowledged_events_are_stored_and_the_host_exits_0()
    {
        await using var vhost = await RabbitMqVhost.CreateAsync(Ct);
        var settings = new Dictionary<string, string>
        {
            ["RabbitMq__Host"] = RabbitMqVhost.Host,
            ["RabbitMq__Port"] = RabbitMqVhost.Port.ToString(CultureInfo.InvariantCulture),
            ["RabbitMq__Username"] = RabbitMqVhost.Username,
            ["RabbitMq__Password"] = RabbitMqVhost.Password,
            ["RabbitMq__VirtualHost"] = vhost.Name,
            // The shutdown's steps, in the order they happen, for the assertions below.
            ["Logging__LogLevel__HealthScoring.Api.Health"] = "Information",
            ["Logging__LogLevel__HealthScoring.EventStore.Subscriptions"] = "Information",
            ["Logging__LogLevel__MassTransit"] = "Information",
        };
        using var ingest = SustainedIngest.Create(Calls, accounts: 200);
        var workload = ingest.Workload;
        var stored = new StoredIngest(fixture.DataSource, fixture.Schema);
        var httpProbe = Enumerable.Range(ingest.LaneCalls, 100).ToList();
        var streamProbe = Enumerable.Range(ingest.LaneCalls + 100, 100).ToList();

        var phases = System.Diagnostics.Stopwatch.StartNew();
        await using var host = await SustainedIngest.StartHostAsync(fixture.Schema, settings, Ct);
        Log($"host started in {phases.Elapsed.TotalSeconds:F1} s");
        var key = await SustainedIngest.CreateWriteKeyAsync(fixture.DataSource, fixture.Schema, Ct);
        ingest.Start(host, key);
        await ingest.WaitForAcknowledgedAsync(3_000, perLane: 4, Ct);

        // Two requests surely in flight at the SIGTERM: a stream whose two messages are stored while it stays open,
        // and an HTTP batch inside its handler (100 Continue), its body not yet complete.
        using var stream = HeldIngestStream.Open(host.GrpcUrl, key, [workload.IngestBatchFrame(streamProbe[0], 50), workload.IngestBatchFrame(streamProbe[50], 50)]);
        await stream.Written.WaitAsync(Ct);
        await WaitUntilStoredAsync(stored, workload, streamProbe);
        await using var http = await HeldHttpRequest.OpenAsync(host.RestUrl, key, workload.SegmentBatchJson(httpProbe[0], httpProbe.Count), Ct);

        Log($"{ingest.AcknowledgedEvents:N0} events acknowledged and both probes in flight after {phases.Elapsed.TotalSeconds:F1} s; SIGTERM");
        phases.Restart();
        await host.TerminateAsync();
        await WaitUntilRefusedAsync(host.RestUrl);
        var (httpStatus, httpBody) = await http.FinishAsync(Ct);
        var (streamStatus, streamAnswer) = await stream.AnswerAsync(Ct);
        int exitCode;
        using (var hangGuard = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            hangGuard.CancelAfter(TimeSpan.FromSeconds(120));
            exitCode = await host.WaitForExitAsync(hangGuard.Token);
        }

        Log($"the host exited {phases.Elapsed.TotalSeconds:F1} s after the SIGTERM");
        await ingest.StopAsync();
        var output = host.OutputTail();
        Log(string.Join(Environment.NewLine, ingest.Lanes));

        exitCode.ShouldBe(0, output);
        httpStatus.ShouldBe(200, $"the batch in flight at the SIGTERM is answered: {httpBody}");
        httpBody.ShouldContain("\"accepted\":100");
        streamStatus.ShouldBe("14", "the open stream ends with UNAVAILABLE (send the rest again)");
        streamAnswer.ShouldNotBeNull("the UNAVAILABLE carries what the stream handled");
        (streamAnswer.Accepted + streamAnswer.Duplicates).ShouldBe(100);
        ingest.Failures.Where(f => !f.ConnectionLevel && f.GrpcStatus != "14").ShouldBeEmpty("only refused or closed connections, and streams cut short with UNAVAILABLE");

        // Every success answer's events are stored, once.
        var acknowledged = ingest.AcknowledgedCalls();
        (await stored.MissingAsync(workload, [.. acknowledged, .. httpProbe, .. streamProbe], Ct)).ShouldBeEmpty("acknowledged events not stored");
        (await stored.CopiesByMessageIdAsync(Ct)).Where(c => c.Value != 1).ShouldBeEmpty("messageIds stored more than once");

        // Each subscription stopped at a checkpoint it saved: the position it had reached, no batch left half done.
        var stops = StoppedAt().Matches(output).ToDictionary(m => m.Groups[1].Value, m => new LogPosition(ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
        foreach (var name in new[] { AccountDailyProjection.SubscriptionName, AlertPublisher.SubscriptionName })
        {
            stops.ShouldContainKey(name, output);
            (await stored.CheckpointAsync(name, Ct)).ShouldBe(stops[name], $"{name}'s saved checkpoint");
        }

        // The projection's aggregates hold exactly the events up to its checkpoint: nothing after it, none missing.
        var projected = (await stored.DailyEventsAsync(Ct)).Values.Sum(v => (long)v);
        projected.ShouldBe(await stored.AccountTracksUpToAsync(stops[AccountDailyProjection.SubscriptionName], Ct));
        Log($"{acknowledged.Count:N0} events acknowledged; the projection had handled {projected:N0} at the stop");

        // The order: no new connections, requests finished, the publisher checkpoints before the bus stops, the
        // projection after it, the store last.
        Position(output, "Shutting down: no new connections").ShouldBeLessThan(Position(output, $"Subscription {AlertPublisher.SubscriptionName} stopped"));
        Position(output, $"Subscription {AlertPublisher.SubscriptionName} stopped").ShouldBeLessThan(Position(output, "Bus stopped"));
        Position(output, "Bus stopped").ShouldBeLessThan(Position(output, $"Subscription {AccountDailyProjection.SubscriptionName} stopped"));
        Position(output, $"Subscription {AccountDailyProjection.SubscriptionName} stopped").ShouldBeLessThan(Position(output, "Requests and background services stopped"));
    }

    private readonly System.Diagnostics.Stopwatch _sinceStart = System.Diagnostics.Stopwatch.StartNew();

    private void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine($"[{_sinceStart.Elapsed.TotalSeconds,5:F1} s] {line}");

    [GeneratedRegex(@"Subscription (\S+) stopped; its checkpoint is (\d+)/(\d+)")]
    private static partial Regex StoppedAt();

    private static int Position(string output, string text)
    {
        var at = output.IndexOf(text, StringComparison.Ordinal);
        at.ShouldBeGreaterThanOrEqualTo(0, $"'{text}' is not in the host's output:{Environment.NewLine}{output}");
        return at;
    }

    private static async Task WaitUntilStoredAsync(StoredIngest stored, IngestWorkload workload, IReadOnlyList<int> calls)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(60));
        while ((await stored.MissingAsync(workload, calls, guard.Token)).Count > 0)
        {
            await Task.Delay(20, guard.Token);
        }
    }

    /// <summary>Waits until the host refuses new connections: its shutdown has begun (or it is gone).</summary>
    private static async Task WaitUntilRefusedAsync(Uri url)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync(url.Host, url.Port, guard.Token);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                // Refused: the listener is closed. Reset: it closed with this connection still in its backlog.
                return;
            }

            await Task.Delay(20, guard.Token);
        }
    }
}

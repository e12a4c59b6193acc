using System.Diagnostics;
using HealthScoring.Testing;

namespace HealthScoring.Resilience.Tests;

/// <summary>
/// kill -9 of the API host during sustained ingest over HTTP and gRPC: after a restart on the same schema every
/// event that got a success answer is in the store exactly once, resending the rest stores each at most once, and
/// the daily aggregates catch up to exactly the events sent.
/// </summary>
public sealed class KillDashNineTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private const int Calls = 9_000;

    /// <summary>Acknowledged events to wait for before the kill ("some thousands").</summary>
    private const int AcknowledgedBeforeKill = 3_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string> Settings = new()
    {
        // The bus plays no part here; the projection does (it is on by default).
        ["RabbitMq__Enabled"] = "false",
    };

    private readonly System.Diagnostics.Stopwatch _sinceStart = System.Diagnostics.Stopwatch.StartNew();

    private void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine($"[{_sinceStart.Elapsed.TotalSeconds,5:F1} s] {line}");

    [Fact]
    public async Task Every_acknowledged_event_survives_a_kill_9_during_sustained_ingest_exactly_once()
    {
        Log("test started");
        using var ingest = SustainedIngest.Create(Calls, accounts: 200);
        var stored = new StoredIngest(fixture.DataSource, fixture.Schema);
        var phases = Stopwatch.StartNew();
        var host = await SustainedIngest.StartHostAsync(fixture.Schema, Settings, Ct);
        Log($"host started in {phases.Elapsed.TotalSeconds:F1} s");
        string key;
        int exitCode;
        try
        {
            key = await SustainedIngest.CreateWriteKeyAsync(fixture.DataSource, fixture.Schema, Ct);
            var clock = Stopwatch.StartNew();
            ingest.Start(host, key);
            await ingest.WaitForAcknowledgedAsync(AcknowledgedBeforeKill, perLane: 4, Ct);

            // SIGKILL with every lane sending: each lane's request or call in flight is cut.
            host.Kill();
            exitCode = await host.WaitForExitAsync(Ct);
            Log("the host is gone");
            Log($"killed after {clock.Elapsed.TotalSeconds:F1} s of ingest with {ingest.AcknowledgedEvents:N0} events acknowledged");
            phases.Restart();
            await ingest.WaitForFailuresInEveryLaneAsync(Ct);
            await ingest.StopAsync();
            Log($"the senders stopped {phases.Elapsed.TotalSeconds:F1} s after the kill");
        }
        finally
        {
            await host.DisposeAsync();
        }

        exitCode.ShouldBe(137, "the host died of SIGKILL (128 + 9)");
        var acknowledged = ingest.AcknowledgedCalls();
        acknowledged.Count.ShouldBeGreaterThanOrEqualTo(AcknowledgedBeforeKill);
        ingest.Lanes.ShouldAllBe(l => l.Recorder.Failures.Count > 0, "every lane had requests cut by the kill");
        Log(string.Join(Environment.NewLine, ingest.Lanes));

        phases.Restart();
        await using var restarted = await SustainedIngest.StartHostAsync(fixture.Schema, Settings, Ct);
        Log($"host restarted in {phases.Elapsed.TotalSeconds:F1} s");

        // Every acknowledged event is there, by its derived event id, and no messageId is stored twice.
        phases.Restart();
        (await stored.MissingAsync(ingest.Workload, acknowledged, Ct)).ShouldBeEmpty("acknowledged events lost by the kill");
        var copies = await stored.CopiesByMessageIdAsync(Ct);
        copies.Where(c => c.Value != 1).ShouldBeEmpty("messageIds stored more than once");
        Log($"after the restart: {acknowledged.Count:N0} acknowledged, {copies.Count:N0} stored (the rest were committed but their answers were cut); checked in {phases.Elapsed.TotalSeconds:F1} s");

        // The senders resend everything not acknowledged: each is stored at most once, and now all are stored.
        phases.Restart();
        var resent = await ingest.ResendUnacknowledgedAsync(restarted, key, Ct);
        Log($"{resent:N0} unacknowledged payloads resent in {phases.Elapsed.TotalSeconds:F1} s");
        resent.ShouldBeGreaterThan(0);
        copies = await stored.CopiesByMessageIdAsync(Ct);
        copies.Where(c => c.Value != 1).ShouldBeEmpty("messageIds stored more than once after the resend");
        var sent = Enumerable.Range(0, ingest.LaneCalls).Select(ingest.Workload.MessageId).ToHashSet(StringComparer.Ordinal);
        sent.Where(m => !copies.ContainsKey(m)).ShouldBeEmpty("sent but not stored after the resend");
        copies.Keys.Where(m => !sent.Contains(m)).ShouldBeEmpty("stored but never sent");

        // The restarted host's projection resumes from its checkpoint: the aggregates count each call once.
        phases.Restart();
        await stored.WaitForProjectionAsync(restarted, Ct);
        Log($"the projection caught up {phases.Elapsed.TotalSeconds:F1} s after the resend");
        var daily = await stored.DailyEventsAsync(Ct);
        var expected = StoredIngest.ExpectedDaily(ingest.Workload, Enumerable.Range(0, ingest.LaneCalls));
        daily.Where(d => expected.GetValueOrDefault(d.Key) != d.Value).ShouldBeEmpty("days counted differently from the calls sent");
        daily.Count.ShouldBe(expected.Count);
        var acknowledgedDaily = StoredIngest.ExpectedDaily(ingest.Workload, acknowledged);
        acknowledgedDaily.ShouldAllBe(d => daily.GetValueOrDefault(d.Key) >= d.Value, "every acknowledged track is in its day's aggregate");
        phases.Restart();
        await restarted.DisposeAsync();
        Log($"the restarted host stopped in {phases.Elapsed.TotalSeconds:F1} s");
    }
}

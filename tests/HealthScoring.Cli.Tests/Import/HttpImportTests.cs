using System.Net;
using System.Text.Json;
using HealthScoring.Cli.Import;
using HealthScoring.Testing;

namespace HealthScoring.Cli.Tests.Import;

/// <summary><c>import events --api</c>: the file goes through the real host's <c>POST /v1/batch</c> on a socket.</summary>
public sealed class HttpImportTests(LiveApiFixture host) : IClassFixture<LiveApiFixture>
{
    private const string Tenant = "acme";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<long> StoredEventsAsync()
    {
        await using var count = host.DataSource.CreateCommand($"select count(*) from {host.Schema}.events where tenant_id = $1");
        count.Parameters.AddWithValue(Tenant);
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>Answers 503 with Retry-After to the first few requests, then lets the rest through to the real host.</summary>
    private sealed class FlakyFront(int failures) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _left = failures;
        private int _refused;

        /// <summary>How many requests were answered 503 (the sender runs several at once: counted atomically).</summary>
        public int Refused => Volatile.Read(ref _refused);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _left) >= 0)
            {
                Interlocked.Increment(ref _refused);
                var busy = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
                busy.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromMilliseconds(100));
                return busy;
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    private static async Task<FileInfo> WriteFileAsync(string name, IEnumerable<string> lines)
    {
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}.jsonl"));
        await File.WriteAllLinesAsync(file.FullName, lines, Ct);
        return file;
    }

    private static string Track(int i, string? eventName = "Report Viewed") => JsonSerializer.Serialize(new
    {
        type = "track",
        messageId = $"http-{i}",
        userId = $"u-{i % 13}",
        @event = eventName,
        context = new { groupId = $"acct-{i % 7}" },
        timestamp = "2026-09-01T10:00:00Z",
        properties = new { padding = new string('x', 300) },
    });

    [Fact]
    public async Task A_file_sent_through_the_API_is_stored_once_with_bad_lines_named_and_retries_after_503_storing_nothing_twice()
    {
        // ~5,000 lines of ~450 bytes span several 480 KB batches; line 2,001 has no event name, line 3,001 is cut short.
        var lines = Enumerable.Range(0, 5_000).Select(i => Track(i)).ToList();
        lines[2_000] = Track(2_000, eventName: null);
        lines[3_000] = "{\"type\":\"track\",\"messageId\":";
        var file = await WriteFileAsync("http-import", lines);
        var front = new FlakyFront(failures: 3);
        using var http = new HttpClient(front) { BaseAddress = host.RestUrl };
        HttpEventSender.UseWriteKey(http, host.AcmeWriteKey);
        var sender = new HttpEventSender(http, new HttpEventSender.Options { Concurrency = 3, FirstBackoff = TimeSpan.FromMilliseconds(50) });
        try
        {
            var first = await sender.SendAsync(file, Ct);
            var again = await sender.SendAsync(file, Ct);

            front.Refused.ShouldBe(3);
            first.Lines.ShouldBe(5_000);
            first.Accepted.ShouldBe(4_998);
            first.Rejected.ShouldBe(2);
            first.Reasons.Values.Select(r => r.FirstLine).Order().ShouldBe([2_001, 3_001]);
            first.Reasons.Keys.ShouldContain(k => k.StartsWith("malformed JSON", StringComparison.Ordinal));
            first.Reasons.Keys.ShouldContain(k => k.Contains("event", StringComparison.Ordinal));
            again.Accepted.ShouldBe(0);
            again.Duplicates.ShouldBe(4_998);
            (await StoredEventsAsync()).ShouldBe(4_998);
        }
        finally
        {
            file.Delete();
        }
    }

    [Fact]
    public async Task A_wrong_write_key_stops_the_import_with_a_clear_error()
    {
        var file = await WriteFileAsync("http-import-badkey", [Track(1)]);
        using var http = new HttpClient { BaseAddress = host.RestUrl };
        HttpEventSender.UseWriteKey(http, "wk_not-a-real-key");
        try
        {
            var error = await Should.ThrowAsync<CliException>(() => new HttpEventSender(http, new HttpEventSender.Options()).SendAsync(file, Ct));

            error.Message.ShouldContain("refused the write key (401)");
        }
        finally
        {
            file.Delete();
        }
    }
}

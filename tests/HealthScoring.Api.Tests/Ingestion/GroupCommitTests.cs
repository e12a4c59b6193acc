using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;

namespace HealthScoring.Api.Tests.Ingestion;

public sealed class GroupCommitTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StreamEvent Event(Guid id) => new("s", new NewEvent(id, new object()));

    [Fact]
    public void An_id_written_by_the_commit_is_stored_for_its_first_occurrence_and_a_duplicate_elsewhere()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();

        // a: new, in requests 0 and 1 (one copy reported); b: stored before (reported twice, once per copy);
        // c: new, once.
        var split = GroupCommitAppender.Split([[Event(a), Event(b)], [Event(b), Event(a), Event(c)]], [a, b, b]);

        split[0].ShouldBe([b]);
        split[1].ShouldBe([b, a]);
    }

    [Fact]
    public async Task Concurrent_overlapping_batches_store_each_message_once_and_answer_for_it_once()
    {
        // 24 requests race over 6 accounts; each message id is sent by two different requests.
        var account = Enumerable.Range(0, 6).Select(_ => $"gc-{Guid.NewGuid():N}").ToArray();
        var ids = Enumerable.Range(0, 600).Select(i => $"gc-msg-{Guid.NewGuid():N}").ToArray();
        JsonObject Track(int i) => new()
        {
            ["type"] = "track",
            ["messageId"] = ids[i],
            ["userId"] = $"u{i % 13}",
            ["event"] = "Report Viewed",
            ["context"] = new JsonObject { ["groupId"] = account[i % account.Length] },
            ["timestamp"] = "2026-05-01T10:00:00Z",
        };

        var requests = Enumerable.Range(0, 24).Select(r =>
        {
            var slice = Enumerable.Range(0, 50).Select(k => ((r % 12) * 50) + k).Select(Track).ToArray();
            return new JsonObject { ["batch"] = new JsonArray(slice) };
        }).ToList();

        using var client = fixture.Client(fixture.AcmeWriteKey);
        var answers = await Task.WhenAll(requests.Select(async body =>
        {
            var response = await client.PostAsJsonAsync("/v1/batch", body, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        }));

        answers.Sum(a => a["accepted"]!.GetValue<int>()).ShouldBe(600);
        answers.Sum(a => a["duplicates"]!.GetValue<int>()).ShouldBe(600);
        var stored = 0;
        foreach (var id in account)
        {
            stored += await fixture.Service<IEventStore>().ReadStreamAsync("acme", IngestionPipeline.AccountStream(id), cancellationToken: Ct).CountAsync(Ct);
        }

        stored.ShouldBe(600);
    }
}

using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthScoring.Api.Ingestion;
using HealthScoring.EventStore;

namespace HealthScoring.Api.Tests.Ingestion;

public sealed class SegmentHttpTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IEventStore Store => fixture.Service<IEventStore>();

    [Theory]
    [InlineData("track", "/v1/track")]
    [InlineData("identify", "/v1/identify")]
    [InlineData("group", "/v1/group")]
    [InlineData("batch", "/v1/batch")]
    public async Task The_Segment_specs_own_example_payloads_are_accepted(string example, string path)
    {
        var body = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Ingestion", "SegmentSpec", example + ".json"), Ct);
        using var client = fixture.Client(fixture.GlobexWriteKey);

        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Ct);
        answer!["success"]!.GetValue<bool>().ShouldBeTrue();
        (answer["accepted"]!.GetValue<int>() + answer["duplicates"]!.GetValue<int>()).ShouldBe(example == "batch" ? 4 : 1);
    }

    [Fact]
    public async Task A_track_with_a_group_id_lands_in_the_accounts_stream_with_its_timestamp()
    {
        var account = NewId("acct");
        using var client = fixture.Client(fixture.AcmeWriteKey);

        var response = await client.PostAsJsonAsync("/v1/track", new
        {
            messageId = NewId("m"),
            userId = "u1",
            @event = "Report Exported",
            properties = new { format = "csv" },
            context = new { groupId = account },
            timestamp = "2026-05-01T10:00:00Z",
        }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var stored = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).SingleAsync(Ct);
        var track = stored.Data.ShouldBeOfType<TrackRecorded>();
        track.Event.ShouldBe("Report Exported");
        track.Properties!["format"]!.GetValue<string>().ShouldBe("csv");
        stored.OccurredAt.ShouldBe(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero));
        stored.Metadata.Source.ShouldBe("http");
    }

    [Fact]
    public async Task Basic_auth_with_the_write_key_as_user_name_and_bearer_keys_both_work()
    {
        using var basic = fixture.Client(fixture.AcmeWriteKey, basic: true);
        using var bearer = fixture.Client(fixture.AcmeApiKey, basic: false);

        (await basic.PostAsJsonAsync("/v1/track", Track(NewId("acct")), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await bearer.PostAsJsonAsync("/v1/track", Track(NewId("acct")), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Missing_unknown_and_revoked_keys_get_401_problem_details()
    {
        using var none = fixture.Client();
        using var unknown = fixture.Client("hs_wk_aaaaaaaaaaaaa_" + new string('x', 43));
        using var revoked = fixture.Client(fixture.RevokedKey);

        foreach (var client in new[] { none, unknown, revoked })
        {
            var response = await client.PostAsJsonAsync("/v1/track", Track(NewId("acct")), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            response.Headers.WwwAuthenticate.ShouldNotBeEmpty();
        }
    }

    [Fact]
    public async Task Another_tenants_key_is_refused_with_403_when_the_request_names_its_tenant()
    {
        using var client = fixture.Client(fixture.GlobexWriteKey);
        client.DefaultRequestHeaders.Add("X-HealthScoring-Tenant", "acme");
        var account = NewId("acct");

        var response = await client.PostAsJsonAsync("/v1/track", Track(account), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
        (await Store.GetStreamVersionAsync("globex", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Each_key_writes_only_into_its_own_tenant()
    {
        using var globex = fixture.Client(fixture.GlobexWriteKey);
        var account = NewId("acct");

        (await globex.PostAsJsonAsync("/v1/track", Track(account), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await Store.GetStreamVersionAsync("globex", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Malformed_JSON_gets_a_400_problem_naming_the_position()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);

        var response = await client.PostAsync("/v1/batch", new StringContent("{\"batch\": [ {\"type\": \"track\", ", Encoding.UTF8, "application/json"), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>(Ct);
        problem!["title"]!.GetValue<string>().ShouldBe("Malformed JSON");
        problem["detail"]!.GetValue<string>().ShouldContain("LineNumber");
    }

    [Fact]
    public async Task Oversize_payloads_get_413_and_an_oversize_message_in_a_batch_is_rejected_alone()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var big = new string('x', 33 * 1024);
        var account = NewId("acct");

        var single = await client.PostAsJsonAsync("/v1/track", Track(account, properties: new { big }), Ct);
        var batch = await client.PostAsJsonAsync("/v1/batch", new { batch = Enumerable.Range(0, 20).Select(_ => Track(account, "track", new { big })) }, Ct);
        var mixed = await client.PostAsJsonAsync("/v1/batch", new { batch = new[] { Track(account, "track"), Track(account, "track", new { big }) } }, Ct);

        single.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        batch.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        mixed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await mixed.Content.ReadFromJsonAsync<JsonObject>(Ct);
        problem!["accepted"]!.GetValue<int>().ShouldBe(1);
        problem["errors"]!.AsArray().ShouldHaveSingleItem()!["index"]!.GetValue<int>().ShouldBe(1);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
    }

    [Fact]
    public async Task In_a_mixed_batch_the_valid_items_are_stored_and_the_invalid_ones_reported_by_index_and_field()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var account = NewId("acct");
        var batch = new JsonArray
        {
            JsonSerializer.SerializeToNode(Track(account, "track")),
            new JsonObject { ["type"] = "track", ["messageId"] = NewId("m"), ["userId"] = "u1", ["context"] = new JsonObject { ["groupId"] = account } },
            new JsonObject { ["type"] = "page", ["messageId"] = NewId("m"), ["userId"] = "u1" },
            new JsonObject { ["type"] = "track", ["messageId"] = NewId("m"), ["event"] = "Clicked" },
            new JsonObject { ["type"] = "track", ["messageId"] = NewId("m"), ["userId"] = "u1", ["event"] = "Clicked", ["timestamp"] = "yesterday-ish" },
            new JsonObject { ["type"] = "track", ["messageId"] = NewId("m"), ["userId"] = "u1", ["event"] = "Clicked", ["timestamp"] = DateTimeOffset.UtcNow.AddDays(3).ToString("O") },
            new JsonObject { ["type"] = "group", ["messageId"] = NewId("m"), ["userId"] = "u1" },
            JsonSerializer.SerializeToNode(Track(account, "track")),
        };

        var response = await client.PostAsJsonAsync("/v1/batch", new JsonObject { ["batch"] = batch }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>(Ct);
        problem!["accepted"]!.GetValue<int>().ShouldBe(2);
        var errors = problem["errors"]!.AsArray().Select(e => (e!["index"]!.GetValue<int>(), e["field"]!.GetValue<string>())).ToList();
        errors.ShouldBe([(1, "event"), (2, "type"), (3, "userId"), (4, "timestamp"), (5, "timestamp"), (6, "groupId")]);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(2);
    }

    [Fact]
    public async Task A_message_sent_twice_is_stored_once_and_reported_as_a_duplicate()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var account = NewId("acct");
        var message = Track(account);

        var first = await (await client.PostAsJsonAsync("/v1/track", message, Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);
        var second = await (await client.PostAsJsonAsync("/v1/batch", new { batch = new[] { message with { type = "track" } } }, Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);

        first!["accepted"]!.GetValue<int>().ShouldBe(1);
        second!["accepted"]!.GetValue<int>().ShouldBe(0);
        second["duplicates"]!.GetValue<int>().ShouldBe(1);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
    }

    [Fact]
    public async Task Tracks_of_an_ungrouped_user_are_kept_unassigned_and_attributed_when_a_group_call_arrives()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var user = NewId("user");
        var account = NewId("acct");

        var early = await (await client.PostAsJsonAsync("/v1/batch", new { batch = new object[]
        {
            new { type = "track", messageId = NewId("m"), userId = user, @event = "Signed Up" },
            new { type = "track", messageId = NewId("m"), userId = user, @event = "Project Created" },
        } }, Ct)).Content.ReadFromJsonAsync<JsonObject>(Ct);
        early!["unassigned"]!.GetValue<int>().ShouldBe(2);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();

        var grouped = await client.PostAsJsonAsync("/v1/group", new { messageId = NewId("m"), userId = user, groupId = account, traits = new { name = "Initech", plan = "pro" } }, Ct);
        grouped.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.PostAsJsonAsync("/v1/track", new { messageId = NewId("m"), userId = user, @event = "Report Viewed" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var stream = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        stream.Select(e => e.Data switch
        {
            UserGrouped => $"group ({e.Metadata.Source})",
            TrackRecorded t => $"{t.Event} ({e.Metadata.Source})",
            _ => "?",
        }).ShouldBe(["group (http)", "Signed Up (attribution)", "Project Created (attribution)", "Report Viewed (http)"]);

        // A second group call (say, a trait update) attributes nothing twice.
        (await client.PostAsJsonAsync("/v1/group", new { messageId = NewId("m"), userId = user, groupId = account, traits = new { employees = 50 } }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).CountAsync(Ct)).ShouldBe(5);
        await using var traits = fixture.DataSource.CreateCommand($"select traits::text from {fixture.Schema}.accounts where tenant_id = 'acme' and account_id = $1");
        traits.Parameters.AddWithValue(account);
        var merged = JsonNode.Parse((string)(await traits.ExecuteScalarAsync(Ct))!)!;
        merged["name"]!.GetValue<string>().ShouldBe("Initech");
        merged["employees"]!.GetValue<int>().ShouldBe(50);
    }

    [Fact]
    public async Task Timestamps_are_corrected_for_the_senders_clock_skew_using_sentAt()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var account = NewId("acct");
        var skew = TimeSpan.FromHours(2); // the sender's clock is two hours behind ours
        var now = DateTimeOffset.UtcNow;
        var senderNow = now - skew;

        var response = await client.PostAsJsonAsync("/v1/batch", new
        {
            sentAt = senderNow.ToString("O"),
            batch = new[] { new { type = "track", messageId = NewId("m"), userId = "u", @event = "Clicked", timestamp = senderNow.AddMinutes(-5).ToString("O"), context = new { groupId = account } } },
        }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var stored = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).SingleAsync(Ct);
        (stored.OccurredAt - now.AddMinutes(-5)).Duration().ShouldBeLessThan(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_gzip_body_is_accepted()
    {
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var account = NewId("acct");
        var json = JsonSerializer.SerializeToUtf8Bytes(new { batch = new[] { Track(account, "track") } });
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(json, Ct);
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        (await client.PostAsync("/v1/batch", content, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
    }

    private static TrackBody Track(string account, string? type = null, object? properties = null) =>
        new(type, NewId("m"), "u1", "Clicked", properties, new { groupId = account });

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private sealed record TrackBody(
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? type,
        string messageId, string userId, [property: System.Text.Json.Serialization.JsonPropertyName("event")] string Event, object? properties, object context);
}

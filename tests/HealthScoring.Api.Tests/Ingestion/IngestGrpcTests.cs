using System.Text.Json;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.EventStore;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Ingestion;

/// <summary>healthscoring.v1.Ingest against a real gRPC client: Debian's python3-grpcio.</summary>
public sealed class IngestGrpcTests(LiveApiFixture host) : IClassFixture<LiveApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IngestBatch_stores_the_messages_and_answers_the_counts()
    {
        var account = NewAccount();
        var result = await RunAsync("batch_ok", account);

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        Response(result).GetProperty("accepted").GetInt32().ShouldBe(3);
        var events = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        events.Select(e => ((TrackRecorded)e.Data!).Event).ShouldBe(["Report Viewed", "Report Viewed", "Export Created"]);
        ((TrackRecorded)events[0].Data!).Properties!["pages"]!.GetValue<double>().ShouldBe(3);
        events[0].Metadata.Source.ShouldBe("grpc");
    }

    [Fact]
    public async Task A_batch_with_invalid_items_answers_INVALID_ARGUMENT_with_per_item_errors_and_keeps_the_valid_ones()
    {
        var account = NewAccount();
        var result = await RunAsync("batch_mixed", account);

        result.Code.ShouldBe(StatusCode.InvalidArgument, result.ToString());
        result.Details!.ShouldContain("2 of 3");
        var violations = result.Json.GetProperty("violations").EnumerateArray().Select(v => v.GetProperty("field").GetString()).ToList();
        violations.ShouldBe(["messages[1].event", "messages[2].userId"]);
        Response(result).GetProperty("accepted").GetInt32().ShouldBe(1);
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBe(1);
    }

    [Theory]
    [InlineData("no_key")]
    [InlineData("bad_key")]
    public async Task Calls_without_a_valid_key_are_UNAUTHENTICATED_and_store_nothing(string scenario)
    {
        var account = NewAccount();
        var result = await RunAsync(scenario, account);

        result.Code.ShouldBe(StatusCode.Unauthenticated, result.ToString());
        (await Store.GetStreamVersionAsync("acme", IngestionPipeline.AccountStream(account), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task IngestStream_takes_many_batches_and_answers_once_with_duplicates_counted()
    {
        var streamed = await RunAsync("stream_ok", NewAccount());
        var duplicated = await RunAsync("stream_duplicates", NewAccount());

        streamed.Code.ShouldBe(StatusCode.Ok, streamed.ToString());
        Response(streamed).GetProperty("accepted").GetInt32().ShouldBe(6);
        duplicated.Code.ShouldBe(StatusCode.Ok, duplicated.ToString());
        Response(duplicated).GetProperty("accepted").GetInt32().ShouldBe(4);
        Response(duplicated).GetProperty("duplicates").GetInt32().ShouldBe(4);
    }

    [Fact]
    public async Task IngestStream_applies_its_messages_in_order()
    {
        // An ungrouped track (kept unassigned), a group call, then twelve messages of a track without an account and an
        // identify: each message is finished before the next is handled, so every later track resolves to the account
        // the group call named, and the identifies' traits are recorded in stream order (the last plan wins).
        var account = NewAccount();
        var result = await RunAsync("stream_in_order", account);

        result.Code.ShouldBe(StatusCode.Ok, result.ToString());
        Response(result).GetProperty("accepted").GetInt32().ShouldBe(26);
        Response(result).GetProperty("unassigned").GetInt32().ShouldBe(1, "only the track before the group call had no account when it was stored");
        var stream = await Store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct);
        stream.Count(e => e.Data is TrackRecorded).ShouldBe(13, "the twelve tracks after the group call, and the earlier one attributed by it");
        await using var traits = host.DataSource.CreateCommand(
            $"select account_id, traits->>'plan' from {host.Schema}.users where tenant_id = 'acme' and user_key = $1");
        traits.Parameters.AddWithValue($"{account}-user");
        await using var reader = await traits.ExecuteReaderAsync(Ct);
        (await reader.ReadAsync(Ct)).ShouldBeTrue();
        reader.GetString(0).ShouldBe(account);
        reader.GetString(1).ShouldBe("p12");
    }

    [Fact]
    public async Task The_clients_deadline_is_honoured()
    {
        var result = await RunAsync("deadline", NewAccount());

        result.Code.ShouldBe(StatusCode.DeadlineExceeded, result.ToString());
    }

    private IEventStore Store => host.Services.GetRequiredService<IEventStore>();

    private Task<InteropResult> RunAsync(string scenario, string account) =>
        InteropClient.RunScriptAsync(Path.Combine("tests", "HealthScoring.Api.Tests", "Ingestion", "ingest_client.py"),
            [host.GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture), scenario, host.AcmeWriteKey, account]);

    private static JsonElement Response(InteropResult result) => result.Json.GetProperty("response");

    private static string NewAccount() => $"acct-{Guid.NewGuid():N}";
}

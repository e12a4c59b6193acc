using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Api.Tests.Resilience;

/// <summary>The calls these tests send: a Segment <c>/v1/batch</c> of tracks and a gRPC <c>IngestBatch</c>, each with a key.</summary>
internal static class IngestCalls
{
    /// <summary>A <c>{"batch":[…]}</c> body: one track per messageId, in the account <paramref name="account"/> names.</summary>
    public static string BatchJson(IEnumerable<string> messageIds, Func<string, string> account) =>
        JsonSerializer.Serialize(new { batch = messageIds.Select(id => new { type = "track", messageId = id, userId = "u1", @event = "Resilience Test", context = new { groupId = account(id) } }) });

    public static async Task<HttpResponseMessage> PostBatchAsync(HttpClient http, string key, IEnumerable<string> messageIds, Func<string, string> account, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/batch") { Content = new StringContent(BatchJson(messageIds, account), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request, cancellationToken);
    }

    /// <summary>One <c>IngestBatchRequest</c>: a track per messageId.</summary>
    public static IngestBatchRequest Request(IEnumerable<string> messageIds, Func<string, string> account)
    {
        var request = new IngestBatchRequest();
        request.Messages.AddRange(messageIds.Select(id => new SegmentMessage
        {
            Track = new Track { Common = new Common { MessageId = id, UserId = "u1" }, Event = "Resilience Test", GroupId = account(id) },
        }));
        return request;
    }

    /// <summary>A gRPC call of <paramref name="path"/> with the frames in <paramref name="body"/> and <c>authorization: Bearer</c> metadata.</summary>
    public static async Task<GrpcResponse> CallAsync(HttpClient grpc, string key, string path, byte[] body, CancellationToken cancellationToken)
    {
        using var request = GrpcHttp.Request(path, body);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await GrpcHttp.SendAsync(grpc, request, cancellationToken);
    }

    public static Task<GrpcResponse> IngestBatchAsync(HttpClient grpc, string key, IEnumerable<string> messageIds, Func<string, string> account, CancellationToken cancellationToken) =>
        CallAsync(grpc, key, "/healthscoring.v1.Ingest/IngestBatch", GrpcHttp.Frame(Request(messageIds, account)), cancellationToken);
}

using System.Buffers;
using System.Text;
using HealthScoring.Api.Ingestion;
using Microsoft.AspNetCore.Http;

namespace HealthScoring.Api.Tests.Ingestion;

/// <summary>
/// The HTTP body's pooled buffer stays with the parsed document until the request is done with it. A JsonDocument
/// parsed from memory reads its values from that memory, so a buffer given back to the pool early is rented by the
/// next request, whose body then overwrites the messages still being read: a batch answered with another request's
/// message ids (seen as "accepted 499, duplicates 1" in a benchmark run, and as a fuzz case answered 200).
/// </summary>
public sealed class BodyBufferTests
{
    private const int Limit = 500 * 1024;

    [Fact]
    public async Task A_parsed_body_keeps_its_content_while_other_requests_rent_and_fill_pooled_buffers()
    {
        var json = """{"batch":[{"type":"track","messageId":"m-1","userId":"u-1","event":"Report Viewed"}]}""";
        var http = new DefaultHttpContext();
        http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        http.Request.ContentLength = json.Length;

        var (body, size, problem) = await SegmentHttpEndpoints.ReadBodyAsync(http, Limit);
        problem.ShouldBeNull();
        size.ShouldBe(json.Length);
        using (body)
        {
            // What the next request does: rent a buffer of the same size (the pool hands out the one just returned,
            // if any) and read its own body into it.
            var next = ArrayPool<byte>.Shared.Rent(Limit + 1);
            next.AsSpan().Fill((byte)'x');
            ArrayPool<byte>.Shared.Return(next);

            var message = body!.Root.GetProperty("batch")[0];
            message.GetProperty("messageId").GetString().ShouldBe("m-1");
            message.GetProperty("event").GetString().ShouldBe("Report Viewed");
        }
    }

    [Fact]
    public async Task A_body_the_client_breaks_off_is_a_client_error_not_a_server_one()
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new BrokenOffBody();

        var (body, _, problem) = await SegmentHttpEndpoints.ReadBodyAsync(http, Limit);

        body.ShouldBeNull();
        var result = problem.ShouldBeOfType<Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>();
        result.StatusCode.ShouldBe(StatusCodes.Status400BadRequest);
        result.ProblemDetails.Title.ShouldBe("Incomplete request body");
    }

    /// <summary>A request body whose client went away mid-way, as Kestrel reports it.</summary>
    private sealed class BrokenOffBody : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new BadHttpRequestException("Unexpected end of request content.", StatusCodes.Status400BadRequest);
    }

    [Fact]
    public async Task A_body_that_is_not_json_gives_its_buffer_back_and_answers_a_problem()
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new MemoryStream("{not json"u8.ToArray());

        var (body, _, problem) = await SegmentHttpEndpoints.ReadBodyAsync(http, Limit);

        body.ShouldBeNull();
        problem.ShouldNotBeNull();
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using HealthScoring.Api.Observability;

namespace HealthScoring.Api.Tests.Observability;

public sealed class CorrelationIdTests(ObservabilityFixture fixture) : IClassFixture<ObservabilityFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_callers_request_id_comes_back_and_every_log_line_of_the_request_carries_it()
    {
        var id = $"req-{Guid.NewGuid():N}";
        using var client = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe/no-such-tenant") { Content = new StringContent("{}") };
        request.Headers.Add("X-Request-Id", id);

        using var response = await client.SendAsync(request, Ct);

        response.Headers.GetValues("X-Request-Id").ShouldBe([id]);
        var lines = fixture.Logs.Entries.Where(e => e.Scopes.Any(s => s.Values.GetValueOrDefault(CorrelationIdMiddleware.ScopeKey) == id)).ToList();
        lines.ShouldContain(e => e.Message.Contains("Stripe webhook for tenant no-such-tenant refused", StringComparison.Ordinal));
        fixture.Logs.Entries.Where(e => e.Message.Contains("tenant no-such-tenant refused", StringComparison.Ordinal))
            .ShouldAllBe(e => e.Scopes.Any(s => s.Values.GetValueOrDefault(CorrelationIdMiddleware.ScopeKey) == id));
    }

    [Fact]
    public async Task A_traceparent_gives_its_trace_id_and_a_request_without_either_gets_a_new_one()
    {
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var client = fixture.Client();
        using var traced = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        traced.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");

        using var fromTrace = await client.SendAsync(traced, Ct);
        using var plain1 = await client.GetAsync("/health/live", Ct);
        using var plain2 = await client.GetAsync("/health/live", Ct);

        fromTrace.Headers.GetValues("X-Request-Id").ShouldBe([TraceId]);
        var (a, b) = (plain1.Headers.GetValues("X-Request-Id").Single(), plain2.Headers.GetValues("X-Request-Id").Single());
        a.ShouldMatch("^[0-9a-f]{32}$");
        b.ShouldMatch("^[0-9a-f]{32}$");
        a.ShouldNotBe(b);
    }

    [Fact]
    public async Task Problem_details_carry_the_request_id()
    {
        using var client = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/accounts");
        request.Headers.Add("X-Request-Id", "problem-42");

        using var response = await client.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        problem["requestId"]!.GetValue<string>().ShouldBe("problem-42");
        response.Headers.GetValues("X-Request-Id").ShouldBe(["problem-42"]);
    }

    [Theory]
    [InlineData("abc-123_x.y:z", null, "abc-123_x.y:z")]
    [InlineData("has space", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736")]
    [InlineData("line\nfeed", null, null)]
    [InlineData(null, "00-00000000000000000000000000000000-00f067aa0ba902b7-01", null)]
    [InlineData(null, "garbage", null)]
    public void Only_plain_request_ids_and_real_trace_ids_are_taken(string? requestId, string? traceParent, string? expected)
    {
        var id = CorrelationIdMiddleware.Resolve(requestId, traceParent, activity: null);

        if (expected is null)
        {
            id.ShouldMatch("^[0-9a-f]{32}$");
            id.ShouldNotBe("00000000000000000000000000000000");
        }
        else
        {
            id.ShouldBe(expected);
        }
    }

    [Fact]
    public void A_request_id_longer_than_128_characters_is_replaced_by_the_activitys_trace_id()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();

        CorrelationIdMiddleware.Resolve(new string('a', 129), null, activity).ShouldBe(activity.TraceId.ToHexString());
        CorrelationIdMiddleware.Resolve(new string('a', 128), null, activity).ShouldBe(new string('a', 128));
    }

    [Fact]
    public void Scrape_tokens_match_only_when_equal()
    {
        ScrapeTokenAuthenticationHandler.Matches("s3cret", "s3cret").ShouldBeTrue();
        ScrapeTokenAuthenticationHandler.Matches("s3cret", "s3cre").ShouldBeFalse();
        ScrapeTokenAuthenticationHandler.Matches("s3cret", "S3cret").ShouldBeFalse();
    }
}

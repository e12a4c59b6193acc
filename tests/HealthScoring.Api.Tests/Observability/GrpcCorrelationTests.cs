using HealthScoring.Api.Observability;
using HealthScoring.Api.Tests.Grpc;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests.Observability;

/// <summary>The real host on sockets, its logs captured with their scopes: gRPC calls (h2c) get correlation ids too.</summary>
public sealed class GrpcCorrelationFixture : LiveApiFixture
{
    public LogCapture Logs { get; } = new();

    protected override void Configure(WebApplicationBuilder builder) =>
        builder.Logging.AddProvider(Logs).AddFilter<LogCapture>(null, LogLevel.Trace);
}

public sealed class GrpcCorrelationTests(GrpcCorrelationFixture fixture) : IClassFixture<GrpcCorrelationFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_gRPC_calls_request_id_comes_back_in_its_headers_and_scopes_its_log_lines()
    {
        var id = $"grpc-{Guid.NewGuid():N}";
        using var client = GrpcHttp.CreateClient(new Uri($"http://127.0.0.1:{fixture.GrpcPort}"));
        using var request = GrpcHttp.Request("/healthscoring.v1.Ingest/NoSuchMethod", GrpcHttp.Frame([]));
        request.Headers.Add("x-request-id", id);

        var response = await GrpcHttp.SendAsync(client, request, Ct);

        response.StatusMetadata["grpc-status"].ShouldBe("12");
        response.Headers["x-request-id"].ShouldBe(id);
        fixture.Logs.Entries.ShouldContain(e => e.Scopes.Any(s => s.Values.GetValueOrDefault(CorrelationIdMiddleware.ScopeKey) == id)
            && e.Message.Contains("gRPC unimplemented fallback", StringComparison.Ordinal));
    }
}

using System.Net;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>ConfigureGrpcEndpoint adds the HTTP/2-only gRPC endpoint without taking REST off the configured URLs.</summary>
public sealed class GrpcEndpointConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task REST_stays_on_the_configured_urls_over_HTTP1_and_gRPC_gets_its_own_HTTP2_only_endpoint()
    {
        await using var app = await StartAsync("--urls", "http://127.0.0.1:0", "--Grpc:Url", "http://127.0.0.1:0");
        app.Urls.Count.ShouldBe(2);

        // Which address is which is found by behaviour: only the REST one answers HTTP/1.1.
        var http1 = await Task.WhenAll(app.Urls.Select(async url => (Url: url, Answer: await TryHttp1Async(new Uri(url)))));
        var rest = new Uri(http1.Where(x => x.Answer == "rest").ShouldHaveSingleItem().Url);
        var grpc = new Uri(http1.Single(x => x.Url != rest.OriginalString).Url);

        using var client = GrpcHttp.CreateClient(grpc);
        var response = await GrpcHttp.SendAsync(client, GrpcHttp.Request($"/{EchoTestService.Name}/Echo", GrpcHttp.Frame(new StringValue { Value = "h2c" })), Ct);
        response.Status.ShouldBe(StatusCode.Ok);
        StringValue.Parser.ParseFrom(response.Messages.ShouldHaveSingleItem()).Value.ShouldBe("h2c");

        using var restClient = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = rest };
        using var overHttp1 = await restClient.PostAsync($"/{EchoTestService.Name}/Echo", GrpcContent(), Ct);
        overHttp1.StatusCode.ShouldBe(HttpStatusCode.HttpVersionNotSupported, "gRPC needs HTTP/2 trailers");
    }

    [Fact]
    public async Task With_Kestrel_Endpoints_configured_the_urls_stay_ignored_as_Kestrel_does()
    {
        await using var app = await StartAsync(
            "--urls", "http://127.0.0.1:0", "--Kestrel:Endpoints:Main:Url", "http://127.0.0.1:0", "--Grpc:Url", "http://127.0.0.1:0");

        app.Urls.Count.ShouldBe(2, "the Kestrel endpoint and the gRPC one, not the urls");
    }

    private static async Task<WebApplication> StartAsync(params string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.ConfigureGrpcEndpoint();
        builder.Services.AddGrpcFraming(builder.Configuration);
        var app = builder.Build();
        app.MapGet("/rest", () => "rest");
        app.MapGrpcUnary<StringValue, StringValue>(EchoTestService.Name, "Echo", (request, _) => Task.FromResult(request));
        await app.StartAsync(Ct);
        return app;
    }

    private static async Task<string?> TryHttp1Async(Uri address)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/rest") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await client.SendAsync(request, Ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(Ct) : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException)
        {
            return null; // an HTTP/2-only endpoint drops an HTTP/1.1 request
        }
    }

    private static ByteArrayContent GrpcContent()
    {
        var content = new ByteArrayContent(GrpcHttp.Frame(new StringValue()));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        return content;
    }
}

using System.Net;
using System.Net.Sockets;
using HealthScoring.Api.Tenancy;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Api.Tests;

/// <summary>
/// The real host (HostComposition, as Program.cs runs it) on loopback sockets: REST on one port, gRPC (h2c) on
/// another, over a fresh schema, with tenant <c>acme</c> and a write key. For clients that need a real socket.
/// </summary>
public class LiveApiFixture : PostgresSchemaFixture
{
    private WebApplication? _app;

    public int RestPort { get; } = FreePort();

    public int GrpcPort { get; } = FreePort();

    public string AcmeWriteKey { get; private set; } = "";

    public string AcmeApiKey { get; private set; } = "";

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = TestSettings.PostgresConnectionString,
            ["EventStore:Schema"] = Schema,
            ["urls"] = $"http://127.0.0.1:{RestPort}",
            ["Grpc:Url"] = $"http://127.0.0.1:{GrpcPort}",
        });
        builder.Logging.ClearProviders();
        builder.AddHealthScoringHost();
        _app = builder.Build();
        _app.MapHealthScoringHost();
        await _app.StartAsync();
        var keys = _app.Services.GetRequiredService<ApiKeyStore>();
        await keys.EnsureTenantAsync("acme", CancellationToken.None);
        AcmeWriteKey = (await keys.CreateKeyAsync("acme", KeyKind.Write, "live tests", CancellationToken.None)).Secret;
        AcmeApiKey = (await keys.CreateKeyAsync("acme", KeyKind.Api, "live tests", CancellationToken.None)).Secret;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

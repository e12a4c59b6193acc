using HealthScoring.Api;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Testing;

/// <summary>
/// The real host (HostComposition, as Program.cs runs it) on loopback sockets: REST on one port, gRPC (h2c) on
/// another, over a fresh schema (of the shared test database, or of <see cref="PostgresSchemaFixture.ConnectionString"/>
/// when a subclass overrides it), with tenant <c>acme</c> and a write key. For clients that need a real socket.
/// </summary>
public class LiveApiFixture : PostgresSchemaFixture
{
    private WebApplication? _app;

    public int RestPort { get; } = LoopbackPorts.Free();

    public int GrpcPort { get; } = LoopbackPorts.Free();

    public string AcmeWriteKey { get; private set; } = "";

    public string AcmeApiKey { get; private set; } = "";

    /// <summary>The REST endpoint, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri RestUrl => new($"http://127.0.0.1:{RestPort}/");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    /// <summary>Extra services or logging providers of a derived fixture (the host logs nowhere by default), before the host is composed.</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var builder = WebApplication.CreateBuilder();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:EventStore"] = ConnectionString,
            ["EventStore:Schema"] = Schema,
            ["urls"] = $"http://127.0.0.1:{RestPort}",
            ["Grpc:Url"] = $"http://127.0.0.1:{GrpcPort}",
        };
        Configure(settings);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        Configure(builder);
        builder.AddHealthScoringHost();
        _app = builder.Build();
        _app.MapHealthScoringHost();
        await _app.StartAsync();
        var keys = _app.Services.GetRequiredService<ApiKeyStore>();
        await keys.EnsureTenantAsync("acme", CancellationToken.None);
        AcmeWriteKey = (await keys.CreateKeyAsync("acme", KeyKind.Write, "live tests", CancellationToken.None)).Secret;
        AcmeApiKey = (await keys.CreateKeyAsync("acme", KeyKind.Api, "live tests", CancellationToken.None)).Secret;
    }

    /// <summary>Adds or changes the host's settings (e.g. <c>RateLimits:…</c>) before it is built.</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
    }

    /// <summary>Creates another key of tenant <c>acme</c>; the secret is returned once.</summary>
    public async Task<string> CreateKeyAsync(KeyKind kind, string name) =>
        (await Services.GetRequiredService<ApiKeyStore>().CreateKeyAsync("acme", kind, name, CancellationToken.None)).Secret;

    public override async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

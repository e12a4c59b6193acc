using System.Net.Http.Headers;
using System.Text;
using HealthScoring.Api.Tenancy;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests;

/// <summary>The host over a fresh schema, with two tenants and their keys.</summary>
public class ApiFixture : PostgresSchemaFixture
{
    private WebApplicationFactory<Program>? _factory;

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("Not initialized.");

    public string AcmeWriteKey { get; private set; } = "";

    public string AcmeApiKey { get; private set; } = "";

    public string GlobexWriteKey { get; private set; } = "";

    public string RevokedKey { get; private set; } = "";

    public T Service<T>() where T : notnull => Factory.Services.GetRequiredService<T>();

    public HttpClient Client(string? key = null, bool basic = true)
    {
        var client = Factory.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = basic
                ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")))
                : new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Extra settings of a derived fixture.</summary>
    protected virtual void Configure(Microsoft.AspNetCore.Hosting.IWebHostBuilder web)
    {
    }

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:EventStore", TestSettings.PostgresConnectionString);
            web.UseSetting("EventStore:Schema", Schema);
            Configure(web);
        });
        _ = _factory.Server; // starts the host, which migrates every module
        var keys = Service<ApiKeyStore>();
        var ct = CancellationToken.None;
        await keys.EnsureTenantAsync("acme", ct);
        await keys.EnsureTenantAsync("globex", ct);
        AcmeWriteKey = (await keys.CreateKeyAsync("acme", KeyKind.Write, "tests", ct)).Secret;
        AcmeApiKey = (await keys.CreateKeyAsync("acme", KeyKind.Api, "tests", ct)).Secret;
        GlobexWriteKey = (await keys.CreateKeyAsync("globex", KeyKind.Write, "tests", ct)).Secret;
        var (revoked, secret) = await keys.CreateKeyAsync("acme", KeyKind.Write, "revoked", ct);
        await keys.RevokeAsync(revoked.KeyId, ct);
        RevokedKey = secret;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Testing.Fakes.HubSpot;

/// <summary>
/// A small HubSpot CRM on Kestrel (127.0.0.1, a free port) that enforces the contract in
/// shared/docs/integrations-api-notes.md: bearer auth (401), request shapes (400 with HubSpot's error body),
/// 409 on duplicate properties and groups, batch size, property types, rate limits (429 with
/// <c>X-HubSpot-RateLimit-*</c>), plus faults a test injects. State lives in memory and is inspectable.
/// </summary>
public sealed class FakeHubSpot : IAsyncDisposable
{
    private readonly FakeHubSpotStore _store;
    private readonly FakeHubSpotTraffic _traffic;
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;

    public FakeHubSpot(FakeHubSpotOptions? options = null)
    {
        Options = options ?? new FakeHubSpotOptions();
        _store = new FakeHubSpotStore(Options, _clock);
        _traffic = new FakeHubSpotTraffic(Options, _clock);
        _store.SeedDefaults();
    }

    public FakeHubSpotOptions Options { get; }

    /// <summary>The token the fake accepts as <c>Authorization: Bearer …</c>.</summary>
    public string AccessToken => Options.AccessToken;

    /// <summary>Where the fake listens, with a trailing slash (<c>http://127.0.0.1:port/</c>).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Starts and returns itself, for <c>await using var hubSpot = await FakeHubSpot.StartNewAsync();</c>.</summary>
    public static async Task<FakeHubSpot> StartNewAsync(FakeHubSpotOptions? options = null, CancellationToken cancellationToken = default)
    {
        var fake = new FakeHubSpot(options);
        try
        {
            await fake.StartAsync(cancellationToken);
            return fake;
        }
        catch
        {
            await fake.DisposeAsync();
            throw;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The fake HubSpot is already started.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        app.Use(HandleAsync);
        app.UseRouting();
        MapEndpoints(app);
        await app.StartAsync(cancellationToken);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _stopping.Dispose();
    }

    // ---- seeding ---------------------------------------------------------------------------------------------

    /// <summary>Adds a HubSpot user who can own records.</summary>
    public FakeHubSpotOwner AddOwner(string email, string firstName = "Casey", string lastName = "Owner", bool archived = false) =>
        _store.AddOwner(email, firstName, lastName, archived);

    /// <summary>Adds a company directly (no request, no rate limit). Properties must be defined.</summary>
    public string AddCompany(IReadOnlyDictionary<string, string?> properties) => _store.AddCompany(properties);

    /// <summary>Adds a company with a name, optional owner and extra properties.</summary>
    public string AddCompany(string name, string? ownerId = null, IReadOnlyDictionary<string, string?>? properties = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.Ordinal) { ["name"] = name };
        if (ownerId is not null)
        {
            all["hubspot_owner_id"] = ownerId;
        }

        foreach (var (key, value) in properties ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return _store.AddCompany(all);
    }

    /// <summary>Defines a company property directly, as if an admin had created it (its group is created if missing).</summary>
    public FakeHubSpotProperty DefineCompanyProperty(
        string name, string type = "string", string fieldType = "text", string groupName = "companyinformation",
        IReadOnlyList<FakeHubSpotOption>? options = null, bool hasUniqueValue = false) =>
        _store.DefineCompanyProperty(new FakeHubSpotProperty(name, name, type, fieldType, groupName, options ?? [], hasUniqueValue));

    // ---- inspection ------------------------------------------------------------------------------------------

    public IReadOnlyList<FakeHubSpotCompany> Companies => _store.Companies();

    public FakeHubSpotCompany? Company(string id) => _store.Company(id);

    public IReadOnlyList<FakeHubSpotTask> Tasks => _store.Tasks();

    public IReadOnlyList<FakeHubSpotProperty> CompanyProperties => _store.CompanyProperties();

    public IReadOnlyList<FakeHubSpotPropertyGroup> PropertyGroups => _store.PropertyGroups();

    /// <summary>Every request received, in order of completion, with its arrival time and answer.</summary>
    public IReadOnlyList<FakeHubSpotCall> Calls => _traffic.Calls;

    public IReadOnlyList<FakeHubSpotCall> CallsTo(string method, string path) => [.. Calls.Where(c => c.Is(method, path))];

    /// <summary>The most requests that arrived within any rolling 10-second window (all requests, whatever the answer).</summary>
    public int MaxRequestsInAnyTenSeconds => _traffic.MaxObservedInBurstWindow;

    /// <summary>The most search requests that arrived within any rolling second.</summary>
    public int MaxSearchRequestsInAnySecond => _traffic.MaxObservedSearchPerSecond;

    /// <summary>Forgets the call log and the observed maxima (state and limits are kept).</summary>
    public void ResetCallLog() => _traffic.ResetLog();

    // ---- faults ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Answers the next <paramref name="count"/> matching requests with <paramref name="statusCode"/> and a HubSpot
    /// error body. <paramref name="method"/> and <paramref name="path"/> narrow which requests count (a path ending in
    /// <c>*</c> is a prefix). With <paramref name="afterProcessing"/> the request is carried out first and only its
    /// answer is lost (a gateway error after the write), which is what makes a retried create dangerous.
    /// </summary>
    public void FailNext(int count, int statusCode, string? method = null, string? path = null, bool afterProcessing = false) =>
        _traffic.FailNext(count, statusCode, method, path, afterProcessing);

    /// <summary>Answers every request with 429 (burst policy unless told otherwise) for <paramref name="period"/>.</summary>
    public void RateLimitFor(TimeSpan period, string policyName = FakeHubSpotTraffic.BurstPolicy) => _traffic.RateLimitFor(period, policyName);

    /// <summary>Holds the next <paramref name="requests"/> requests for <paramref name="delay"/> before handling them normally.</summary>
    public void Delay(TimeSpan delay, int requests = 1) => _traffic.Delay(delay, requests);

    public void ClearFaults() => _traffic.ClearFaults();

    // ---- pipeline --------------------------------------------------------------------------------------------

    private static bool IsSearch(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Value?.EndsWith("/search", StringComparison.Ordinal) == true;

    private async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var at = _clock.GetUtcNow();
        var isSearch = IsSearch(request);
        _traffic.Arrived(isSearch);
        var path = request.Path.Value ?? "/";
        var body = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
        context.Items[BodyKey] = body;

        var result = await DecideAsync(context, path, body, isSearch);
        if (result is null)
        {
            // Let the endpoint write into a buffer so headers can still be added and a lost answer simulated.
            var original = context.Response.Body;
            using var buffer = new MemoryStream();
            context.Response.Body = buffer;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = original;
            }

            if (_traffic.TakeFault(request.Method, path, afterProcessing: true) is { } lost)
            {
                context.Response.Clear();
                result = FakeHubSpotJson.Injected(lost);
            }
            else
            {
                if (!isSearch)
                {
                    AddRateLimitHeaders(context.Response);
                }

                buffer.Position = 0;
                await buffer.CopyToAsync(original, context.RequestAborted);
            }
        }

        if (result is not null)
        {
            await WriteAsync(context, result);
        }

        _traffic.Log(new FakeHubSpotCall(at, request.Method, path, request.QueryString.Value ?? "", body, context.Response.StatusCode));
    }

    /// <summary>Everything that can answer before an endpoint runs: delay, auth, content type, faults, limits.</summary>
    private async Task<FakeResult?> DecideAsync(HttpContext context, string path, string body, bool isSearch)
    {
        var request = context.Request;
        if (_traffic.TakeDelay() is { } delay)
        {
            try
            {
                await Task.Delay(delay, _clock, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return FakeHubSpotJson.Error(503, "INTERNAL_ERROR", "The fake is stopping.");
            }
        }

        var authorization = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(authorization))
        {
            return FakeHubSpotJson.Error(401, "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview");
        }

        if (!string.Equals(authorization, $"Bearer {AccessToken}", StringComparison.Ordinal))
        {
            return FakeHubSpotJson.Error(401, "INVALID_AUTHENTICATION",
                "Authentication credentials are not valid: the access token is unknown, revoked or malformed (expected Authorization: Bearer <private app token>).");
        }

        if (body.Length > 0 && !string.Equals(request.ContentType?.Split(';')[0].Trim(), "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return FakeHubSpotJson.Error(415, "UNSUPPORTED_MEDIA_TYPE",
                $"Content type '{request.ContentType}' is not supported; send Content-Type: application/json.");
        }

        if (_traffic.TakeFault(request.Method, path, afterProcessing: false) is { } injected)
        {
            return FakeHubSpotJson.Injected(injected);
        }

        var decision = _traffic.Admit(isSearch);
        if (!decision.IsAllowed)
        {
            if (decision.WithHeaders)
            {
                AddRateLimitHeaders(context.Response);
            }

            if (Options.SendRetryAfter)
            {
                context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            return new FakeResult(429, new JsonObject
            {
                ["status"] = "error",
                ["message"] = decision.Message,
                ["errorType"] = "RATE_LIMIT",
                ["correlationId"] = Guid.NewGuid().ToString(),
                ["policyName"] = decision.PolicyName,
                ["requestId"] = Guid.NewGuid().ToString("N"),
            });
        }

        return null;
    }

    private void AddRateLimitHeaders(HttpResponse response)
    {
        foreach (var (name, value) in _traffic.Headers())
        {
            response.Headers[name] = value;
        }
    }

    private const string BodyKey = "fake-hubspot-body";

    private static async Task WriteAsync(HttpContext context, FakeResult result)
    {
        context.Response.StatusCode = result.Status;
        if (result.Body is not null)
        {
            context.Response.ContentType = "application/json;charset=utf-8";
            await context.Response.WriteAsync(result.Body.ToJsonString(), context.RequestAborted);
        }
    }

    private void MapEndpoints(IEndpointRouteBuilder app)
    {
        // Properties and groups.
        Map(app, "GET", "/crm/v3/properties/{objectType}/groups", (c, _) => _store.ListGroups(Route(c, "objectType")));
        Map(app, "POST", "/crm/v3/properties/{objectType}/groups", (c, b) => _store.CreateGroup(Route(c, "objectType"), b));
        Map(app, "GET", "/crm/v3/properties/{objectType}/groups/{groupName}", (c, _) => _store.GetGroup(Route(c, "objectType"), Route(c, "groupName")));
        Map(app, "GET", "/crm/v3/properties/{objectType}", (c, _) => _store.ListProperties(Route(c, "objectType")));
        Map(app, "POST", "/crm/v3/properties/{objectType}", (c, b) => _store.CreateProperty(Route(c, "objectType"), b));
        Map(app, "GET", "/crm/v3/properties/{objectType}/{propertyName}", (c, _) => _store.GetProperty(Route(c, "objectType"), Route(c, "propertyName")));

        // Companies.
        Map(app, "GET", "/crm/v3/objects/companies", (c, _) => _store.ListCompanies(c.Request.Query));
        Map(app, "POST", "/crm/v3/objects/companies", (_, b) => _store.CreateCompany(b));
        Map(app, "POST", "/crm/v3/objects/companies/search", (_, b) => _store.SearchCompanies(b));
        Map(app, "POST", "/crm/v3/objects/companies/batch/update", (_, b) => _store.BatchUpdateCompanies(b));
        Map(app, "GET", "/crm/v3/objects/companies/{id}", (c, _) => _store.GetCompany(Route(c, "id"), c.Request.Query));
        Map(app, "PATCH", "/crm/v3/objects/companies/{id}", (c, b) => _store.UpdateCompany(Route(c, "id"), b));

        // Tasks and associations.
        Map(app, "POST", "/crm/v3/objects/tasks", (_, b) => _store.CreateTask(b));
        Map(app, "POST", "/crm/v3/objects/tasks/batch/read", (_, b) => _store.BatchReadTasks(b));
        Map(app, "GET", "/crm/v3/objects/tasks/{id}", (c, _) => _store.GetTask(Route(c, "id"), c.Request.Query));
        Map(app, "PUT", "/crm/v4/objects/{fromType}/{fromId}/associations/default/{toType}/{toId}", (c, _) =>
            _store.AssociateDefault(Route(c, "fromType"), Route(c, "fromId"), Route(c, "toType"), Route(c, "toId")));

        // Owners.
        Map(app, "GET", "/crm/v3/owners", (c, _) => _store.ListOwners(c.Request.Query));
        Map(app, "GET", "/crm/v3/owners/{ownerId}", (c, _) => _store.GetOwner(Route(c, "ownerId"), c.Request.Query));

        app.Map("{**path}", context => WriteAsync(context, FakeHubSpotJson.NotFound(
            $"No fake HubSpot endpoint for {context.Request.Method} {context.Request.Path}.")));
    }

    private static string Route(HttpContext context, string name) =>
        Convert.ToString(context.Request.RouteValues[name], CultureInfo.InvariantCulture) ?? "";

    private static void Map(IEndpointRouteBuilder app, string method, string pattern, Func<HttpContext, JsonNode?, FakeResult> handler) =>
        app.MapMethods(pattern, [method], (RequestDelegate)(context =>
        {
            var text = context.Items[BodyKey] as string ?? "";
            JsonNode? body = null;
            if (text.Length > 0 && !FakeHubSpotJson.TryParse(text, out body, out var parseError))
            {
                return WriteAsync(context, parseError!);
            }

            if (text.Length == 0 && method is "POST" or "PATCH")
            {
                return WriteAsync(context, FakeHubSpotJson.Validation("Invalid input JSON: the request body is empty."));
            }

            return WriteAsync(context, handler(context, body));
        }));
}

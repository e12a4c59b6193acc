using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Tenancy;
using HealthScoring.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Observability;

public sealed class ReadinessTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static readonly string[] AllChecks = ["migrations", "postgresql", "rabbitmq", "subscriptions"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_is_200_and_reports_each_check_once_PostgreSQL_migrations_RabbitMQ_and_subscriptions_pass()
    {
        await using var host = Host(new() { ["RabbitMq:Port"] = $"{RabbitMqVhost.Port}" });
        using var client = host.CreateClient();

        // The bus connects in the background after start-up: wait (bounded) for its first answer.
        var (status, body) = await PollAsync(client, (code, _) => code == HttpStatusCode.OK);

        status.ShouldBe(HttpStatusCode.OK, body.ToJsonString());
        var checks = body["checks"]!.AsObject();
        checks.Select(c => c.Key).Order(StringComparer.Ordinal).ShouldBe(AllChecks);
        checks.ShouldAllBe(c => c.Value!["status"]!.GetValue<string>() == "healthy");
        body["schema"]!["eventstore"]!.GetValue<int>().ShouldBe(EventStore.Schema.SchemaMigrator.EventStore.LatestVersion);
    }

    [Fact]
    public async Task Ready_is_a_503_problem_naming_rabbitmq_when_the_broker_cannot_be_reached()
    {
        await using var host = Host(new() { ["RabbitMq:Port"] = $"{LoopbackPorts.Free()}" });
        using var client = host.CreateClient();

        var (status, body) = await PollAsync(client, (_, b) => Failing(b).Contains("rabbitmq"));

        status.ShouldBe(HttpStatusCode.ServiceUnavailable, body.ToJsonString());
        Failing(body).ShouldBe(["rabbitmq"]);
        body["checks"]!["postgresql"]!["status"]!.GetValue<string>().ShouldBe("healthy");
        body["title"]!.GetValue<string>().ShouldBe("Not ready");
    }

    [Fact]
    public async Task Ready_is_a_503_problem_naming_the_subscriptions_while_one_is_further_behind_than_allowed()
    {
        // Another instance holds the projection's lead (so nothing here passes the events), and no lag is allowed.
        await using var leader = await fixture.DataSource.OpenConnectionAsync(Ct);
        await using (var take = leader.CreateCommand())
        {
            take.CommandText = "select pg_advisory_lock(hashtextextended($1, 0))";
            take.Parameters.AddWithValue($"healthscoring.subscription:{fixture.Schema}:{AccountDailyProjection.SubscriptionName}");
            await take.ExecuteNonQueryAsync(Ct);
        }

        await using var host = Host(new() { ["RabbitMq:Enabled"] = "false", ["Health:MaxSubscriptionLag"] = "0" });
        using var client = host.CreateClient();
        var keys = host.Services.GetRequiredService<ApiKeyStore>();
        await keys.EnsureTenantAsync("acme", Ct);
        var key = (await keys.CreateKeyAsync("acme", KeyKind.Write, "readiness", Ct)).Secret;
        using var writer = new HttpClient(host.Server.CreateHandler()) { BaseAddress = client.BaseAddress };
        writer.DefaultRequestHeaders.Authorization = new("Bearer", key);
        (await writer.PostAsync("/v1/track", new StringContent($$$"""{"messageId":"{{{Guid.NewGuid():N}}}","userId":"u","event":"E","context":{"groupId":"a"}}""", Encoding.UTF8, "application/json"), Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        using var behind = await client.GetAsync("/health/ready", Ct);
        var problem = JsonNode.Parse(await behind.Content.ReadAsStringAsync(Ct))!;
        await using (var release = leader.CreateCommand())
        {
            release.CommandText = "select pg_advisory_unlock_all()";
            await release.ExecuteNonQueryAsync(Ct);
        }

        var (after, _) = await PollAsync(client, (code, _) => code == HttpStatusCode.OK);

        behind.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        behind.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        Failing(problem).ShouldBe(["subscriptions"]);
        problem["checks"]!["subscriptions"]!["description"]!.GetValue<string>().ShouldContain(AccountDailyProjection.SubscriptionName);
        problem.ToJsonString().ShouldNotContain("acme");
        after.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Ready_names_every_check_PostgreSQL_takes_down_when_it_is_unreachable()
    {
        await using var host = Host(new() { ["RabbitMq:Enabled"] = "false", ["EventStore:MigrateOnStart"] = "false" },
            "Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z;Timeout=2");
        using var client = host.CreateClient();

        using var ready = await client.GetAsync("/health/ready", Ct);
        var problem = JsonNode.Parse(await ready.Content.ReadAsStringAsync(Ct))!;

        ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        Failing(problem).ShouldBe(["migrations", "postgresql", "subscriptions"]);
        problem["detail"]!.GetValue<string>().ShouldContain("PostgreSQL is unreachable.");
        problem.ToJsonString().ShouldNotContain("Password");
    }

    [Fact]
    public async Task Live_answers_without_touching_PostgreSQL()
    {
        await using var host = Host(new() { ["RabbitMq:Enabled"] = "false", ["EventStore:MigrateOnStart"] = "false" }, "Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z;Timeout=2");
        using var client = host.CreateClient();

        using var live = await client.GetAsync("/health/live", Ct);

        live.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static List<string> Failing(JsonNode body) => body["failing"] is JsonArray failing ? [.. failing.Select(f => f!.GetValue<string>())] : [];

    /// <summary>Asks until <paramref name="done"/> holds (the bus and subscriptions settle in the background), for at most a minute; returns the last answer.</summary>
    private static async Task<(HttpStatusCode Status, JsonNode Body)> PollAsync(HttpClient client, Func<HttpStatusCode, JsonNode, bool> done)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            using var response = await client.GetAsync("/health/ready", Ct);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
            if (done(response.StatusCode, body) || DateTime.UtcNow > until)
            {
                return (response.StatusCode, body);
            }

            await Task.Delay(250, Ct);
        }
    }

    private WebApplicationFactory<Program> Host(Dictionary<string, string> settings, string? connectionString = null) =>
        ApiHosts.Create(fixture.Schema, settings, connectionString);
}

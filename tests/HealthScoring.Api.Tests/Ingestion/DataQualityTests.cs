using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthScoring.Api.Tenancy;

namespace HealthScoring.Api.Tests.Ingestion;

public sealed class DataQualityTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Declared_events_are_validated_and_the_report_counts_rejects_duplicates_late_unassigned_and_undeclared()
    {
        var tenant = $"dq{Guid.NewGuid():N}"[..20];
        var keys = fixture.Service<ApiKeyStore>();
        await keys.EnsureTenantAsync(tenant, Ct);
        using var writer = fixture.Client((await keys.CreateKeyAsync(tenant, KeyKind.Write, "t", Ct)).Secret);
        using var admin = fixture.Client((await keys.CreateKeyAsync(tenant, KeyKind.Api, "t", Ct)).Secret, basic: false);

        var declared = await admin.PutAsJsonAsync("/v1/taxonomy", new[]
        {
            new { @event = "Report Exported", category = "engagement", feature = (string?)"reports", properties = new Dictionary<string, object> { ["format"] = new { type = "string", required = true } } },
            new { @event = "Signed Up", category = "acquisition", feature = (string?)null, properties = new Dictionary<string, object>() },
        }, Ct);
        declared.StatusCode.ShouldBe(HttpStatusCode.OK, await declared.Content.ReadAsStringAsync(Ct));

        var duplicateId = Guid.NewGuid().ToString();
        var response = await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                Track("Report Exported", new { format = "csv" }, "acct-1"),
                Track("Report Exported", new { pages = 3 }, "acct-1"),
                Track("Report Exported", new { format = 42 }, "acct-1"),
                Track("Dashboard Opened", new { }, "acct-1"),
                Track("Dashboard Opened", new { }, "acct-1", timestamp: DateTimeOffset.UtcNow.AddDays(-3)),
                Track("Signed Up", new { }, account: null),
                Track("Signed Up", new { }, "acct-1", id: duplicateId),
                Track("Signed Up", new { }, "acct-1", id: duplicateId),
            },
        }, Ct);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Ct);
        answer!["errors"]!.AsArray().Select(e => e!["field"]!.GetValue<string>()).ShouldBe(["properties.format", "properties.format"]);

        var report = await admin.GetFromJsonAsync<JsonObject>("/v1/data-quality?days=7", Ct);
        var totals = report!["totals"]!;
        totals["received"]!.GetValue<long>().ShouldBe(8);
        totals["accepted"]!.GetValue<long>().ShouldBe(5);
        totals["rejected"]!.GetValue<long>().ShouldBe(2);
        totals["duplicates"]!.GetValue<long>().ShouldBe(1);
        totals["late"]!.GetValue<long>().ShouldBe(1);
        totals["unassigned"]!.GetValue<long>().ShouldBe(1);
        totals["undeclared"]!.GetValue<long>().ShouldBe(2);
        report["declaredEvents"]!.GetValue<int>().ShouldBe(2);
        report["undeclaredEvents"]!.AsArray().ShouldHaveSingleItem()!["name"]!.GetValue<string>().ShouldBe("Dashboard Opened");
        report["rejectsByReason"]!.AsArray().Select(r => r!["count"]!.GetValue<long>()).Sum().ShouldBe(2);
        (await admin.GetFromJsonAsync<JsonArray>("/v1/taxonomy", Ct))!.Count.ShouldBe(2);
    }

    [Fact]
    public async Task The_report_needs_an_API_key_and_sane_days()
    {
        using var writer = fixture.Client(fixture.AcmeWriteKey);
        using var admin = fixture.Client(fixture.AcmeApiKey, basic: false);

        (await writer.GetAsync("/v1/data-quality", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var bad = await admin.GetAsync("/v1/data-quality?days=0", Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadFromJsonAsync<JsonObject>(Ct))!["field"]!.GetValue<string>().ShouldBe("days");
        (await admin.PutAsync("/v1/taxonomy", new StringContent("[{\"event\":\"x\",\"category\":\"nonsense\"}]", System.Text.Encoding.UTF8, "application/json"), Ct))
            .StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    private static object Track(string name, object properties, string? account, DateTimeOffset? timestamp = null, string? id = null) => new
    {
        type = "track",
        messageId = id ?? Guid.NewGuid().ToString(),
        userId = account is null ? $"lonely-{Guid.NewGuid():N}" : "u1",
        @event = name,
        properties,
        context = account is null ? null : new { groupId = account },
        timestamp = (timestamp ?? DateTimeOffset.UtcNow).ToString("O"),
    };
}

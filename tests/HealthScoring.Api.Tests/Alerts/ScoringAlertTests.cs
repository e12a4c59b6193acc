using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HealthScoring.Api.Alerts;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Testing.Scenarios;
using Microsoft.AspNetCore.Hosting;

namespace HealthScoring.Api.Tests.Alerts;

/// <summary>The host scoring with the inactivity model (the score is the model's part alone); no bus needed.</summary>
public sealed class ScoringApiFixture : ApiFixture
{
    protected override void Configure(IWebHostBuilder web)
    {
        web.UseSetting("RabbitMq:Enabled", "false");
        web.UseSetting("HealthScore:Tenants:acme:ModelWeight", "1");
        web.UseSetting("HealthScore:Tenants:globex:ModelWeight", "1");
    }

    public async Task PrepareAsync(string tenant, DateOnly asOf, CancellationToken cancellationToken)
    {
        if ((await Service<ModelRegistry>().GetPromotedAsync(tenant, HealthScoring.Models.Features.TargetKind.Churn, cancellationToken)) is null)
        {
            await InactivityScenario.PromoteInactivityModelAsync(Service<ModelRegistry>(), tenant, asOf, cancellationToken);
        }
    }
}

/// <summary>
/// Alerts from real scoring runs: the host's projection, features, model, score and rules, over usage in the log.
/// Each test uses its own tenant's accounts, scored on days of its own, so the tests share the host safely.
/// </summary>
public sealed class ScoringAlertTests(ScoringApiFixture fixture) : IClassFixture<ScoringApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_consecutive_scoring_runs_of_an_at_risk_account_raise_one_alert_and_a_recovery_then_relapse_raises_a_new_one()
    {
        const string tenant = "globex";
        var day0 = new DateOnly(2026, 3, 1);
        await fixture.PrepareAsync(tenant, day0, Ct);
        var store = fixture.Service<IEventStore>();
        var account = $"ten-{Guid.NewGuid():N}"[..12];
        for (var d = -20; d <= -8; d++)
        {
            await InactivityScenario.RecordActivityAsync(store, tenant, [account], day0.AddDays(d), Ct);
        }

        var scorer = fixture.Service<HealthScorer>();
        async Task<AccountScore> ScoreAsync(DateOnly day)
        {
            await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
            var run = await scorer.ScoreAsync(tenant, day, null, Ct);
            return run.Scores.Single(s => s.AccountId == account);
        }

        for (var i = 0; i < 10; i++)
        {
            (await ScoreAsync(day0.AddDays(i))).Band.ShouldBe("at-risk", $"run {i + 1}: idle since {day0.AddDays(-8)}");
        }

        var alerts = await AlertsAsync(tenant, account);
        alerts.OfType<AccountBecameAtRisk>().ShouldHaveSingleItem().AsOf.ShouldBe(day0);

        // Back in use: the next run sees it recover; idle again for a week, it relapses and alerts anew.
        await InactivityScenario.RecordActivityAsync(store, tenant, [account], day0.AddDays(10), Ct);
        (await ScoreAsync(day0.AddDays(11))).Band.ShouldNotBe("at-risk");
        (await ScoreAsync(day0.AddDays(18))).Band.ShouldBe("at-risk");

        alerts = await AlertsAsync(tenant, account);
        alerts.OfType<AccountRecovered>().ShouldHaveSingleItem().AsOf.ShouldBe(day0.AddDays(11));
        alerts.OfType<AccountBecameAtRisk>().Select(a => a.AsOf).ShouldBe([day0, day0.AddDays(18)]);
    }

    [Fact]
    public async Task A_snoozed_account_raises_no_at_risk_alert_until_the_day_after_the_snooze()
    {
        const string tenant = "acme";
        var day0 = new DateOnly(2026, 5, 1);
        await fixture.PrepareAsync(tenant, day0, Ct);
        var account = $"snz-{Guid.NewGuid():N}"[..12];
        await InactivityScenario.RecordActivityAsync(fixture.Service<IEventStore>(), tenant, [account], day0.AddDays(-10), Ct);

        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);
        var snoozed = await client.PostAsJsonAsync($"/v1/accounts/{account}/alerts/snooze", new { until = day0.AddDays(2).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), reason = "renewal call booked" }, Ct);
        snoozed.StatusCode.ShouldBe(HttpStatusCode.OK);

        var scorer = fixture.Service<HealthScorer>();
        for (var i = 0; i <= 3; i++)
        {
            await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
            var run = await scorer.ScoreAsync(tenant, day0.AddDays(i), null, Ct);
            run.Scores.Single(s => s.AccountId == account).Band.ShouldBe("at-risk");
        }

        var alerts = await AlertsAsync(tenant, account);
        alerts.OfType<AlertSuppressed>().Select(s => (s.AsOf, s.Reason)).ShouldBe([(day0, "snoozed"), (day0.AddDays(1), "snoozed"), (day0.AddDays(2), "snoozed")]);
        alerts.OfType<AccountBecameAtRisk>().ShouldHaveSingleItem().AsOf.ShouldBe(day0.AddDays(3), "the day after the snooze ends");
        (await fixture.Service<AlertService>().GetStateAsync(tenant, account, Ct))!.SnoozedUntil.ShouldBe(day0.AddDays(2), "scoring runs keep the snooze");

        var lifted = await client.DeleteAsync(new Uri($"/v1/accounts/{account}/alerts/snooze", UriKind.Relative), Ct);
        lifted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await fixture.Service<AlertService>().GetStateAsync(tenant, account, Ct))!.SnoozedUntil.ShouldBeNull();
    }

    [Fact]
    public async Task Snoozing_an_unknown_account_is_404_a_bad_date_is_400_naming_the_field_and_only_api_keys_of_the_tenant_may()
    {
        var account = $"known-{Guid.NewGuid():N}"[..14];
        await InactivityScenario.RecordActivityAsync(fixture.Service<IEventStore>(), "acme", [account], new DateOnly(2026, 5, 1), Ct);
        using var client = fixture.Client(fixture.AcmeApiKey, basic: false);

        var unknown = await client.PostAsJsonAsync("/v1/accounts/no-such-account/alerts/snooze", new { until = "2026-06-01" }, Ct);
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await unknown.Content.ReadAsStringAsync(Ct)).ShouldContain("Unknown account");
        (await client.DeleteAsync(new Uri("/v1/accounts/no-such-account/alerts/snooze", UriKind.Relative), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        foreach (var body in new object[] { new { until = "2026-13-01" }, new { until = "tomorrow" }, new { reason = "no date" } })
        {
            var bad = await client.PostAsJsonAsync($"/v1/accounts/{account}/alerts/snooze", body, Ct);
            bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            bad.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            JsonDocument.Parse(await bad.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("field").GetString().ShouldBe("until");
        }

        // A write key (embeddable in clients) may not, nor may another tenant (which must not learn the account exists).
        using var write = fixture.Client(fixture.AcmeWriteKey);
        (await write.PostAsJsonAsync($"/v1/accounts/{account}/alerts/snooze", new { until = "2026-06-01" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var anonymous = fixture.Client();
        (await anonymous.PostAsJsonAsync($"/v1/accounts/{account}/alerts/snooze", new { until = "2026-06-01" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var globexApi = (await fixture.Service<Tenancy.ApiKeyStore>().CreateKeyAsync("globex", Tenancy.KeyKind.Api, "tests", Ct)).Secret;
        using var globex = fixture.Client(globexApi, basic: false);
        (await globex.PostAsJsonAsync($"/v1/accounts/{account}/alerts/snooze", new { until = "2026-06-01" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await fixture.Service<AlertService>().GetStateAsync("acme", account, Ct))?.SnoozedUntil.ShouldBeNull();
    }

    private async Task<List<object>> AlertsAsync(string tenant, string account) =>
        (await fixture.Service<IEventStore>().ReadStreamAsync(tenant, IngestionPipeline.AccountStream(account), cancellationToken: Ct).ToListAsync(Ct))
            .Select(e => e.Data).Where(d => d is AccountBecameAtRisk or AccountRecovered or AlertSuppressed).Select(d => d!).ToList();
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.Api.Scoring;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Testing;
using HealthScoring.Testing.Fakes.Stripe;
using HealthScoring.Testing.Scenarios;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Observability;

public sealed class MetricsEndpointTests(ObservabilityFixture fixture) : IClassFixture<ObservabilityFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ingest_counters_rise_by_exactly_what_a_batch_received_stored_repeated_and_rejected()
    {
        var before = await fixture.ScrapeAsync(Ct);
        var first = Guid.NewGuid().ToString("N");
        var (account, user) = ($"acct-{first}", $"user-{first}");
        using var client = fixture.Client(fixture.AcmeWriteKey);
        var earlier = await PostBatchAsync(client, $$$"""
            {"batch":[{"type":"track","messageId":"{{{first}}}-1","userId":"{{{user}}}","event":"Report Exported","context":{"groupId":"{{{account}}}"}}]}
            """);
        var batch = await PostBatchAsync(client, $$$"""
            {"batch":[
              {"type":"track","messageId":"{{{first}}}-1","userId":"{{{user}}}","event":"Report Exported","context":{"groupId":"{{{account}}}"}},
              {"type":"track","messageId":"{{{first}}}-2","userId":"{{{user}}}","event":"Report Exported","context":{"groupId":"{{{account}}}"}},
              {"type":"identify","messageId":"{{{first}}}-3","userId":"{{{user}}}","traits":{"plan":"pro"}},
              {"type":"track","messageId":"{{{first}}}-4","userId":"{{{user}}}"},
              {"type":"track","messageId":"{{{first}}}-5","event":"Report Exported"},
              {"type":"track","messageId":"{{{first}}}-6","userId":"{{{user}}}","event":"Report Exported"},
              42
            ]}
            """);
        var after = await fixture.ScrapeAsync(Ct);

        earlier.StatusCode.ShouldBe(HttpStatusCode.OK);
        batch.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Delta("healthscoring_ingest_received_total", ("source", "http")).ShouldBe(8);
        Delta("healthscoring_ingest_accepted_total", ("source", "http")).ShouldBe(4);
        Delta("healthscoring_ingest_duplicates_total", ("source", "http")).ShouldBe(1);
        Delta("healthscoring_ingest_rejected_total", ("source", "http"), ("reason", "event")).ShouldBe(1);
        Delta("healthscoring_ingest_rejected_total", ("source", "http"), ("reason", "userId")).ShouldBe(1);
        Delta("healthscoring_ingest_rejected_total", ("source", "http"), ("reason", "message")).ShouldBe(1);
        after.Samples.Where(s => s.Name == "healthscoring_ingest_rejected_total" && s.Labels["source"] == "http").Sum(s => s.Value)
            .ShouldBe(before.Samples.Where(s => s.Name == "healthscoring_ingest_rejected_total" && s.Labels["source"] == "http").Sum(s => s.Value) + 3);
        Delta("healthscoring_append_duration_seconds_count", ("outcome", "ok")).ShouldBeGreaterThan(0);
        Delta("healthscoring_append_duration_seconds_sum", ("outcome", "ok")).ShouldBeGreaterThan(0);
        Delta("healthscoring_append_events_total", ("outcome", "ok")).ShouldBe(5);
    }

    [Fact]
    public async Task Labels_carry_no_tenant_user_key_or_account()
    {
        var id = Guid.NewGuid().ToString("N");
        using var client = fixture.Client(fixture.AcmeWriteKey);
        await PostBatchAsync(client, $$$"""{"batch":[{"type":"track","messageId":"{{{id}}}","userId":"u-{{{id}}}","event":"E","context":{"groupId":"a-{{{id}}}"}},{"type":"track","messageId":"x-{{{id}}}"}]}""");

        var scraped = await fixture.ScrapeAsync(Ct);

        var values = scraped.Samples.SelectMany(s => s.Labels.Values).Distinct().ToList();
        values.ShouldNotBeEmpty();
        values.ShouldAllBe(v => !v.Contains(id) && !v.Contains("acme") && !v.Contains(fixture.AcmeWriteKey));
    }

    [Fact]
    public async Task Runtime_figures_and_subscription_lag_are_exported_as_gauges()
    {
        var scraped = await fixture.ScrapeAsync(Ct);

        scraped.Types["process_resident_memory_bytes"].ShouldBe("gauge");
        scraped.Value("process_resident_memory_bytes").ShouldBeGreaterThan(0);
        scraped.Value("dotnet_gc_heap_size_bytes").ShouldBeGreaterThanOrEqualTo(0);
        scraped.Types["dotnet_thread_pool_queue_length"].ShouldBe("gauge");
        scraped.Value("dotnet_thread_pool_threads").ShouldBeGreaterThan(0);
        scraped.Types["process_cpu_seconds_total"].ShouldBe("counter");
        scraped.Types["healthscoring_subscription_lag"].ShouldBe("gauge");
        scraped.Samples.Where(s => s.Name == "healthscoring_subscription_lag").Select(s => s.Labels["subscription"])
            .ShouldContain(HealthScoring.Api.Alerts.AlertPublisher.SubscriptionName);
    }

    [Fact]
    public async Task Scraping_answers_the_text_format_only_to_the_scrape_token()
    {
        using var anonymous = fixture.Client();
        using var wrong = fixture.Scraper(fixture.ScrapeToken + "x");
        using var apiKey = fixture.Scraper(fixture.AcmeApiKey);
        using var right = fixture.Scraper();

        var responses = new[] { await anonymous.GetAsync("/metrics", Ct), await wrong.GetAsync("/metrics", Ct), await apiKey.GetAsync("/metrics", Ct) };
        var ok = await right.GetAsync("/metrics", Ct);

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await response.Content.ReadAsStringAsync(Ct)).ShouldNotContain("healthscoring_");
        }

        ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        ok.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
    }

    [Fact]
    public async Task Without_a_configured_token_metrics_are_a_404_problem_naming_the_setting()
    {
        await using var host = ApiHosts.Create(fixture.Schema, new Dictionary<string, string> { ["RabbitMq:Enabled"] = "false" });
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "anything");

        using var response = await client.GetAsync("/metrics", Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        problem["detail"]!.GetValue<string>().ShouldContain("Metrics__ScrapeToken");
    }

    [Fact]
    public async Task A_scoring_run_records_its_model_time_and_accounts_and_its_scores_are_counted_as_published()
    {
        const string Tenant = "acme";
        var asOf = new DateOnly(2026, 3, 1);
        await InactivityScenario.PromoteInactivityModelAsync(fixture.Service<ModelRegistry>(), Tenant, asOf, Ct);
        var accounts = Enumerable.Range(0, 3).Select(i => $"scored-{i}-{Guid.NewGuid():N}"[..20]).ToList();
        await InactivityScenario.RecordActivityAsync(fixture.Service<IEventStore>(), Tenant, accounts, asOf.AddDays(-3), Ct);
        await InactivityScenario.WaitForProjectionAsync(fixture.DataSource, fixture.Schema, Ct);
        var before = await fixture.ScrapeAsync(Ct);

        var run = await fixture.Service<HealthScorer>().ScoreAsync(Tenant, asOf, null, Ct);
        var after = await fixture.ScrapeAsync(Ct);
        // The publisher follows the log on its own schedule: wait (bounded) until it has passed the run's scores.
        var published = before.Value("healthscoring_alerts_published_total", ("message", "AccountHealthScored"));
        for (var wait = 0; wait < 240 && published - before.Value("healthscoring_alerts_published_total", ("message", "AccountHealthScored")) < run.Appended; wait++)
        {
            await Task.Delay(250, Ct);
            published = (await fixture.ScrapeAsync(Ct)).Value("healthscoring_alerts_published_total", ("message", "AccountHealthScored"));
        }

        run.Scores.Select(s => s.AccountId).ShouldContain(accounts[0]);
        (after.Value("healthscoring_model_scoring_duration_seconds_count") - before.Value("healthscoring_model_scoring_duration_seconds_count")).ShouldBe(1);
        (after.Value("healthscoring_model_scoring_duration_seconds_sum") - before.Value("healthscoring_model_scoring_duration_seconds_sum")).ShouldBeGreaterThan(0);
        (after.Value("healthscoring_model_accounts_scored_total") - before.Value("healthscoring_model_accounts_scored_total")).ShouldBe(run.Scores.Count);
        run.Appended.ShouldBeGreaterThanOrEqualTo(accounts.Count);
        (published - before.Value("healthscoring_alerts_published_total", ("message", "AccountHealthScored"))).ShouldBeGreaterThanOrEqualTo(run.Appended);
    }

    private static async Task<HttpResponseMessage> PostBatchAsync(HttpClient client, string body) =>
        await client.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
}

public sealed class IntegrationCallMetricsTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_attempt_of_an_integration_call_is_counted_by_status_class_and_failures_as_errors()
    {
        await using var stripe = new FakeStripe();
        await stripe.StartAsync(Ct);
        const string Token = "integration-scrape-token";
        await using var host = ApiHosts.Create(fixture.Schema, new Dictionary<string, string>
        {
            ["RabbitMq:Enabled"] = "false",
            ["Metrics:ScrapeToken"] = Token,
            ["Stripe:SecretKey"] = stripe.SecretKey,
            ["Stripe:BaseUrl"] = stripe.BaseAddress.ToString(),
        });
        using var scraper = host.CreateClient();
        scraper.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        stripe.FailNext(1, 500);

        await host.Services.GetRequiredService<IStripeClient>().GetLatestEventAsync(cancellationToken: Ct);
        var scraped = PrometheusText.Parse(await scraper.GetStringAsync("/metrics", Ct));

        stripe.Requests.Count.ShouldBe(2);
        scraped.Value("healthscoring_integration_calls_total", ("integration", "stripe"), ("status_class", "5xx")).ShouldBe(1);
        scraped.Value("healthscoring_integration_calls_total", ("integration", "stripe"), ("status_class", "2xx")).ShouldBe(1);
        scraped.Value("healthscoring_integration_errors_total", ("integration", "stripe"), ("status_class", "5xx")).ShouldBe(1);
        scraped.Value("healthscoring_integration_errors_total", ("integration", "stripe"), ("status_class", "2xx")).ShouldBe(0);
        scraped.Value("healthscoring_integration_duration_seconds_count", ("integration", "stripe")).ShouldBe(2);
    }
}

using System.Net;
using System.Text;
using HealthScoring.Api.Billing;
using HealthScoring.Integrations.Stripe;

namespace HealthScoring.Api.Tests.Observability;

/// <summary>Keys, tokens, secrets and personal data pass through the host; none of them may reach a log line, at any level.</summary>
public sealed class SecretsInLogsTests(ObservabilityFixture fixture) : IClassFixture<ObservabilityFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_key_token_webhook_secret_or_email_appears_in_any_log_message_value_or_scope()
    {
        var id = Guid.NewGuid().ToString("N");
        var email = $"ada.{id}@example.com";
        var webhookSecret = $"whsec_{id}";
        var wrongWriteKey = fixture.AcmeWriteKey[..^4] + "zzzz";
        await fixture.Service<StripeSettingsStore>().SetAsync("acme", webhookSecret, null, Ct);

        using (var writer = fixture.Client(fixture.AcmeWriteKey))
        {
            var identify = $$$$"""{"batch":[{"type":"identify","messageId":"{{{{id}}}}-1","userId":"u-{{{{id}}}}","traits":{"email":"{{{{email}}}}","name":"Ada"},"context":{"ip":"203.0.113.9","traits":{"email":"{{{{email}}}}"}}},{"type":"track","messageId":"{{{{id}}}}-2","userId":"u-{{{{id}}}}","event":"Signed In","properties":{"email":"{{{{email}}}}"},"context":{"groupId":"a-{{{{id}}}}"}},{"type":"track","userId":"{{{{email}}}}"}]}""";
            (await writer.PostAsync("/v1/batch", Json(identify), Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await writer.PostAsync("/v1/identify", Json($$$$"""{"userId":"{{{{email}}}}","traits":{"email":"{{{{email}}}}"}}"""), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await writer.GetAsync("/v1/accounts", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        using (var reader = fixture.Client(fixture.AcmeApiKey, basic: false))
        {
            (await reader.GetAsync("/v1/accounts", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var wrong = fixture.Client(wrongWriteKey))
        {
            (await wrong.PostAsync("/v1/track", Json("{}"), Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (var anonymous = fixture.Client())
        {
            var body = $$$$"""{"id":"evt_{{{{id}}}}","object":"event","type":"customer.created","data":{"object":{"id":"cus_{{{{id}}}}","object":"customer","email":"{{{{email}}}}"}}}""";
            foreach (var secret in new[] { webhookSecret, "whsec_wrong" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe/acme") { Content = Json(body) };
                request.Headers.Add(StripeWebhookSignature.HeaderName, StripeWebhookSignature.Sign(Encoding.UTF8.GetBytes(body), secret, DateTimeOffset.UtcNow));
                await anonymous.SendAsync(request, Ct);
            }
        }

        using (var scraper = fixture.Scraper())
        {
            (await scraper.GetAsync("/metrics", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var badScraper = fixture.Scraper(fixture.ScrapeToken + "-wrong"))
        {
            (await badScraper.GetAsync("/metrics", Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        var entries = fixture.Logs.Entries;
        entries.Count.ShouldBeGreaterThan(20);
        entries.ShouldContain(e => e.Message.Contains("Stripe webhook for tenant acme refused", StringComparison.Ordinal));
        foreach (var secret in new[] { fixture.AcmeWriteKey, fixture.AcmeApiKey, wrongWriteKey, webhookSecret, email, fixture.ScrapeToken, "203.0.113.9" })
        {
            entries.Where(e => e.AllText.Contains(secret, StringComparison.Ordinal)).Select(e => $"{e.Category}: {e.Message}").ShouldBeEmpty($"'{secret}' was logged");
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}

using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using HealthScoring.Integrations.Stripe;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Billing;

/// <summary>
/// <c>POST /webhooks/stripe/{tenant}</c> (and <c>/webhooks/stripe</c> for tenant <c>default</c>): Stripe's event
/// deliveries, authenticated by their <c>Stripe-Signature</c> against the tenant's endpoint secret, not by a key.
/// A bad, tampered or replayed delivery gets 400 and nothing is stored; secrets and signatures are never logged.
/// </summary>
public static class StripeWebhookEndpoints
{
    private const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapStripeWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/stripe", (HttpContext http, StripeSettingsStore settings, BillingIngestion billing, TimeProvider clock, ILoggerFactory loggers) =>
            ReceiveAsync(http, "default", settings, billing, clock, loggers)).AllowAnonymous().DisableAntiforgery();
        app.MapPost("/webhooks/stripe/{tenant}", (HttpContext http, string tenant, StripeSettingsStore settings, BillingIngestion billing, TimeProvider clock, ILoggerFactory loggers) =>
            ReceiveAsync(http, tenant, settings, billing, clock, loggers)).AllowAnonymous().DisableAntiforgery();
        return app;
    }

    private static async Task<Results<Ok<WebhookReceipt>, ProblemHttpResult>> ReceiveAsync(
        HttpContext http, string tenant, StripeSettingsStore settings, BillingIngestion billing, TimeProvider clock, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("HealthScoring.Api.Billing.StripeWebhook");
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large", detail: $"Stripe events are accepted up to {MaxBodyBytes / 1024} KB.");
        }

        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large", detail: $"Stripe events are accepted up to {MaxBodyBytes / 1024} KB.");
        }

        var body = buffer.ToArray();
        var secret = ApiKeyStore.IsValidTenantId(tenant) ? (await settings.GetAsync(tenant, http.RequestAborted)).WebhookSecret : null;
        if (secret is null)
        {
            // The same answer as a bad signature: the endpoint does not reveal which tenants exist.
            logger.LogWarning("Stripe webhook for tenant {Tenant} refused: no webhook secret is configured for it", tenant);
            return SignatureProblem("signature verification failed");
        }

        var verification = StripeWebhookSignature.Verify(http.Request.Headers[StripeWebhookSignature.HeaderName], body, secret, clock.GetUtcNow());
        if (!verification.IsValid)
        {
            logger.LogWarning("Stripe webhook for tenant {Tenant} refused: {Status}", tenant, verification.Status);
            return SignatureProblem(verification.Message);
        }

        // The event is kept as it came: text PostgreSQL cannot store (or not UTF-8 at all) is refused, not half-read.
        if (StorableJson.Check(body) is { } unstorable)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a Stripe event", detail: $"The body {unstorable}.");
        }

        var parsed = StripeEventParser.Parse(body.AsSpan());
        if (parsed is InvalidStripeEvent invalid)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a Stripe event", detail: $"{invalid.Error.Field}: {invalid.Error.Message}");
        }

        var outcome = await billing.IngestAsync(tenant, [parsed], "stripe-webhook", http.RequestAborted);
        return TypedResults.Ok(new WebhookReceipt(true, outcome.Stored == 1, outcome.Duplicates == 1, outcome.Ignored == 1));
    }

    private static ProblemHttpResult SignatureProblem(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid Stripe signature", detail: detail);

    public sealed record WebhookReceipt(bool Received, bool Stored, bool Duplicate, bool Ignored);
}

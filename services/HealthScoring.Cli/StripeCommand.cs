using HealthScoring.Integrations.Stripe.Sync;
using System.CommandLine;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore stripe configure</c>: a tenant's webhook secret and customer-to-account metadata key.</summary>
internal static class StripeCommand
{
    public static Command Create(Option<string> tenant)
    {
        var secret = new Option<string?>("--webhook-secret") { Description = "The endpoint's signing secret (whsec_…), from Stripe's dashboard. Read from STRIPE_WEBHOOK_SECRET when not given." };
        var key = new Option<string?>("--customer-metadata-key") { Description = "The customer metadata key holding our account id (default account_id)." };
        var configure = new Command("configure", "Set the tenant's Stripe webhook secret and customer metadata key; the webhook URL is /webhooks/stripe/<tenant>.") { tenant, secret, key };
        configure.SetAction(async (parse, ct) =>
        {
            return await CliHost.RunAsync(async (services, settings) =>
            {
                var tenantId = parse.GetValue(tenant)!;
                await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct);
                var webhookSecret = parse.GetValue(secret) ?? Environment.GetEnvironmentVariable("STRIPE_WEBHOOK_SECRET");
                if (webhookSecret is not null && !webhookSecret.StartsWith("whsec_", StringComparison.Ordinal))
                {
                    AnsiConsole.MarkupLine("[red]error:[/] a Stripe webhook secret starts with whsec_.");
                    return 2;
                }

                await services.GetRequiredService<StripeSettingsStore>().SetAsync(tenantId, webhookSecret, parse.GetValue(key), ct);
                AnsiConsole.MarkupLineInterpolated($"Stripe settings saved for tenant [bold]{tenantId}[/]{(webhookSecret is null ? "" : " (webhook secret set)")}; point Stripe at /webhooks/stripe/{tenantId}.");
                return 0;
            }, ct);
        });
        var sync = new Command("sync", "Pull customers, subscriptions and invoices from Stripe (first run), then new events, into the tenant's billing history; needs Stripe__SecretKey. Resumes where it stopped.") { tenant };
        sync.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var tenantId = parse.GetValue(tenant)!;
            await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct);
            var report = await services.GetRequiredService<StripeSync>().RunAsync(tenantId, new Progress<StripeSyncReport>(r =>
                Console.WriteLine($"  {r.Stage}: {r.CustomersListed:N0} customers, {r.SubscriptionsListed:N0} subscriptions, {r.InvoicesListed:N0} invoices, {r.EventsListed:N0} events; {r.FactsStored:N0} facts")), ct);
            if (report.Disabled)
            {
                AnsiConsole.MarkupLine("[yellow]Stripe sync is off:[/] set Stripe__SecretKey (a restricted key with read access to customers, subscriptions, invoices and events).");
                return 1;
            }

            AnsiConsole.MarkupLineInterpolated($"Synced tenant [bold]{tenantId}[/]: {report.CustomersListed:N0} customers, {report.SubscriptionsListed:N0} subscriptions, {report.InvoicesListed:N0} invoices, {report.EventsListed:N0} events listed; {report.FactsStored:N0} billing facts handed to ingestion (already stored ones are skipped), {report.Invalid:N0} invalid.");
            return 0;
        }, ct));
        var stripe = new Command("stripe", "Stripe settings and sync.");
        stripe.Subcommands.Add(configure);
        stripe.Subcommands.Add(sync);
        return stripe;
    }
}

using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using HealthScoring.Cli.Generate;
using HealthScoring.Cli.Import;
using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Cli.Tests.Generate;

public sealed class GeneratedDataImportTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Generated_files_import_through_the_real_paths_into_account_streams_with_billing_linked()
    {
        using var data = new GeneratedData(new SyntheticSaas.Options(Accounts: 30, Months: 2, Seed: 21, End: new DateOnly(2026, 10, 31)));
        var settings = new CliSettings { ConnectionString = TestSettings.PostgresConnectionString, EventStore = fixture.Options };
        using var host = await CliHost.StartAsync(settings, Ct);
        var tenant = $"t{Guid.NewGuid():N}"[..20];
        await host.Services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenant, Ct);

        var declared = await DataQualityCommands.DeclareAsync(host.Services.GetRequiredService<EventTaxonomy>(), tenant, new FileInfo(data.TaxonomyPath), Ct);
        var events = await ImportEventsCommand.ImportAsync(host.Services.GetRequiredService<IngestionPipeline>(), tenant, new FileInfo(data.EventsPath), 5_000, Ct);
        var billing = await ImportBillingCommand.ImportAsync(host.Services.GetRequiredService<BillingIngestion>(), tenant, new FileInfo(data.BillingPath), Ct);

        declared.ShouldBe(Events.Taxonomy.Count);
        events.Reasons.ShouldBeEmpty();
        (events.Accepted, events.Duplicates, events.Rejected, events.Unassigned).ShouldBe((data.Summary.EventLines, 0L, 0L, 0L));
        (billing.Stored, billing.Invalid, billing.Ignored, billing.Unlinked).ShouldBe((data.Summary.BillingLines, 0L, 0L, 0L));

        // Everything landed in account streams: usage and billing side by side, nothing waiting unassigned or unlinked.
        var streams = new Dictionary<string, (long Usage, long Billing)>(StringComparer.Ordinal);
        await using (var command = fixture.DataSource.CreateCommand(
            $"select stream_id, count(*) filter (where type like 'segment.%'), count(*) filter (where type like 'stripe.%') from {fixture.Schema}.events where tenant_id = $1 group by stream_id"))
        {
            command.Parameters.AddWithValue(tenant);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                streams[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        streams.Keys.ShouldAllBe(s => s.StartsWith(IngestionPipeline.AccountStreamPrefix, StringComparison.Ordinal));
        streams.Keys.ShouldBe(data.Accounts.Select(a => IngestionPipeline.AccountStream(a.AccountId)), ignoreOrder: true);
        streams.Values.Sum(v => v.Usage).ShouldBe(data.Summary.EventLines);
        streams.Values.Sum(v => v.Billing).ShouldBe(data.Summary.BillingLines);
        streams.Values.ShouldAllBe(v => v.Billing >= 3, "customer, subscription, first invoice");

        // A churned account's stream ends its billing with the deletion on the ground truth's churn date.
        var store = host.Services.GetRequiredService<IEventStore>();
        var churned = data.Accounts.Where(a => a.Churn is not null).ToList();
        churned.ShouldNotBeEmpty();
        foreach (var account in churned)
        {
            var stream = await store.ReadStreamAsync(tenant, IngestionPipeline.AccountStream(account.AccountId), cancellationToken: Ct).ToListAsync(Ct);
            var canceled = stream.Select(e => e.Data).OfType<SubscriptionCanceled>().ShouldHaveSingleItem();
            DateOnly.FromDateTime(canceled.OccurredAt.UtcDateTime).ShouldBe(account.Churn!.Value);
            stream.Select(e => e.Data).OfType<TrackRecorded>().ShouldAllBe(t => t.Event.Length > 0);
            stream.Where(e => e.Data is TrackRecorded).ShouldAllBe(e => e.OccurredAt < canceled.OccurredAt, "usage stops at churn");
        }

        // Declared events were checked and counted as declared.
        var report = await host.Services.GetRequiredService<DataQualityReport>().GetAsync(tenant, 1, Ct);
        report.Totals.Undeclared.ShouldBe(0);
        report.Totals.Rejected.ShouldBe(0);
    }
}

using System.CommandLine;
using System.Globalization;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Tenancy;
using HealthScoring.Integrations.Stripe;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Import;

/// <summary>
/// <c>healthscore import billing FILE.jsonl[.gz]</c>: Stripe event objects, one per line (as <c>GET /v1/events</c>
/// returns them, or whole list pages), through the same path as the webhook. Events already stored (by webhook or
/// an earlier import) are skipped.
/// </summary>
internal static class ImportBillingCommand
{
    public static Command Create(Option<string> tenant)
    {
        var file = new Argument<FileInfo>("file") { Description = "JSON-lines file of Stripe events (or list pages); .gz is read compressed." };
        file.AcceptExistingOnly();
        var command = new Command("billing", "Import Stripe billing events from a JSON-lines file.") { file, tenant };
        command.SetAction(async (parse, ct) =>
        {
            return await CliHost.RunAsync(async (services, settings) =>
            {
                var tenantId = parse.GetValue(tenant)!;
                await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct);
                var summary = await ImportAsync(services.GetRequiredService<BillingIngestion>(), tenantId, parse.GetValue(file)!, ct);
                var table = new Table().Border(TableBorder.Rounded).AddColumns("stored", "duplicates", "ignored types", "invalid", "customer not linked yet");
                table.AddRow(N(summary.Stored), N(summary.Duplicates), N(summary.Ignored), N(summary.Invalid), N(summary.Unlinked));
                AnsiConsole.Write(table);
                foreach (var sample in summary.Samples)
                {
                    AnsiConsole.MarkupLineInterpolated($"  invalid: {sample}");
                }

                return 0;
            }, ct);
        });
        return command;
    }

    /// <summary>Streams the file through <see cref="BillingIngestion"/> in batches of 1,000 events.</summary>
    public static async Task<BillingImportSummary> ImportAsync(BillingIngestion billing, string tenantId, FileInfo path, CancellationToken ct)
    {
        var summary = new BillingImportSummary();
        await Progress.RunAsync($"importing {path.Name}", path.Length, "bytes", "events", async report =>
        {
            var read = 0L;
            var batch = new List<StripeEventParseResult>(1_000);
            await using var stream = path.OpenRead();
            await foreach (var entry in StripeEventsFile.ReadAsync(stream, ct))
            {
                read++;
                if (entry.Result is InvalidStripeEvent bad)
                {
                    summary.Invalid++;
                    if (summary.Samples.Count < 5)
                    {
                        summary.Samples.Add(string.Create(CultureInfo.InvariantCulture, $"line {entry.LineNumber}: {bad.Error.Field}: {bad.Error.Message}"));
                    }

                    continue;
                }

                batch.Add(entry.Result);
                if (batch.Count == 1_000)
                {
                    summary.Add(await billing.IngestAsync(tenantId, batch, "import", ct));
                    batch.Clear();
                    report(stream.Position, read);
                }
            }

            if (batch.Count > 0)
            {
                summary.Add(await billing.IngestAsync(tenantId, batch, "import", ct));
            }

            report(path.Length, read);
            return true;
        });
        return summary;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>What a billing import did, with a few sample reasons for the lines it could not read.</summary>
internal sealed class BillingImportSummary
{
    public long Stored { get; private set; }

    public long Duplicates { get; private set; }

    public long Ignored { get; private set; }

    public long Unlinked { get; private set; }

    public long Invalid { get; set; }

    public List<string> Samples { get; } = [];

    public void Add(BillingOutcome outcome)
    {
        Stored += outcome.Stored;
        Duplicates += outcome.Duplicates;
        Ignored += outcome.Ignored;
        Unlinked += outcome.Unlinked;
    }
}

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
                var billing = services.GetRequiredService<BillingIngestion>();
                var path = parse.GetValue(file)!;
                long stored = 0, duplicates = 0, ignored = 0, unlinked = 0, invalid = 0;
                var samples = new List<string>();
                await Progress.RunAsync($"importing {path.Name}", path.Length, "bytes", async report =>
                {
                    var batch = new List<StripeEventParseResult>(1_000);
                    await using var stream = path.OpenRead();
                    await foreach (var entry in StripeEventsFile.ReadAsync(stream, ct))
                    {
                        if (entry.Result is InvalidStripeEvent bad)
                        {
                            invalid++;
                            if (samples.Count < 5)
                            {
                                samples.Add(string.Create(CultureInfo.InvariantCulture, $"line {entry.LineNumber}: {bad.Error.Field}: {bad.Error.Message}"));
                            }

                            continue;
                        }

                        batch.Add(entry.Result);
                        if (batch.Count == 1_000)
                        {
                            Add(await billing.IngestAsync(tenantId, batch, "import", ct));
                            batch.Clear();
                            report(stream.Position);
                        }
                    }

                    if (batch.Count > 0)
                    {
                        Add(await billing.IngestAsync(tenantId, batch, "import", ct));
                    }

                    report(path.Length);
                    return true;
                });

                var table = new Table().Border(TableBorder.Rounded).AddColumns("stored", "duplicates", "ignored types", "invalid", "customer not linked yet");
                table.AddRow(N(stored), N(duplicates), N(ignored), N(invalid), N(unlinked));
                AnsiConsole.Write(table);
                foreach (var sample in samples)
                {
                    AnsiConsole.MarkupLineInterpolated($"  invalid: {sample}");
                }

                return 0;

                void Add(BillingOutcome o)
                {
                    stored += o.Stored;
                    duplicates += o.Duplicates;
                    ignored += o.Ignored;
                    unlinked += o.Unlinked;
                }
            }, ct);
        });
        return command;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

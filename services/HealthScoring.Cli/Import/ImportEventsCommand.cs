using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Import;

/// <summary>
/// <c>healthscore import events FILE.jsonl[.gz]</c>: streams Segment calls (one JSON object per line: track,
/// identify or group) through the same validation and deduplication path as the HTTP API, in batches.
/// Running it again stores nothing new.
/// </summary>
internal static class ImportEventsCommand
{
    public static Command Create(Option<string> tenant)
    {
        var file = new Argument<FileInfo>("file") { Description = "JSON-lines file of Segment calls; .gz is read compressed." };
        file.AcceptExistingOnly();
        var batchSize = new Option<int>("--batch-size") { Description = "Messages per append.", DefaultValueFactory = _ => 5_000 };
        var api = new Option<Uri?>("--api")
        {
            Description = "Send through this HealthScoring API's POST /v1/batch (e.g. http://127.0.0.1:5080) instead of writing to the database; the write key picks the tenant.",
            CustomParser = result => Uri.TryCreate(result.Tokens.Single().Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? new Uri(uri.AbsoluteUri.EndsWith('/') ? uri.AbsoluteUri : uri.AbsoluteUri + "/")
                : AddError(result, $"--api must be an http(s) URL, not '{result.Tokens.Single().Value}'"),
        };
        var writeKey = new Option<string?>("--write-key") { Description = "The tenant's write key, for --api (default: $HEALTHSCORE_WRITE_KEY)." };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once, for --api.", DefaultValueFactory = _ => 4 };
        var command = new Command("events", "Import Segment track / identify / group calls from a JSON-lines file.") { file, tenant, batchSize, api, writeKey, concurrency };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(api) is { } apiUrl)
            {
                return await SendAsync(apiUrl, parse.GetValue(writeKey) ?? Environment.GetEnvironmentVariable("HEALTHSCORE_WRITE_KEY"), parse.GetValue(file)!, Math.Clamp(parse.GetValue(concurrency), 1, 64), ct);
            }

            return await CliHost.RunAsync(async (services, settings) =>
            {
                var tenantId = parse.GetValue(tenant)!;
                if (await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct))
                {
                    AnsiConsole.MarkupLineInterpolated($"Created tenant [bold]{tenantId}[/].");
                }

                var summary = await ImportAsync(services.GetRequiredService<IngestionPipeline>(), tenantId, parse.GetValue(file)!, Math.Clamp(parse.GetValue(batchSize), 1, 50_000), ct);
                summary.Write();
                return summary.Rejected > 0 && summary.Accepted + summary.Duplicates == 0 ? 1 : 0;
            }, ct);
        });
        return command;
    }

    private static Uri? AddError(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return null;
    }

    private static async Task<int> SendAsync(Uri apiUrl, string? writeKey, FileInfo file, int concurrency, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(writeKey))
        {
            AnsiConsole.MarkupLine("[red]error:[/] --api needs a write key: --write-key KEY or HEALTHSCORE_WRITE_KEY (create one with [bold]healthscore keys create --tenant T --kind write[/]).");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(100) };
        HttpEventSender.UseWriteKey(http, writeKey);
        try
        {
            var summary = await new HttpEventSender(http, new HttpEventSender.Options { Concurrency = concurrency }).SendAsync(file, cancellationToken);
            summary.Write();
            return summary.Rejected > 0 && summary.Accepted + summary.Duplicates == 0 ? 1 : 0;
        }
        catch (CliException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 1;
        }
    }

    public static async Task<ImportSummary> ImportAsync(IngestionPipeline pipeline, string tenantId, FileInfo file, int batchSize, CancellationToken cancellationToken)
    {
        var summary = new ImportSummary();
        await using var input = JsonLinesFile.Open(file);
        await Progress.RunAsync($"importing {file.Name}", input.Length, "bytes", "events", async report =>
        {
            var batch = new List<ParsedItem>(batchSize);
            var lineNumber = 0;
            while (await input.Reader.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                batch.Add(ParseLine(line, lineNumber));
                if (batch.Count >= batchSize)
                {
                    summary.Add(await pipeline.IngestAsync(tenantId, batch, null, "import", cancellationToken));
                    batch.Clear();
                    report(input.Position, lineNumber);
                }
            }

            if (batch.Count > 0)
            {
                summary.Add(await pipeline.IngestAsync(tenantId, batch, null, "import", cancellationToken));
            }

            await pipeline.FlushQualityAsync(cancellationToken);
            summary.Lines = lineNumber;
            report(input.Length, lineNumber);
            return true;
        });
        return summary;
    }

    // Errors carry the line number as their index, so the summary can point at the line.
    private static ParsedItem ParseLine(string line, int lineNumber)
    {
        var size = Encoding.UTF8.GetByteCount(line);
        try
        {
            using var document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 64 });
            return SegmentJsonReader.Read(document.RootElement, lineNumber, null, size);
        }
        catch (JsonException ex)
        {
            return new ParsedItem(lineNumber, null, [new ItemError(lineNumber, "", $"malformed JSON ({ex.Message.Split('.')[0]})")]);
        }
    }
}

/// <summary>What an import did, with a few sample reasons for what it rejected.</summary>
internal sealed class ImportSummary
{
    private readonly Dictionary<string, (int Count, int FirstLine)> _reasons = [];

    public int Lines { get; set; }

    public long Accepted { get; private set; }

    public long Duplicates { get; private set; }

    public long Unassigned { get; private set; }

    public long Rejected { get; private set; }

    public IReadOnlyDictionary<string, (int Count, int FirstLine)> Reasons => _reasons;

    public void Add(IngestOutcome outcome) => Add(outcome.Accepted, outcome.Duplicates, outcome.Unassigned, outcome.Errors);

    /// <summary>Adds counts and per-line errors (each error's index is its line number).</summary>
    public void Add(long accepted, long duplicates, long unassigned, IEnumerable<ItemError> errors)
    {
        Accepted += accepted;
        Duplicates += duplicates;
        Unassigned += unassigned;
        foreach (var line in errors.GroupBy(e => e.Index))
        {
            Rejected++;
            var first = line.First();
            var reason = string.IsNullOrEmpty(first.Field) ? first.Reason : $"{first.Field} {first.Reason}";
            var key = reason.Length > 80 ? reason[..80] : reason;
            _reasons[key] = _reasons.TryGetValue(key, out var seen) ? (seen.Count + 1, seen.FirstLine) : (1, line.Key);
        }

    }

    public void Write()
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("lines", "accepted", "duplicates", "rejected", "unassigned");
        table.AddRow(N(Lines), N(Accepted), N(Duplicates), N(Rejected), N(Unassigned));
        AnsiConsole.Write(table);
        foreach (var (reason, (count, line)) in _reasons.OrderByDescending(r => r.Value.Count).Take(5))
        {
            AnsiConsole.MarkupLineInterpolated($"  rejected {count:N0} × {reason} (first at line {line})");
        }

        if (Unassigned > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"  {Unassigned:N0} accepted event(s) belong to users with no account yet; a later group call attributes them.");
        }
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

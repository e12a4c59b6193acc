using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore taxonomy declare|list</c> and <c>healthscore report data-quality</c>.</summary>
internal static class DataQualityCommands
{
    public static Command Taxonomy(Option<string> tenant)
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "JSON array of {\"event\", \"category\" (acquisition|activation|engagement|retention|monetization), \"feature\", \"properties\": {\"name\": {\"type\": \"string|number|boolean|object|array\", \"required\": true}}}.",
        };
        file.AcceptExistingOnly();
        var declare = new Command("declare", "Declare (or re-declare) the tenant's events from a JSON file.") { file, tenant };
        declare.SetAction((parse, ct) => RunAsync(async services =>
        {
            var tenantId = parse.GetValue(tenant)!;
            await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct);
            int count;
            try
            {
                count = await DeclareAsync(services.GetRequiredService<EventTaxonomy>(), tenantId, parse.GetValue(file)!, ct);
            }
            catch (JsonException ex)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {parse.GetValue(file)!.Name} is not a valid taxonomy: {ex.Message}");
                return 2;
            }

            AnsiConsole.MarkupLineInterpolated($"Declared {count} event(s) for tenant [bold]{tenantId}[/].");
            return 0;
        }, ct));

        var list = new Command("list", "List the tenant's declared events.") { tenant };
        list.SetAction((parse, ct) => RunAsync(async services =>
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumns("event", "category", "feature", "properties");
            foreach (var e in (await services.GetRequiredService<EventTaxonomy>().GetAsync(parse.GetValue(tenant)!, ct)).Values.OrderBy(e => e.Event, StringComparer.Ordinal))
            {
                var properties = string.Join(", ", (e.Properties ?? new Dictionary<string, PropertyRule>()).Select(p => $"{p.Key}: {p.Value.Type.ToString().ToLowerInvariant()}{(p.Value.Required ? " (required)" : "")}"));
                table.AddRow(Markup.Escape(e.Event), e.Category.ToString().ToLowerInvariant(), Markup.Escape(e.Feature ?? ""), Markup.Escape(properties));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));

        var taxonomy = new Command("taxonomy", "The tenant's event taxonomy: declared events are validated, undeclared ones counted.");
        taxonomy.Subcommands.Add(declare);
        taxonomy.Subcommands.Add(list);
        return taxonomy;
    }

    /// <summary>Declares the events of a taxonomy file; a file that is not a taxonomy throws <see cref="JsonException"/>.</summary>
    public static async Task<int> DeclareAsync(EventTaxonomy taxonomy, string tenantId, FileInfo file, CancellationToken cancellationToken)
    {
        List<DeclaredEvent>? events;
        await using (var stream = file.OpenRead())
        {
            events = await JsonSerializer.DeserializeAsync<List<DeclaredEvent>>(stream, EventTaxonomy.Json, cancellationToken);
        }

        return await taxonomy.DeclareAsync(tenantId, events ?? [], cancellationToken);
    }

    public static Command Report(Option<string> tenant)
    {
        var days = new Option<int>("--days") { Description = "How many days back, today included.", DefaultValueFactory = _ => 30 };
        days.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 366)
            {
                r.AddError("--days must be between 1 and 366.");
            }
        });
        var quality = new Command("data-quality", "Volumes, rejects by reason, duplicates, late, unassigned and undeclared events.") { tenant, days };
        quality.SetAction((parse, ct) => RunAsync(async services =>
        {
            var view = await services.GetRequiredService<DataQualityReport>().GetAsync(parse.GetValue(tenant)!, parse.GetValue(days), ct);
            var t = view.Totals;
            var totals = new Table().Border(TableBorder.Rounded).Title($"Data quality, tenant {Markup.Escape(parse.GetValue(tenant)!)}, last {view.Days} day(s)")
                .AddColumns("received", "accepted", "duplicates", "rejected", "late", "unassigned", "undeclared", "declared events", "unassigned now");
            totals.AddRow(N(t.Received), N(t.Accepted), N(t.Duplicates), N(t.Rejected), N(t.Late), N(t.Unassigned), N(t.Undeclared), N(view.DeclaredEvents), N(view.UnassignedEventsNow));
            AnsiConsole.Write(totals);
            Write("rejected, by reason", view.RejectsByReason);
            Write("undeclared event names", view.UndeclaredEvents);
            return 0;
        }, ct));
        var report = new Command("report", "Reports.");
        report.Subcommands.Add(quality);
        report.Subcommands.Add(Models.UsageBillingCommand.Create(tenant));
        return report;
    }

    private static void Write(string title, IReadOnlyList<NamedCount> counts)
    {
        if (counts.Count == 0)
        {
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Title(title).AddColumns("", "count");
        foreach (var c in counts)
        {
            table.AddRow(Markup.Escape(c.Name), N(c.Count));
        }

        AnsiConsole.Write(table);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static Task<int> RunAsync(Func<IServiceProvider, Task<int>> action, CancellationToken cancellationToken) =>
        CliHost.RunAsync((services, _) => action(services), cancellationToken);
}

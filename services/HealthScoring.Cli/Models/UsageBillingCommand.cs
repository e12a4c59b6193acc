using System.CommandLine;
using System.Globalization;
using System.Text;
using HealthScoring.Api.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli.Models;

/// <summary><c>healthscore report usage-billing [--as-of DATE] [--top N] [--out FILE.csv]</c>.</summary>
internal static class UsageBillingCommand
{
    public static Command Create(Option<string> tenant)
    {
        var asOf = new Option<DateOnly>("--as-of") { Description = "The 28 days before this date (YYYY-MM-DD); default today (UTC).", DefaultValueFactory = _ => DateOnly.FromDateTime(DateTime.UtcNow) };
        var top = new Option<int>("--top") { Description = "Accounts to list per finding.", DefaultValueFactory = _ => 10 };
        var output = new Option<FileInfo?>("--out") { Description = "Write every paying account as CSV." };
        var command = new Command("usage-billing", "Usage beside revenue per paying account: usage per $ of MRR, trend, unused seats, over-use.") { tenant, asOf, top, output };
        command.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            await ProjectionsCommand.CatchUpBeforeUseAsync(services.GetRequiredService<ProjectionRebuilder>(), ct);
            var rows = await services.GetRequiredService<UsageBillingReport>().GetAsync(parse.GetValue(tenant)!, parse.GetValue(asOf), ct);
            var c = CultureInfo.InvariantCulture;
            AnsiConsole.MarkupLineInterpolated($"{rows.Count:N0} paying accounts, MRR {rows.Sum(r => r.Mrr):N0}; paying for unused seats: {rows.Count(r => r.Flags.Contains("paying for unused seats")):N0} ({rows.Where(r => r.Flags.Contains("paying for unused seats")).Sum(r => r.Mrr):N0} MRR); over-using their plan: {rows.Count(r => r.Flags.Contains("over-using plan")):N0}; usage falling: {rows.Count(r => r.Flags.Contains("usage falling")):N0}");
            foreach (var (title, pick) in new (string, Func<IReadOnlyList<UsageBillingRow>, IEnumerable<UsageBillingRow>>)[]
            {
                ("Paying for unused seats (most unused first)", r => r.Where(x => x.Flags.Contains("paying for unused seats")).OrderByDescending(x => x.UnusedSeats)),
                ("Over-using their plan (expansion candidates)", r => r.Where(x => x.Flags.Contains("over-using plan")).OrderByDescending(x => x.SeatUtilization)),
                ("Least usage per $ of MRR", r => r.OrderBy(x => x.EventsPerMrr)),
            })
            {
                var table = new Table().Border(TableBorder.Rounded).Title(title).AddColumns("account", "plan", "MRR", "seats", "active users", "events (28 d)", "events per $", "trend");
                foreach (var r in pick(rows).Take(parse.GetValue(top)))
                {
                    table.AddRow(Markup.Escape(r.AccountId), Markup.Escape(r.Plan ?? ""), r.Mrr.ToString("N0", c), r.Seats.ToString(c), r.ActiveUsers.ToString(c), r.Events.ToString("N0", c), r.EventsPerMrr.ToString("0.##", c), r.UsageTrend?.ToString("+0%;-0%;0%", c) ?? "-");
                }

                AnsiConsole.Write(table);
            }

            if (parse.GetValue(output) is { } file)
            {
                var csv = new StringBuilder("account_id,plan,mrr,seats,active_users,seat_utilization,events_28d,api_calls_28d,events_per_mrr,usage_trend,unused_seats,flags\n");
                foreach (var r in rows)
                {
                    csv.Append(string.Create(c, $"{r.AccountId},{r.Plan},{r.Mrr},{r.Seats},{r.ActiveUsers},{r.SeatUtilization},{r.Events},{r.ApiCalls},{r.EventsPerMrr},{r.UsageTrend},{r.UnusedSeats},\"{string.Join("; ", r.Flags)}\"\n"));
                }

                await File.WriteAllTextAsync(file.FullName, csv.ToString(), ct);
                AnsiConsole.MarkupLineInterpolated($"Wrote {file.FullName}");
            }

            return 0;
        }, ct));
        return command;
    }
}

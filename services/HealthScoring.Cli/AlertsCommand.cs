using System.CommandLine;
using HealthScoring.Api.Alerts;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore alerts snooze --tenant T --account A --until D [--reason R]</c> and <c>alerts unsnooze</c>.</summary>
internal static class AlertsCommand
{
    public static Command Create(Option<string> tenant)
    {
        var account = new Option<string>("--account") { Description = "The account id.", Required = true };
        var until = new Option<DateOnly>("--until") { Description = "Last day (YYYY-MM-DD, UTC) on which the account's alerts are held back.", Required = true };
        var reason = new Option<string?>("--reason") { Description = "Why (kept with the snooze)." };
        var snooze = new Command("snooze", "Hold an account's alerts back until a date (the same as POST /v1/accounts/{id}/alerts/snooze).") { tenant, account, until, reason };
        snooze.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            if (parse.GetValue(reason) is { Length: > AlertSnoozeEndpoints.MaxReasonLength })
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] --reason must be at most {AlertSnoozeEndpoints.MaxReasonLength} characters.");
                return 2;
            }

            return Report(await services.GetRequiredService<AlertService>().SetSnoozeAsync(parse.GetValue(tenant)!, parse.GetValue(account)!, parse.GetValue(until), parse.GetValue(reason), ct), parse.GetValue(account)!,
                $"Alerts of account {parse.GetValue(account)} are snoozed until {parse.GetValue(until):yyyy-MM-dd} (inclusive).");
        }, ct));
        var unsnooze = new Command("unsnooze", "Lift an account's snooze: its alerts go out again from the next scoring run.") { tenant, account };
        unsnooze.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
            Report(await services.GetRequiredService<AlertService>().SetSnoozeAsync(parse.GetValue(tenant)!, parse.GetValue(account)!, null, null, ct), parse.GetValue(account)!,
                $"Alerts of account {parse.GetValue(account)} are no longer snoozed."), ct));
        var alerts = new Command("alerts", "Alert rules: snooze and unsnooze an account.");
        alerts.Subcommands.Add(snooze);
        alerts.Subcommands.Add(unsnooze);
        return alerts;
    }

    private static int Report(bool known, string account, string done)
    {
        if (!known)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the tenant has no account '{account}'.");
            return 1;
        }

        AnsiConsole.MarkupLineInterpolated($"{done}");
        return 0;
    }
}

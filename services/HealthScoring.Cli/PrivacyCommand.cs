using System.CommandLine;
using HealthScoring.Api.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore privacy erase-user --tenant T --user U</c>.</summary>
internal static class PrivacyCommand
{
    public static Command Create(Option<string> tenant)
    {
        var user = new Option<string>("--user") { Description = "The user's userId (or anon:<anonymousId>).", Required = true };
        var erase = new Command("erase-user", "Erase one user's personal data: their data keys are shredded, so what the log holds of them is unreadable; usage stays.") { tenant, user };
        erase.SetAction(async (parse, ct) =>
        {
            return await CliHost.RunAsync(async (services, settings) =>
            {
                var outcome = await services.GetRequiredService<PrivacyService>().EraseUserAsync(parse.GetValue(tenant)!, parse.GetValue(user)!, ct);
                if (outcome.UserKnown)
                {
                    AnsiConsole.MarkupLineInterpolated($"Erased the personal data of user {parse.GetValue(user)} ({outcome.KeysShredded} data key(s) shredded).");
                }
                else
                {
                    AnsiConsole.MarkupLineInterpolated($"No personal data was held for user {parse.GetValue(user)}; the erasure is recorded all the same.");
                }

                return 0;
            }, ct);
        });
        var retention = new Command("apply-retention", "Delete raw usage events older than Ingestion:RetentionDays (env Ingestion__RetentionDays), for one tenant or, without --tenant, all.")
        {
            new Option<string?>("--tenant") { Description = "One tenant; all when omitted." },
        };
        retention.SetAction(async (parse, ct) =>
        {
            return await CliHost.RunAsync(async (services, settings) =>
            {
                var deleted = await services.GetRequiredService<RetentionService>().ApplyAsync(parse.GetValue<string?>("--tenant"), ct);
                if (deleted is null)
                {
                    AnsiConsole.MarkupLine("Retention is off (Ingestion:RetentionDays is not set): nothing deleted.");
                    return 0;
                }

                foreach (var (tenantId, count) in deleted)
                {
                    AnsiConsole.MarkupLineInterpolated($"tenant {tenantId}: {count:N0} raw usage event(s) deleted");
                }

                return 0;
            }, ct);
        });
        var privacy = new Command("privacy", "Personal data and retention.");
        privacy.Subcommands.Add(erase);
        privacy.Subcommands.Add(retention);
        return privacy;
    }
}

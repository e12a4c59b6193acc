using System.CommandLine;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore users create|list</c>: the people who sign in to a tenant's dashboard.</summary>
internal static class UsersCommand
{
    public static Command Create(Option<string> tenant)
    {
        var users = new Command("users", "Create and list dashboard users (passwords stored as PBKDF2 hashes; a generated password is shown once).");

        var email = new Option<string>("--email") { Description = "The user's email (their sign-in name).", Required = true };
        var role = new Option<string>("--role") { Description = "admin (may change things, e.g. snooze alerts) or viewer (read-only: sales, finance).", DefaultValueFactory = _ => "viewer" };
        role.AcceptOnlyFromAmong("admin", "viewer");
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input (first line) instead of generating one." };
        var create = new Command("create", "Create a dashboard user for the tenant (the tenant is created on first use).") { tenant, email, role, passwordStdin };
        create.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var tenantId = parse.GetValue(tenant)!;
            string? password;
            var generated = !parse.GetValue(passwordStdin);
            if (generated)
            {
                password = DashboardUserStore.GeneratePassword();
            }
            else
            {
                password = (await Console.In.ReadLineAsync(ct))?.TrimEnd('\r', '\n');
                if (string.IsNullOrEmpty(password))
                {
                    AnsiConsole.MarkupLine("[red]error:[/] --password-stdin given but standard input held no password.");
                    return 2;
                }
            }

            if (await services.GetRequiredService<ApiKeyStore>().EnsureTenantAsync(tenantId, ct))
            {
                AnsiConsole.MarkupLineInterpolated($"Created tenant [bold]{tenantId}[/].");
            }

            DashboardUser user;
            try
            {
                user = await services.GetRequiredService<DashboardUserStore>().CreateAsync(tenantId, parse.GetValue(email)!, DashboardUserStore.ParseRole(parse.GetValue(role)!), password, ct);
            }
            catch (InvalidOperationException ex)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
                return 1;
            }

            AnsiConsole.MarkupLineInterpolated($"Created {DashboardUserStore.RoleName(user.Role)} [bold]{user.Email}[/] for tenant [bold]{tenantId}[/].");
            if (generated)
            {
                AnsiConsole.MarkupLine("The password is shown only now:");
                Console.WriteLine(password);
            }

            return 0;
        }, ct));

        var list = new Command("list", "List the tenant's dashboard users (never their passwords).") { tenant };
        list.SetAction((parse, ct) => CliHost.RunAsync(async (services, _) =>
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumns("email", "role", "created");
            foreach (var user in await services.GetRequiredService<DashboardUserStore>().ListAsync(parse.GetValue(tenant)!, ct))
            {
                table.AddRow(Markup.Escape(user.Email), DashboardUserStore.RoleName(user.Role), user.CreatedAt.ToString("u"));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));

        users.Subcommands.Add(create);
        users.Subcommands.Add(list);
        return users;
    }
}

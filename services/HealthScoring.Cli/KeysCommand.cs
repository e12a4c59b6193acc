using System.CommandLine;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace HealthScoring.Cli;

/// <summary><c>healthscore keys create|list|revoke</c>: the tenant's write keys and API keys.</summary>
internal static class KeysCommand
{
    public static Command Create(Option<string> tenant)
    {
        var keys = new Command("keys", "Create, list and revoke a tenant's keys (stored hashed; a key is shown once, when created).");

        var kind = new Option<string>("--kind") { Description = "write (sends events only, Segment's write key) or api (also reads).", DefaultValueFactory = _ => "write" };
        kind.AcceptOnlyFromAmong("write", "api");
        var name = new Option<string>("--name") { Description = "What the key is for.", DefaultValueFactory = _ => "cli" };
        var create = new Command("create", "Create a key for the tenant (the tenant is created on first use).") { tenant, kind, name };
        create.SetAction((parse, ct) => RunAsync(async (store, settings) =>
        {
            var tenantId = parse.GetValue(tenant)!;
            if (await store.EnsureTenantAsync(tenantId, ct))
            {
                AnsiConsole.MarkupLineInterpolated($"Created tenant [bold]{tenantId}[/].");
            }

            var (key, secret) = await store.CreateKeyAsync(tenantId, parse.GetValue(kind) == "api" ? KeyKind.Api : KeyKind.Write, parse.GetValue(name)!, ct);
            AnsiConsole.MarkupLineInterpolated($"Created {key.Kind.ToString().ToLowerInvariant()} key [bold]{key.KeyId}[/] for tenant [bold]{tenantId}[/]. It is shown only now:");
            Console.WriteLine(secret);
            return 0;
        }, ct));

        var list = new Command("list", "List the tenant's keys (ids and names, never secrets).") { tenant };
        list.SetAction((parse, ct) => RunAsync(async (store, _) =>
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumns("key id", "kind", "name", "created", "revoked");
            foreach (var key in await store.ListAsync(parse.GetValue(tenant)!, ct))
            {
                table.AddRow(key.KeyId, key.Kind.ToString().ToLowerInvariant(), Markup.Escape(key.Name), key.CreatedAt.ToString("u"), key.RevokedAt?.ToString("u") ?? "");
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));

        var keyId = new Argument<string>("key-id") { Description = "The key's id, as `keys list` shows it." };
        var revoke = new Command("revoke", "Revoke a key: it stops working within seconds.") { keyId };
        revoke.SetAction((parse, ct) => RunAsync(async (store, _) =>
        {
            if (await store.RevokeAsync(parse.GetValue(keyId)!, ct))
            {
                AnsiConsole.MarkupLineInterpolated($"Revoked key {parse.GetValue(keyId)}.");
                return 0;
            }

            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] no active key with id {parse.GetValue(keyId)}.");
            return 1;
        }, ct));

        keys.Subcommands.Add(create);
        keys.Subcommands.Add(list);
        keys.Subcommands.Add(revoke);
        return keys;
    }

    private static Task<int> RunAsync(Func<ApiKeyStore, CliSettings, Task<int>> action, CancellationToken cancellationToken) =>
        CliHost.RunAsync((services, settings) => action(services.GetRequiredService<ApiKeyStore>(), settings), cancellationToken);
}

using System.Text;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Security;

/// <summary>Keys and passwords are stored only hashed: no column of any table of the schema holds one readably.</summary>
[Collection(SecurityReview.Name)]
public sealed class SecretsAtRestTests(SeededLiveHostFixture host, ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_column_of_any_table_holds_a_key_or_a_password()
    {
        var keys = host.Services.GetRequiredService<ApiKeyStore>();
        var users = host.Services.GetRequiredService<DashboardUserStore>();
        const string password = "Tr0ub4dor&3-at-rest-check";
        var write = (await keys.CreateKeyAsync("acme", KeyKind.Write, "at rest", Ct)).Secret;
        var api = (await keys.CreateKeyAsync("acme", KeyKind.Api, "at rest", Ct)).Secret;
        await users.CreateAsync("acme", "rest-check@acme.test", DashboardRole.Viewer, password, Ct);
        string[] secrets = [write, api, host.AcmeWriteKey, host.AcmeApiKey, host.GlobexApiKey, host.Targets.ScratchTenantKey, password, SeededLiveHostFixture.AdminPassword];

        // Each secret as text, the random part of each key alone, and the forms bytes take when cast to text.
        var needles = secrets
            .SelectMany(s => new[] { s, s.Split('_')[^1], Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s)), Convert.ToBase64String(Encoding.UTF8.GetBytes(s)) })
            .Where(n => n.Length >= 12)
            .Distinct()
            .ToList();
        var columns = await ColumnsAsync();
        var found = new List<string>();
        var cells = 0;
        foreach (var (table, column) in columns)
        {
            await using var command = host.DataSource.CreateCommand($"select \"{column}\"::text from {host.Schema}.\"{table}\" where \"{column}\" is not null");
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                cells++;
                var value = reader.GetString(0);
                found.AddRange(needles.Where(n => value.Contains(n, StringComparison.OrdinalIgnoreCase)).Select(_ => $"{table}.{column}"));
            }
        }

        output.WriteLine($"{columns.Count} text/jsonb/bytea columns, {cells} values searched for {needles.Count} forms of {secrets.Length} secrets");
        columns.ShouldContain(("api_keys", "key_hash"));
        columns.ShouldContain(("dashboard_users", "password_hash"));
        found.Distinct().ShouldBeEmpty();
    }

    private async Task<List<(string Table, string Column)>> ColumnsAsync()
    {
        await using var command = host.DataSource.CreateCommand(
            """
            select c.table_name, c.column_name from information_schema.columns c
            join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
            where c.table_schema = $1 and c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')
            order by 1, 2
            """);
        command.Parameters.AddWithValue(host.Schema);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var columns = new List<(string, string)>();
        while (await reader.ReadAsync(Ct))
        {
            columns.Add((reader.GetString(0), reader.GetString(1)));
        }

        return columns;
    }
}

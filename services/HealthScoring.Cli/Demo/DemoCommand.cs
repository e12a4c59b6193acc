using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HealthScoring.EventStore;
using HealthScoring.EventStore.Schema;
using HealthScoring.EventStore.Subscriptions;
using Npgsql;
using NpgsqlTypes;
using Spectre.Console;

namespace HealthScoring.Cli.Demo;

/// <summary>
/// <c>healthscore demo</c>: the largest end-to-end path that exists so far. Migrates the store, appends a
/// synthetic workload in bulk (idempotently), runs a projection subscription over the log until it catches up,
/// and prints what it found.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var accounts = new Option<int>("--accounts") { Description = "Synthetic accounts to generate.", DefaultValueFactory = _ => 200 };
        var days = new Option<int>("--days") { Description = "Days of usage history per account.", DefaultValueFactory = _ => 90 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generator: the same seed gives the same events (and a second run stores nothing new).", DefaultValueFactory = _ => 42 };
        var tenant = new Option<string>("--tenant") { Description = "Tenant to write into.", DefaultValueFactory = _ => "default" };
        var command = new Command("demo", "Run the end-to-end demo: migrate, append a synthetic workload, project it, report.") { accounts, days, seed, tenant };
        accounts.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 100_000)
            {
                result.AddError("--accounts must be between 1 and 100000.");
            }
        });
        days.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 28 or > 3_650)
            {
                result.AddError("--days must be between 28 and 3650.");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.Load();
            await using var dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
            return await CliErrors.RunAsync(settings, () => RunAsync(
                settings, dataSource, parse.GetValue(tenant)!, new DemoWorkload(parse.GetValue(accounts), parse.GetValue(days), parse.GetValue(seed), DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1)), cancellationToken));
        });
        return command;
    }

    internal static async Task<int> RunAsync(CliSettings settings, NpgsqlDataSource dataSource, string tenant, DemoWorkload workload, CancellationToken cancellationToken)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]HealthScoring demo[/] on {settings.Describe()}, tenant [bold]{tenant}[/]");
        var applied = await new SchemaMigrator(dataSource, settings.EventStore).MigrateAsync(cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"1. Event store schema at version {SchemaMigrator.EventStore.LatestVersion} ({applied} migration(s) applied now).");

        var registry = new EventTypeRegistry().Register<ProductUsageRecorded>(DemoEvents.UsageTypeName);
        var store = new PostgresEventStore(dataSource, registry, settings.EventStore);

        var events = workload.Generate().ToList();
        AnsiConsole.MarkupLineInterpolated($"2. Generated {events.Count:N0} usage events for {workload.Accounts:N0} accounts.");

        const int batchSize = 25_000;
        var appendWatch = Stopwatch.StartNew();
        var (appended, duplicates) = await Progress.RunAsync("   appending", events.Count, "events", async report =>
        {
            int added = 0, skipped = 0;
            for (var offset = 0; offset < events.Count; offset += batchSize)
            {
                var result = await store.BulkAppendAsync(tenant, events.GetRange(offset, Math.Min(batchSize, events.Count - offset)), cancellationToken);
                added += result.AppendedCount;
                skipped += result.DuplicateEventIds.Count;
                report(Math.Min(offset + batchSize, events.Count));
            }

            return (added, skipped);
        });
        appendWatch.Stop();
        AnsiConsole.MarkupLineInterpolated($"   appended {appended:N0}, skipped {duplicates:N0} already stored (event ids are deterministic: run it again and nothing new is stored).");

        var projection = new AccountDailyActivityProjection(settings.EventStore.Schema);
        await projection.EnsureTableAsync(dataSource, cancellationToken);
        var backlog = await BacklogAsync(dataSource, settings.EventStore, cancellationToken);
        var projectWatch = Stopwatch.StartNew();
        await using (var runner = new SubscriptionRunner(dataSource, store, settings.EventStore, projection,
            new SubscriptionOptions { Name = AccountDailyActivityProjection.SubscriptionName, BatchSize = 5_000, PollInterval = TimeSpan.FromMilliseconds(50) }))
        {
            await runner.StartAsync(cancellationToken);
            await Progress.RunAsync("3. projecting", backlog, "events", async report =>
            {
                while (runner.EventsProcessed < backlog)
                {
                    report(runner.EventsProcessed);
                    await Task.Delay(100, cancellationToken);
                }

                return true;
            });
            await runner.StopAsync(cancellationToken);
        }

        projectWatch.Stop();

        var summary = new Table().Border(TableBorder.Rounded).AddColumns("step", "events", "seconds", "events/s");
        summary.AddRow("bulk append (binary COPY)", appended.ToString("N0", CultureInfo.InvariantCulture), Seconds(appendWatch), Rate(appended, appendWatch));
        summary.AddRow("projection (subscription)", backlog.ToString("N0", CultureInfo.InvariantCulture), Seconds(projectWatch), Rate(backlog, projectWatch));
        AnsiConsole.Write(summary);

        await WriteFallingUsageAsync(dataSource, projection, tenant, cancellationToken);
        return 0;
    }

    private static async Task<long> BacklogAsync(NpgsqlDataSource dataSource, EventStoreOptions options, CancellationToken cancellationToken)
    {
        var checkpoint = await SubscriptionRunner.ReadCheckpointAsync(dataSource, options, AccountDailyActivityProjection.SubscriptionName, cancellationToken) ?? LogPosition.Start;
        await using var command = dataSource.CreateCommand($"select count(*) from {options.Schema}.events where (tx_id, seq) > ($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = checkpoint.TransactionId });
        command.Parameters.AddWithValue(checkpoint.Sequence);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task WriteFallingUsageAsync(NpgsqlDataSource dataSource, AccountDailyActivityProjection projection, string tenant, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            with bounds as (select max(day) as last_day from {projection.Table} where tenant_id = $1),
            windows as (
                select account_id,
                       sum(events) filter (where day > last_day - 14) as recent,
                       sum(events) filter (where day <= last_day - 14 and day > last_day - 28) as previous
                from {projection.Table}, bounds where tenant_id = $1 group by account_id)
            select account_id, coalesce(recent, 0), coalesce(previous, 0)
            from windows where coalesce(previous, 0) > 0
            order by coalesce(recent, 0)::float8 / previous, account_id
            limit 10
            """);
        command.Parameters.AddWithValue(tenant);
        var table = new Table().Border(TableBorder.Rounded).Title("Accounts whose usage fell most (last 14 days vs the 14 before)")
            .AddColumns("account", "events, last 14 days", "events, 14 days before", "change");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var recent = reader.GetInt64(1);
            var previous = reader.GetInt64(2);
            table.AddRow(reader.GetString(0), recent.ToString("N0", CultureInfo.InvariantCulture), previous.ToString("N0", CultureInfo.InvariantCulture),
                ((double)(recent - previous) / previous).ToString("+0%;-0%", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
    }

    private static string Seconds(Stopwatch watch) => watch.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);

    private static string Rate(long count, Stopwatch watch) => (count / Math.Max(watch.Elapsed.TotalSeconds, 1e-3)).ToString("N0", CultureInfo.InvariantCulture);
}

using HealthScoring.EventStore.Schema;
using Npgsql;

namespace HealthScoring.EventStore.Tests.Schema;

public sealed class MigrationTests : IAsyncLifetime
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(Testing.TestSettings.PostgresConnectionString);
    private readonly string _schema = $"m_{Guid.NewGuid():N}"[..20];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Migrations_run_twice_apply_once()
    {
        var migrator = new SchemaMigrator(_dataSource, new EventStoreOptions { Schema = _schema });

        (await migrator.MigrateAsync(Ct)).ShouldBe(SchemaMigrator.EventStore.Migrations.Count);
        (await migrator.MigrateAsync(Ct)).ShouldBe(0);

        (await migrator.AppliedVersionsAsync(cancellationToken: Ct)).ShouldBe(SchemaMigrator.EventStore.Migrations.Select(m => m.Version));
        (await migrator.PendingAsync(Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Migrations_started_concurrently_by_several_processes_apply_exactly_once()
    {
        var options = new EventStoreOptions { Schema = _schema };
        // Separate data sources stand for separate processes: no shared pool, no shared locks in-process.
        var sources = Enumerable.Range(0, 6).Select(_ => NpgsqlDataSource.Create(Testing.TestSettings.PostgresConnectionString)).ToList();
        try
        {
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var runs = sources.Select(s => Task.Run(async () =>
            {
                await start.Task;
                return await new SchemaMigrator(s, options).MigrateAsync(Ct);
            }, Ct)).ToList();

            start.SetResult();
            var applied = await Task.WhenAll(runs);

            applied.Sum().ShouldBe(SchemaMigrator.EventStore.Migrations.Count);
            applied.Count(a => a > 0).ShouldBe(1);
            var store = new PostgresEventStore(_dataSource, TestEvents.Registry(), options);
            (await store.AppendToStreamAsync("t", "s", ExpectedVersion.NoStream, [TestEvents.Usage()], Ct)).StreamVersion.ShouldBe(1);
        }
        finally
        {
            foreach (var s in sources)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_schema_migrated_by_a_newer_build_is_refused_with_a_clear_error()
    {
        var migrator = new SchemaMigrator(_dataSource, new EventStoreOptions { Schema = _schema });
        await migrator.MigrateAsync(Ct);
        await using (var future = _dataSource.CreateCommand($"insert into {_schema}.schema_migrations (module, version, name) values ('eventstore', 9999, 'from the future')"))
        {
            await future.ExecuteNonQueryAsync(Ct);
        }

        var ex = await Should.ThrowAsync<EventStoreException>(() => migrator.MigrateAsync(Ct));
        ex.Message.ShouldContain("9999");
    }

    [Fact]
    public async Task Other_modules_migrations_are_applied_beside_the_event_stores_and_tracked_apart()
    {
        var module = new MigrationSet("readmodels", [new Migration(1, "create a view", "create table {schema}.some_view (id int primary key)")]);
        var migrator = new SchemaMigrator(_dataSource, new EventStoreOptions { Schema = _schema }, [module], null);
        (await new SchemaMigrator(_dataSource, new EventStoreOptions { Schema = _schema }).MigrateAsync(Ct)).ShouldBe(SchemaMigrator.EventStore.Migrations.Count);

        (await migrator.PendingAsync(Ct)).ShouldBe(["readmodels 1"]);
        (await migrator.MigrateAsync(Ct)).ShouldBe(1);

        (await migrator.AppliedVersionsAsync("readmodels", Ct)).ShouldBe([1]);
        (await migrator.PendingAsync(Ct)).ShouldBeEmpty();
        await using var probe = _dataSource.CreateCommand($"select count(*) from {_schema}.some_view");
        (await probe.ExecuteScalarAsync(Ct)).ShouldBe(0L);
    }

    [Fact]
    public void A_schema_name_that_is_not_a_plain_identifier_is_rejected()
    {
        Should.Throw<ArgumentException>(() => new SchemaMigrator(_dataSource, new EventStoreOptions { Schema = "x; drop table y" }));
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await using (var drop = _dataSource.CreateCommand($"drop schema if exists {_schema} cascade"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
    }
}

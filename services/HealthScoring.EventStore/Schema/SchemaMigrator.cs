using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HealthScoring.EventStore.Schema;

/// <summary>
/// Creates and migrates the schema: the event store's own tables and those of any other module (read models,
/// keys, ...) that registers a <see cref="MigrationSet"/>. Migrations are numbered per module, applied once
/// each, all in one transaction under an advisory lock, so several processes starting at once apply them
/// exactly once.
/// </summary>
public sealed class SchemaMigrator
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly ILogger _logger;

    /// <summary>Creates a migrator for the event store's own tables in the schema named in <paramref name="options"/>.</summary>
    public SchemaMigrator(NpgsqlDataSource dataSource, EventStoreOptions options)
        : this(dataSource, options, [], null)
    {
    }

    /// <summary>Creates a migrator for the event store's tables and the <paramref name="modules"/>' tables.</summary>
    public SchemaMigrator(NpgsqlDataSource dataSource, EventStoreOptions options, IEnumerable<MigrationSet> modules, ILogger<SchemaMigrator>? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(modules);
        options.Validate();
        _dataSource = dataSource;
        _schema = options.Schema;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Sets = [EventStore, .. modules.Where(m => m.Module != EventStore.Module)];
        var duplicate = Sets.GroupBy(m => m.Module).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Migration module '{duplicate.Key}' is registered twice.", nameof(modules));
        }
    }

    /// <summary>The modules this migrator applies, the event store's first.</summary>
    public IReadOnlyList<MigrationSet> Sets { get; }

    /// <summary>The event store's own migrations, in order. Never edit a shipped one: add a new one.</summary>
    public static MigrationSet EventStore { get; } = new("eventstore",
    [
        new(1, "create event log", """
            create table {schema}.streams (
                tenant_id  text not null,
                stream_id  text not null,
                version    bigint not null,
                created_at timestamptz not null default now(),
                updated_at timestamptz not null default now(),
                primary key (tenant_id, stream_id)
            ) with (fillfactor = 50); -- room on each page for HOT updates of version: every append updates its stream row
            create table {schema}.events (
                seq            bigint generated always as identity primary key,
                tenant_id      text not null,
                stream_id      text not null,
                stream_version bigint not null,
                event_id       uuid not null,
                type           text not null,
                data           jsonb not null,
                metadata       jsonb,
                occurred_at    timestamptz not null,
                recorded_at    timestamptz not null default now(),
                tx_id          xid8 not null default pg_current_xact_id()
            );
            create unique index events_event_id on {schema}.events (tenant_id, event_id);
            create unique index events_stream_version on {schema}.events (tenant_id, stream_id, stream_version);
            create index events_log_order on {schema}.events (tx_id, seq);
            create table {schema}.subscriptions (
                name             text primary key,
                tx_id            xid8 not null,
                seq              bigint not null,
                events_processed bigint not null default 0,
                updated_at       timestamptz not null default now()
            );
            """),
        new(2, "stream rows record their last writer's transaction", """
            -- The log is ordered by transaction id: an append that numbers a stream's events after another's must have
            -- a later transaction id. A claim (an append that numbers before it locks) checks this against the row.
            -- Rows written before have none: every transaction after this migration is later than theirs.
            alter table {schema}.streams add column tx_id xid8;
            """),
    ]);

    /// <summary>Applies every migration not yet applied; returns how many were applied now.</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        await using (var lockCommand = new NpgsqlCommand("select pg_advisory_xact_lock(hashtextextended($1, 0))", connection, tx))
        {
            lockCommand.Parameters.AddWithValue($"healthscoring.migrate:{_schema}");
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var bootstrap = new NpgsqlCommand(
            $"""
            create schema if not exists {_schema};
            create table if not exists {_schema}.schema_migrations (
                module     text not null,
                version    int not null,
                name       text not null,
                applied_at timestamptz not null default now(),
                primary key (module, version)
            );
            """, connection, tx))
        {
            await bootstrap.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<(string Module, int Version)>();
        await using (var read = new NpgsqlCommand($"select module, version from {_schema}.schema_migrations", connection, tx))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add((reader.GetString(0), reader.GetInt32(1)));
            }
        }

        foreach (var set in Sets)
        {
            var unknown = applied.Where(a => a.Module == set.Module && a.Version > set.LatestVersion).Select(a => a.Version).ToList();
            if (unknown.Count > 0)
            {
                throw new EventStoreException($"Schema '{_schema}' has {set.Module} migration(s) {string.Join(", ", unknown)} that this build does not know (latest {set.LatestVersion}). Run a newer build.");
            }
        }

        var count = 0;
        foreach (var set in Sets)
        {
            foreach (var migration in set.Migrations.Where(m => !applied.Contains((set.Module, m.Version))))
            {
                await using var apply = new NpgsqlCommand(migration.Sql.Replace("{schema}", _schema, StringComparison.Ordinal), connection, tx);
                await apply.ExecuteNonQueryAsync(cancellationToken);
                await using var record = new NpgsqlCommand($"insert into {_schema}.schema_migrations (module, version, name) values ($1, $2, $3)", connection, tx);
                record.Parameters.AddWithValue(set.Module);
                record.Parameters.AddWithValue(migration.Version);
                record.Parameters.AddWithValue(migration.Name);
                await record.ExecuteNonQueryAsync(cancellationToken);
                _logger.LogInformation("Applied {Module} migration {Version} ({Name}) to schema {Schema}", set.Module, migration.Version, migration.Name, _schema);
                count++;
            }
        }

        await tx.CommitAsync(cancellationToken);
        return count;
    }

    /// <summary>The versions of <paramref name="module"/> applied so far (empty when the schema does not exist).</summary>
    public async Task<IReadOnlyList<int>> AppliedVersionsAsync(string module = "eventstore", CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select to_regclass($1) is not null", connection);
        exists.Parameters.AddWithValue($"{_schema}.schema_migrations");
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
        {
            return [];
        }

        await using var read = new NpgsqlCommand($"select version from {_schema}.schema_migrations where module = $1 order by version", connection);
        read.Parameters.AddWithValue(module);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var versions = new List<int>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    /// <summary>The modules whose migrations are not all applied, with what is missing (empty when up to date).</summary>
    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken cancellationToken = default)
    {
        var pending = new List<string>();
        foreach (var set in Sets)
        {
            var applied = await AppliedVersionsAsync(set.Module, cancellationToken);
            var missing = set.Migrations.Select(m => m.Version).Except(applied).ToList();
            if (missing.Count > 0)
            {
                pending.Add($"{set.Module} {string.Join(", ", missing)}");
            }
        }

        return pending;
    }
}

/// <summary>A module's migrations, numbered from 1 in order.</summary>
/// <param name="Module">The module's name, such as <c>eventstore</c> or <c>ingestion</c>.</param>
/// <param name="Migrations">Its migrations, in order. Never edit a shipped one: add a new one.</param>
public sealed record MigrationSet(string Module, IReadOnlyList<Migration> Migrations)
{
    /// <summary>The highest version this build knows.</summary>
    public int LatestVersion => Migrations.Count == 0 ? 0 : Migrations[^1].Version;
}

/// <summary>One numbered schema change; <c>{schema}</c> in its SQL is replaced by the configured schema.</summary>
/// <param name="Version">Its number, unique and increasing.</param>
/// <param name="Name">What it does.</param>
/// <param name="Sql">The statements.</param>
public sealed record Migration(int Version, string Name, string Sql);

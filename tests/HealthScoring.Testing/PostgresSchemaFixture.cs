using HealthScoring.EventStore;
using HealthScoring.EventStore.Schema;
using Npgsql;
using Xunit;

namespace HealthScoring.Testing;

/// <summary>
/// A fresh PostgreSQL schema per test class, with the event store migrated into it, dropped afterwards.
/// Test classes run in parallel without seeing each other's data (one schema each, as Marten's own harness does).
/// </summary>
public class PostgresSchemaFixture : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    /// <summary>The schema name, unique to this fixture.</summary>
    public string Schema { get; } = $"t_{Guid.NewGuid():N}"[..20];

    /// <summary>A data source on the test database.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Fixture not initialized.");

    /// <summary>Options pointing the store at this fixture's schema.</summary>
    public EventStoreOptions Options => new() { Schema = Schema };

    /// <summary>Creates a store over this schema with the given registry.</summary>
    public PostgresEventStore CreateStore(EventTypeRegistry registry) => new(DataSource, registry, Options);

    /// <summary>The database the schema is made in: the shared test database unless a subclass brings its own (a <see cref="PostgresNode"/>).</summary>
    public virtual string ConnectionString => TestSettings.PostgresConnectionString;

    /// <inheritdoc />
    public virtual async ValueTask InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        try
        {
            await new SchemaMigrator(_dataSource, Options).MigrateAsync();
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException(
                $"Cannot reach the test PostgreSQL ({ex.Message}). Start it with `scripts/services.sh up` (make test does this).", ex);
        }
    }

    /// <inheritdoc />
    public virtual async ValueTask DisposeAsync()
    {
        if (_dataSource is null)
        {
            return;
        }

        await using (var drop = _dataSource.CreateCommand($"drop schema if exists {Schema} cascade"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

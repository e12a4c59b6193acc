namespace HealthScoring.Testing;

/// <summary>
/// <see cref="LiveApiFixture"/> over a <see cref="PostgresNode"/> of its own instead of the shared database, for tests
/// that stop and restart PostgreSQL under the running host (<see cref="Postgres"/>).
/// </summary>
public class PostgresNodeApiFixture : LiveApiFixture
{
    private PostgresNode? _postgres;

    /// <summary>The host's own PostgreSQL: stop, start or restart it.</summary>
    public PostgresNode Postgres => _postgres ?? throw new InvalidOperationException("Not started.");

    public override string ConnectionString => Postgres.ConnectionString;

    public override async ValueTask InitializeAsync()
    {
        _postgres = await PostgresNode.StartNewAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            // A test that failed with the database stopped leaves it stopped: start it, so the schema can be dropped.
            await Postgres.StartAsync();

            // Pooled connections from before a restart are broken: drop them so the schema's removal gets a live one.
            DataSource.Clear();
            await base.DisposeAsync();
        }
        finally
        {
            if (_postgres is not null)
            {
                await _postgres.DisposeAsync();
            }

            GC.SuppressFinalize(this);
        }
    }
}

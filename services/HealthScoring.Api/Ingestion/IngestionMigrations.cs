using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Ingestion;

internal static class IngestionMigrations
{
    public static MigrationSet Set { get; } = new("ingestion",
    [
        new(1, "users and accounts", """
            create table {schema}.users (
                tenant_id  text not null,
                user_key   text not null,
                account_id text,
                traits     jsonb not null default '{}',
                first_seen timestamptz not null default now(),
                updated_at timestamptz not null default now(),
                primary key (tenant_id, user_key)
            );
            create table {schema}.accounts (
                tenant_id  text not null,
                account_id text not null,
                traits     jsonb not null default '{}',
                first_seen timestamptz not null default now(),
                updated_at timestamptz not null default now(),
                primary key (tenant_id, account_id)
            );
            """),
    ]);
}

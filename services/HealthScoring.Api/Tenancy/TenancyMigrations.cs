using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Tenancy;

internal static class TenancyMigrations
{
    public static MigrationSet Set { get; } = new("tenancy",
    [
        new(1, "tenants and keys", """
            create table {schema}.tenants (
                tenant_id  text primary key,
                created_at timestamptz not null default now()
            );
            insert into {schema}.tenants (tenant_id) values ('default');
            create table {schema}.api_keys (
                key_id     text primary key,
                tenant_id  text not null references {schema}.tenants,
                kind       text not null check (kind in ('write', 'api')),
                name       text not null,
                key_hash   bytea not null,
                created_at timestamptz not null default now(),
                revoked_at timestamptz
            );
            create index api_keys_tenant on {schema}.api_keys (tenant_id);
            """),
        new(2, "dashboard users", """
            create table {schema}.dashboard_users (
                tenant_id     text not null references {schema}.tenants,
                email         text not null,
                role          text not null check (role in ('admin', 'viewer')),
                password_hash text not null,
                created_at    timestamptz not null default now(),
                primary key (tenant_id, email)
            );
            """),
    ]);
}

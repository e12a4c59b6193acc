using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Privacy;

internal static class PrivacyMigrations
{
    public static MigrationSet Set { get; } = new("privacy",
    [
        new(1, "per-user data keys", """
            create table {schema}.user_keys (
                key_id     uuid primary key,
                tenant_id  text not null,
                user_key   text not null,
                key        bytea not null,
                created_at timestamptz not null default now()
            );
            create index user_keys_user on {schema}.user_keys (tenant_id, user_key, created_at desc);
            create table {schema}.erasures (
                tenant_id text not null,
                user_key  text not null,
                erased_at timestamptz not null default now(),
                primary key (tenant_id, user_key, erased_at)
            );
            """),
    ]);
}

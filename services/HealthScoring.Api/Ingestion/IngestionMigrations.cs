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
        new(2, "taxonomy and data-quality counters", """
            create table {schema}.event_taxonomy (
                tenant_id       text not null,
                event_name      text not null,
                category        text not null check (category in ('acquisition', 'activation', 'engagement', 'retention', 'monetization')),
                feature         text,
                property_schema jsonb not null default '{}',
                updated_at      timestamptz not null default now(),
                primary key (tenant_id, event_name)
            );
            create table {schema}.ingest_daily (
                tenant_id  text not null,
                day        date not null,
                source     text not null,
                received   bigint not null default 0,
                accepted   bigint not null default 0,
                duplicates bigint not null default 0,
                rejected   bigint not null default 0,
                late       bigint not null default 0,
                unassigned bigint not null default 0,
                undeclared bigint not null default 0,
                primary key (tenant_id, day, source)
            );
            create table {schema}.ingest_rejects (
                tenant_id text not null,
                day       date not null,
                reason    text not null,
                count     bigint not null,
                primary key (tenant_id, day, reason)
            );
            create table {schema}.ingest_undeclared (
                tenant_id  text not null,
                event_name text not null,
                count      bigint not null,
                last_seen  timestamptz not null,
                primary key (tenant_id, event_name)
            );
            """),
    ]);
}

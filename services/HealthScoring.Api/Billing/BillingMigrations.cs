using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Billing;

internal static class BillingMigrations
{
    public static MigrationSet Set { get; } = new("billing",
    [
        new(1, "stripe settings and customer links", """
            create table {schema}.stripe_settings (
                tenant_id             text primary key references {schema}.tenants,
                webhook_secret        text,
                customer_metadata_key text not null default 'account_id',
                updated_at            timestamptz not null default now()
            );
            create table {schema}.stripe_customers (
                tenant_id   text not null,
                customer_id text not null,
                account_id  text not null,
                updated_at  timestamptz not null default now(),
                primary key (tenant_id, customer_id)
            );
            """),
        new(2, "stripe sync cursors", """
            create table {schema}.stripe_sync_cursors (
                tenant_id  text primary key,
                cursor     jsonb not null,
                updated_at timestamptz not null default now()
            );
            """),
        new(3, "usage reported to stripe meters", """
            create table {schema}.stripe_meter_reports (
                tenant_id   text not null,
                account_id  text not null,
                day         date not null,
                identifier  text not null,
                quantity    bigint not null,
                outcome     text not null,
                reported_at timestamptz not null default now(),
                primary key (tenant_id, account_id, day)
            );
            """),
    ]);
}

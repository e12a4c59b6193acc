using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Accounts;

internal static class AccountsMigrations
{
    public static MigrationSet Set { get; } = new("accounts",
    [
        new(1, "daily per-account aggregates", """
            create table {schema}.account_daily (
                tenant_id        text not null,
                account_id       text not null,
                day              date not null,
                events           integer not null default 0,
                sessions         integer not null default 0,
                api_calls        bigint not null default 0,
                errors           integer not null default 0,
                support_tickets  integer not null default 0,
                invoices_paid    integer not null default 0,
                payment_failures integer not null default 0,
                primary key (tenant_id, account_id, day)
            );
            create table {schema}.account_daily_events (
                tenant_id  text not null,
                account_id text not null,
                day        date not null,
                event_name text not null,
                count      integer not null,
                primary key (tenant_id, account_id, day, event_name)
            );
            create table {schema}.account_daily_features (
                tenant_id  text not null,
                account_id text not null,
                day        date not null,
                feature    text not null,
                uses       integer not null,
                primary key (tenant_id, account_id, day, feature)
            );
            create table {schema}.account_daily_users (
                tenant_id  text not null,
                account_id text not null,
                day        date not null,
                user_key   text not null,
                primary key (tenant_id, account_id, day, user_key)
            );
            create table {schema}.account_subscriptions (
                tenant_id       text not null,
                account_id      text not null,
                event_id        uuid not null,
                at              timestamptz not null,
                subscription_id text not null,
                status          text not null,
                mrr_minor       bigint not null,
                seats           bigint not null,
                plan            text,
                primary key (tenant_id, account_id, event_id)
            );
            """),
    ]);
}

using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Alerts;

internal static class AlertsMigrations
{
    public static MigrationSet Set { get; } = new("alerts",
    [
        new(1, "alert rule state per account and owner counts", """
            create table {schema}.account_alert_state (
                tenant_id  text not null,
                account_id text not null,
                state      jsonb not null,
                updated_at timestamptz not null default now(),
                primary key (tenant_id, account_id)
            );
            create table {schema}.alert_owner_daily (
                tenant_id text not null,
                owner     text not null,
                day       date not null,
                alerts    integer not null,
                primary key (tenant_id, owner, day)
            );
            """),
    ]);
}

using HealthScoring.EventStore.Schema;

namespace HealthScoring.Api.Scoring;

internal static class ScoringMigrations
{
    public static MigrationSet Set { get; } = new("scoring",
    [
        new(1, "model registry and latest health per account", """
            create table {schema}.models (
                tenant_id      text not null,
                target         text not null check (target in ('churn', 'expansion')),
                version        integer not null,
                algorithm      text not null,
                format_version integer not null,
                feature_schema jsonb not null,
                options        jsonb not null,
                metrics        jsonb not null,
                training_from  date not null,
                training_until date not null,
                as_of          date not null,
                horizon_days   integer not null,
                model          bytea not null,
                created_at     timestamptz not null default now(),
                promoted_at    timestamptz,
                primary key (tenant_id, target, version)
            );
            create unique index models_one_promoted on {schema}.models (tenant_id, target) where promoted_at is not null;
            create table {schema}.account_health (
                tenant_id             text not null,
                account_id            text not null,
                as_of                 date not null,
                health_score          integer not null,
                band                  text not null,
                churn_probability     double precision not null,
                expansion_probability double precision,
                previous_score        integer,
                drivers               jsonb not null,
                components            jsonb not null,
                scored_at             timestamptz not null default now(),
                primary key (tenant_id, account_id)
            );
            """),
    ]);
}

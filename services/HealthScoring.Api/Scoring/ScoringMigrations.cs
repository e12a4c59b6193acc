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
        new(2, "score history per account and date", """
            create table {schema}.account_health_history (
                tenant_id             text not null,
                account_id            text not null,
                as_of                 date not null,
                health_score          integer not null,
                band                  text not null,
                churn_probability     double precision not null,
                expansion_probability double precision,
                scored_at             timestamptz not null default now(),
                primary key (tenant_id, account_id, as_of)
            );
            -- Earlier runs live on in the accounts' streams: per account and date, the last verdict appended wins
            -- (a rerun with newer models appends another event for the same date).
            insert into {schema}.account_health_history (tenant_id, account_id, as_of, health_score, band, churn_probability, expansion_probability, scored_at)
            select distinct on (tenant_id, stream_id, (data->>'asOf')::date)
                tenant_id, substr(stream_id, length('account:') + 1), (data->>'asOf')::date, (data->>'healthScore')::integer, data->>'band',
                (data->>'churnProbability')::double precision, (data->>'expansionProbability')::double precision, recorded_at
            from {schema}.events
            where type = 'health.account_scored' and stream_id like 'account:%'
            order by tenant_id, stream_id, (data->>'asOf')::date, seq desc;
            -- The account page explains expansion too; until the next run, the latest event of the verdict's date knows its drivers.
            alter table {schema}.account_health add column expansion_drivers jsonb not null default '[]';
            update {schema}.account_health h set expansion_drivers = e.drivers
            from (
                select distinct on (tenant_id, stream_id, (data->>'asOf')::date)
                    tenant_id, substr(stream_id, length('account:') + 1) as account_id, (data->>'asOf')::date as as_of, data->'expansionDrivers' as drivers
                from {schema}.events
                where type = 'health.account_scored' and stream_id like 'account:%' and jsonb_typeof(data->'expansionDrivers') = 'array'
                order by tenant_id, stream_id, (data->>'asOf')::date, seq desc
            ) e
            where (h.tenant_id, h.account_id, h.as_of) = (e.tenant_id, e.account_id, e.as_of);
            """),
    ]);
}

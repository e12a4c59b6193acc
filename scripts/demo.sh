#!/usr/bin/env bash
# `make demo`: the main job end to end on synthetic data — generate a B2B SaaS history, ingest it (taxonomy,
# Segment events, Stripe billing), train and backtest the churn and expansion models, score every account.
# Rerunning is safe: imports store nothing twice, a score for the same date and models is appended once.
# HS_DEMO_ACCOUNTS / HS_DEMO_MONTHS / HS_DEMO_SEED change the size and the seed.
set -euo pipefail
cd "$(dirname "$0")/.."

accounts="${HS_DEMO_ACCOUNTS:-1000}"
months="${HS_DEMO_MONTHS:-6}"
seed="${HS_DEMO_SEED:-42}"
tenant="demo"
today="$(date -u +%F)"
end="$(date -u -d yesterday +%F)"
out=".state/demo-data"
cli=scripts/healthscore
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }

step "1/6 Generating ${accounts} accounts × ${months} months (seed ${seed}, history ending ${end})"
$cli generate --accounts "$accounts" --months "$months" --seed "$seed" --end "$end" --out "$out"

step "2/6 Declaring the event taxonomy for tenant '${tenant}'"
$cli taxonomy declare "$out/taxonomy.json" --tenant "$tenant"

step "3/6 Importing usage events (Segment calls, through the ingestion pipeline)"
$cli import events "$out/events.jsonl" --tenant "$tenant"

step "4/6 Importing billing events (Stripe)"
$cli import billing "$out/billing.jsonl" --tenant "$tenant"

step "5/6 Training churn and expansion models as of ${today} (rolling backtest, calibration, registry)"
$cli train --as-of "$today" --tenant "$tenant"

step "6/6 Scoring every active account as of ${today}"
$cli score --as-of "$today" --tenant "$tenant" --out "$out/scores.csv"

printf '\nDemo done in %ss. Scores: %s; models: %s model list --tenant %s\n' "$((SECONDS - started))" "$out/scores.csv" "$cli" "$tenant"

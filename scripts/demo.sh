#!/usr/bin/env bash
# `make demo`: the main job end to end on synthetic data, through the real doors. It builds, generates a B2B SaaS
# history, starts the fake HubSpot and Stripe (unless HubSpot__AccessToken / Stripe__SecretKey name real ones) and
# the API host, sends the usage events through the HTTP API, imports the billing export, trains and backtests the
# churn and expansion models, scores every account (alerts go over RabbitMQ to HubSpot), and leaves the dashboard
# running. Rerunning is safe: messageIds dedupe the events, a score for the same date and models is appended once.
#
#   scripts/demo.sh          run it (HS_DEMO_ACCOUNTS / HS_DEMO_MONTHS / HS_DEMO_SEED change the data,
#                            HS_DEMO_PORT the API's port: 5080, gRPC on the next one)
#   scripts/demo.sh stop     stop the API host and the fakes it left running
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

accounts="${HS_DEMO_ACCOUNTS:-1000}"
months="${HS_DEMO_MONTHS:-6}"
seed="${HS_DEMO_SEED:-42}"
port="${HS_DEMO_PORT:-5080}"
grpc_port=$((port + 1))
tenant="demo"
today="$(date -u +%F)"
end="$(date -u -d yesterday +%F)"
out=".state/demo-data"
run=".state/demo"
cli=scripts/healthscore
url="http://127.0.0.1:${port}"
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
fake_stat() { # a HubSpot figure from the fakes' status file (0 until it is there)
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hubspot"][sys.argv[2]])' "$run/fakes.json" "$1" 2>/dev/null || echo 0
}

stop_pid() { # stops the process in pid file $1, if it is still ours and alive
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_all() {
  stop_pid "$run/api.pid"
  stop_pid "$run/fakes.pid"
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  echo "demo: stopped the API host and the fakes"
  exit 0
fi

mkdir -p "$run"
chmod 700 "$run"
# shellcheck disable=SC1091 # written by services.sh up (make demo runs it first)
source .state/services.env

step "1/9 Building (Release)"
# The CLI's build also builds the API host it references (services/HealthScoring.Api/bin/Release).
for project in services/HealthScoring.Cli tests/HealthScoring.FakeServices; do
  dotnet build "$project" -c Release -v quiet -nologo -clp:ErrorsOnly >/dev/null || die "build of $project failed"
done
echo "built the CLI, the API host and the fake integrations"

step "2/9 Generating ${accounts} accounts × ${months} months (seed ${seed}, history ending ${end})"
$cli generate --accounts "$accounts" --months "$months" --seed "$seed" --end "$end" --out "$out"

stop_all
step "3/9 Starting the integrations' counterparts"
if [ -n "${HubSpot__AccessToken:-}" ] || [ -n "${Stripe__SecretKey:-}" ]; then
  echo "using the HubSpot / Stripe settings from the environment (real accounts)"
else
  rm -f "$run/fakes.env"
  setsid nohup dotnet tests/HealthScoring.FakeServices/bin/Release/net10.0/HealthScoring.FakeServices.dll \
    --accounts "$out/accounts.csv" --billing "$out/billing.jsonl" --out "$run" >"$run/fakes.log" 2>&1 &
  echo $! >"$run/fakes.pid"
  for _ in $(seq 1 150); do [ -f "$run/fakes.env" ] && break; sleep 0.2; done
  [ -f "$run/fakes.env" ] || die "the fake HubSpot/Stripe did not start (log: $run/fakes.log)"
  # shellcheck disable=SC1091 # written by the fakes host just now
  source "$run/fakes.env"
  head -n 1 "$run/fakes.log"
fi

step "4/9 Starting the API host on ${url} (gRPC on 127.0.0.1:${grpc_port})"
if curl -s -o /dev/null "http://127.0.0.1:${port}/health/live"; then
  die "port ${port} is taken by another process: set HS_DEMO_PORT"
fi
# A scrape token for /metrics, kept between runs.
[ -f "$run/metrics-token" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run/metrics-token")
metrics_token="$(cat "$run/metrics-token")"
(
  cd services/HealthScoring.Api/bin/Release/net10.0
  ASPNETCORE_URLS="$url" Grpc__Url="http://127.0.0.1:${grpc_port}" ASPNETCORE_ENVIRONMENT=Production Metrics__ScrapeToken="$metrics_token" \
    setsid nohup dotnet HealthScoring.Api.dll >"$repo/$run/api.log" 2>&1 &
  echo $! >"$repo/$run/api.pid"
)
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = "200" ] && break
  kill -0 "$(cat "$run/api.pid")" 2>/dev/null || die "the API host stopped (log: $run/api.log)"
  sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = "200" ] || die "the API host is not ready (log: $run/api.log)"
echo "ready (log: $run/api.log)"

# A write key (sends events) and an API key (reads), kept between runs while they still work.
status_with() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
if [ -f "$run/keys.env" ]; then
  # shellcheck disable=SC1091 # written by an earlier run
  source "$run/keys.env"
  [ "$(status_with -u "${HEALTHSCORE_WRITE_KEY}:" -H 'Content-Type: application/json' -d '{"batch":[]}' "$url/v1/batch")" = "401" ] && rm "$run/keys.env"
  [ "$(status_with -H "Authorization: Bearer ${HEALTHSCORE_API_KEY}" "$url/v1/reports/usage-billing?asOf=$today")" = "401" ] && rm -f "$run/keys.env"
fi
if [ ! -f "$run/keys.env" ]; then
  write_key="$($cli keys create --tenant "$tenant" --kind write --name "demo write key" | tail -n 1)"
  api_key="$($cli keys create --tenant "$tenant" --kind api --name "demo api key" | tail -n 1)"
  (umask 077 && printf 'export HEALTHSCORE_WRITE_KEY=%s\nexport HEALTHSCORE_API_KEY=%s\n' "$write_key" "$api_key" >"$run/keys.env")
fi
# shellcheck disable=SC1091 # written just above or by an earlier run
source "$run/keys.env"
write_key="$HEALTHSCORE_WRITE_KEY"
api_key="$HEALTHSCORE_API_KEY"

step "5/9 Declaring the event taxonomy for tenant '${tenant}'"
$cli taxonomy declare "$out/taxonomy.json" --tenant "$tenant"

step "6/9 Sending usage events through the HTTP API (POST /v1/batch, Segment's format)"
$cli import events "$out/events.jsonl" --api "$url" --write-key "$write_key"

step "7/9 Importing billing events (Stripe export)"
$cli import billing "$out/billing.jsonl" --tenant "$tenant"

step "8/9 Training churn and expansion models as of ${today} (rolling backtest, calibration, registry)"
$cli train --as-of "$today" --tenant "$tenant"

step "9/9 Scoring every active account as of ${today} (alerts go out over RabbitMQ)"
$cli score --as-of "$today" --tenant "$tenant" --out "$out/scores.csv"

scored=$(($(wc -l <"$out/scores.csv") - 1))
if [ -f "$run/fakes.json" ]; then
  # Each scored account with a company in the fake (one per generated account) gets its properties; a rerun with
  # fewer accounts leaves older accounts in the tenant that have none.
  expected="$(python3 -c 'import csv,sys; a={r["account_id"] for r in csv.DictReader(open(sys.argv[1]))}; print(sum(r["account_id"] in a for r in csv.DictReader(open(sys.argv[2]))))' "$out/accounts.csv" "$out/scores.csv")"
  printf '\nWaiting for the fake HubSpot to receive the scores of %s companies ' "$expected"
  for _ in $(seq 1 120); do
    have="$(fake_stat companiesScored)"
    [ "$have" -ge "$expected" ] && break
    printf '.'
    sleep 1
  done
  # Tasks trail the score updates (they queue behind them in the client's rate limiter): wait until their count
  # has stood still for a few seconds.
  last=-1 still=0
  for _ in $(seq 1 90); do
    tasks="$(fake_stat tasks)"
    if [ "$tasks" = "$last" ]; then still=$((still + 1)); else still=0; last="$tasks"; fi
    [ "$still" -ge 4 ] && break
    printf '.'
    sleep 1
  done
  echo
  python3 - "$run/fakes.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
h, st = s["hubspot"], s["stripe"]
print(f"fake HubSpot: {h['companiesScored']} companies carry a health score, {h['tasks']} tasks for account owners, "
      f"{h['requests']} requests (at most {h['maxRequestsInAnyTenSeconds']} in any 10 s)")
print(f"fake Stripe: {st['requests']} requests, {st['meterEvents']} meter events")
PY
fi

# A dashboard login for the demo tenant (admin: may snooze alerts), kept between runs.
if [ ! -f "$run/login.env" ]; then
  email="csm@demo.example"
  if ! password="$($cli users create --tenant "$tenant" --email "$email" --role admin | tail -n 1)"; then
    email="csm-$(date +%s)@demo.example" # the login file was lost but the user is still there
    password="$($cli users create --tenant "$tenant" --email "$email" --role admin | tail -n 1)"
  fi
  (umask 077 && printf 'DEMO_EMAIL=%s\nDEMO_PASSWORD=%s\n' "$email" "$password" >"$run/login.env")
fi
# shellcheck disable=SC1091 # written just above or by an earlier run
source "$run/login.env"

printf '\nDemo done in %ss.\n' "$((SECONDS - started))"
printf '  dashboard:         %s/dashboard   sign in: tenant %s, %s, password %s\n' "$url" "$tenant" "$DEMO_EMAIL" "$DEMO_PASSWORD"
printf '  API:               %s   (gRPC: 127.0.0.1:%s; OpenAPI: %s/openapi/v1.json)\n' "$url" "$grpc_port" "$url"
printf '  API key (reads):   %s   (also in %s)\n' "$api_key" "$run/keys.env"
printf '  scores:            %s\n' "$out/scores.csv"
printf '  metrics:           curl -H "Authorization: Bearer %s" %s/metrics   (Prometheus: the same token)\n' "$metrics_token" "$url"
printf '  stop it all:       scripts/demo.sh stop\n'

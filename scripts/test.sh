#!/usr/bin/env bash
# Runs every test project against the real PostgreSQL and RabbitMQ that services.sh starts, then prints
# "tests: N passed, M failed[, K skipped]" from the TRX results. Extra arguments go to `dotnet test`
# (e.g. --filter "FullyQualifiedName~Subscriptions").
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/services.sh up
bash scripts/test-deps.sh
# shellcheck disable=SC1091 # written by services.sh up
source .state/services.env

results="$repo/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build HealthScoring.sln -c Debug -v quiet -nologo -clp:ErrorsOnly
status=0
dotnet test HealthScoring.sln -c Debug --no-build --nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" "$@" || status=$?

bash scripts/test-summary.sh "$results" || status=$?
exit "$status"

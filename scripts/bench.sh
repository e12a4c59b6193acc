#!/usr/bin/env bash
# bench.sh - run the benchmarks (tests/HealthScoring.Benchmarks) against the local services.
#
# Usage: scripts/bench.sh [benchmark options]     e.g. scripts/bench.sh --only eventstore.bulk_append --events 20000 --streams 200
#        scripts/bench.sh --help                  lists the options and benchmarks
#        scripts/bench.sh --only soak.mixed       the 10-minute soak (make soak); not part of the default set
#
# Starts the services (scripts/services.sh up), then runs the suite in Release. Results go to
# bench-results/latest.json under the repository root unless --out says otherwise.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
cd -- "$REPO"

"$SCRIPT_DIR/services.sh" up
"$SCRIPT_DIR/test-deps.sh" python3-sklearn python3-xgboost
dotnet run -c Release --project tests/HealthScoring.Benchmarks -- "$@"

#!/usr/bin/env bash
# Sums the <Counters> of every TRX file under DIR and prints one line:
#   tests: N passed, M failed[, K skipped]
# Exits 1 when a test failed or none ran, so callers can trust the line and the exit code alike.
set -euo pipefail
dir="${1:?usage: test-summary.sh RESULTS_DIR}"

passed=0 failed=0 skipped=0 files=0
while IFS= read -r -d '' trx; do
  files=$((files + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # xunit v3's TRX leaves notExecuted at 0 for skipped tests and counts them only as total minus executed.
  not_run=$(( $(get total) - $(get executed) ))
  not_executed=$(get notExecuted)
  skipped=$((skipped + (not_run > not_executed ? not_run : not_executed)))
done < <(find "$dir" -name '*.trx' -print0 2>/dev/null)

# Name what failed (first lines of each message) so a CI log's tail says which test it was.
if [ "$failed" -gt 0 ]; then
  mapfile -d '' trx_files < <(find "$dir" -name '*.trx' -print0 2>/dev/null)
  python3 - "${trx_files[@]}" <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sys.argv[1:]:
    for r in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
            continue
        msg = r.find(".//t:Message", ns)
        text = (msg.text or "").strip().splitlines() if msg is not None else []
        print("FAILED " + r.get("testName", "?"))
        for line in text[:3]:
            print("    " + line[:300])
PY
fi

line="tests: $passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then line="$line, $skipped skipped"; fi
echo "$line"
if [ "$files" -eq 0 ] || [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi

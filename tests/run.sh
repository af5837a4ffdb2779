#!/usr/bin/env bash
# Runs every test suite and ends with the one line CI reads: "N passed, M failed".
# Each suite prints "PASS: name" or "FAIL: name: why" per check; a suite that
# dies without printing counts as one failure, so nothing fails silently.
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C

suites=(tests/errors/run.sh tests/golden/run.sh tests/gradcheck/run.sh tests/init/run.sh
        tests/runtime/run.sh tests/torch/run.sh tests/e2e/run.sh tests/inference/run.sh
        tests/workflow/run.sh tests/nolibm/run.sh tests/inference/embed.sh tests/norm/run.sh
        tests/inference/stack.sh tests/fuzz/run.sh tests/reliability/run.sh tests/dist/run.sh)
[ $# -gt 0 ] && suites=("$@")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0
for s in "${suites[@]}"; do
    echo "== $s"
    start=$SECONDS
    bash "$s" >"$log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL)' "$log" | grep -v '^PASS' || true
    p=$(grep -c '^PASS' "$log"); f=$(grep -c '^FAIL' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: $s exited $rc without naming a failure:"; tail -20 "$log"; f=1
    fi
    [ "$f" -gt 0 ] && { echo "-- last lines of $s:"; tail -5 "$log"; }
    echo "   $p passed, $f failed ($((SECONDS - start)) s)"
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

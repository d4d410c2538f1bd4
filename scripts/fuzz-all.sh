#!/usr/bin/env bash
# Runs every Go fuzz target in the module briefly (FUZZTIME, default 10s each).
# A crasher the fuzzer finds is written to the package's testdata/fuzz and
# fails this script; commit it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-10s}
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== fuzz $pkg $f ($t)"
    # Short minimisation: Go's default (60 s per new input) can outlast -fuzztime.
    if go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" -fuzzminimizetime=1s "$pkg" >"$log" 2>&1; then
      tail -2 "$log"
    elif grep -q 'Failing input written to' "$log"; then
      cat "$log"; echo "FUZZ FAILURE: $pkg $f"; fail=1
    elif grep -q 'context deadline exceeded' "$log"; then
      # The fuzzing deadline hit while the engine was busy (a Go fuzzing
      # quirk, not a finding): no failing input was written.
      tail -4 "$log"; echo "note: $pkg $f stopped at the deadline without a finding"
    else
      cat "$log"; echo "FUZZ FAILURE: $pkg $f"; fail=1
    fi
  done
done
exit $fail

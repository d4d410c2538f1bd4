#!/usr/bin/env bash
# Runs every Go fuzz target in the module briefly (FUZZTIME, default 10s each).
# Crashers the fuzzer finds are written to the package's testdata/fuzz and
# fail this script; commit them as regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-10s}
fail=0
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== fuzz $pkg $f ($t)"
    if ! go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg"; then
      echo "FUZZ FAILURE: $pkg $f"; fail=1
    fi
  done
done
exit $fail

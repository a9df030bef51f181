#!/usr/bin/env bash
# `make test`: every stage, each with its own TAP/prove summary, then one
# closing line for the whole run.  Fails if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logdir=$(mktemp -d /tmp/pc-test-logs.XXXXXX)
passed=0 failed=0 bad_stages=()

stage() { # name command...
  local name=$1; shift
  echo "### $name"
  "$@" 2>&1 | tee "$logdir/$name.log"
  local st=${PIPESTATUS[0]}
  # Sum what the runners report: prove's "Tests=N", unittest's "Ran N tests",
  # and the failures prove lists as "Failed N/M subtests".
  local n f
  n=$(grep -oE '(Tests=[0-9]+|Ran [0-9]+ test)' "$logdir/$name.log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$logdir/$name.log" | grep -oE '^Failed [0-9]+' | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  n=${n:-0} f=${f:-0}
  if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + n - f)) failed=$((failed + f))
  [ "$st" -eq 0 ] || bad_stages+=("$name")
}

stage unit make --no-print-directory test-unit
stage fuzz-replay make --no-print-directory test-fuzz
stage simulator make --no-print-directory test-sim
stage docs make --no-print-directory test-docs
stage httpd make --no-print-directory test-httpd
# `make run`'s printed walk-through, each command run and checked.
stage demo make --no-print-directory test-demo
# The Debian package on this machine's own apache2 (root on Debian only;
# the script prints a TAP skip otherwise).
stage deb make --no-print-directory test-deb

echo
if [ ${#bad_stages[@]} -gt 0 ]; then
  echo "# failed stages: ${bad_stages[*]} (logs in $logdir)"
  echo "total: $passed passed, $failed failed"
  exit 1
fi
rm -rf "$logdir"
echo "total: $passed passed, $failed failed"

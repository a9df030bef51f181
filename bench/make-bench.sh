#!/usr/bin/env bash
# `make bench`: every benchmark of bench/ in one run, one Markdown summary.
#
# Parts (in this order; name some to run only those):
#   overhead   bench/run-bench.sh      ungated vs PingOneConsent vs mod_oauth2,
#                                      one user; single flight; bytes per decision
#   sweep      bench/users-sweep.sh    gated/ungated at 1, 1k, 10k, 100k users
#   overflow   bench/overflow.sh       hit rate and PingOne calls/s against the
#                                      working set (100k .. 400k users)
#   miss       bench/miss-latency.sh   cold-miss latency, keep-alive both sides
#   callgrind  bench/callgrind-cost.sh instructions per hit (1, 1k, 100k users)
#                                      and per miss
#   memory     bench/memory.sh         RSS per child after 100k and 1M users
#   poll       bench/poll-latency.sh   revoke-to-deny through the activity feed
#   farm       bench/farm-bench.sh     three servers on one Redis: throughput,
#                                      revoke-to-deny, Sentinel failover
#   farmcg     bench/farm-callgrind.sh instructions per warm hit, redis:// vs shm
# BENCH_SCALE=quick runs each part small (minutes, for development: the
# numbers are not the benchmark).  Full scale takes about 40 minutes on a
# quiet 2-core machine, most of it warming caches through the simulator.
#
# Usage: bench/make-bench.sh [part...]   (make bench BENCH_ARGS="sweep miss")
# Prints the summary and writes bench/results/bench-<date>.md (plus the
# overhead chart as bench-<date>.png when gnuplot is installed).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
all=(overhead sweep overflow miss callgrind memory poll farm farmcg)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(${BENCH_PARTS:-${all[*]}})
for p in "${parts[@]}"; do
  [[ " ${all[*]} " == *" $p "* ]] || { echo "unknown part: $p (parts: ${all[*]})"; exit 2; }
done
scale=${BENCH_SCALE:-full}
declare -A cmd
if [ "$scale" = quick ]; then
  cmd=([overhead]="run-bench.sh 2 3" [sweep]="users-sweep.sh 2 3 1 1000 10000"
       [overflow]="overflow.sh 5 2000 4000 6000" [miss]="miss-latency.sh 100"
       [callgrind]="callgrind-cost.sh 500 10000" [memory]="memory.sh 2000 20000"
       [poll]="poll-latency.sh 5" [farm]="farm-bench.sh 2 2" [farmcg]="farm-callgrind.sh")
  export PC_BENCH_CACHE_SIZE=4096    # overflow and memory: past capacity quickly
else
  cmd=([overhead]="run-bench.sh" [sweep]="users-sweep.sh" [overflow]="overflow.sh"
       [miss]="miss-latency.sh" [callgrind]="callgrind-cost.sh" [memory]="memory.sh"
       [poll]="poll-latency.sh" [farm]="farm-bench.sh ${FARM_BENCH_ARGS:-}" [farmcg]="farm-callgrind.sh")
fi
make -C "$top" -s all || exit 1
machine=$(machine_line)
PC_BENCH_OUT=$(mktemp -d /tmp/pc-bench-out.XXXXXX); export PC_BENCH_OUT
stamp=$(date -u +%Y%m%d-%H%M)
t0=$(date +%s)
: > "$PC_BENCH_OUT/durations"
failed=()
for p in "${parts[@]}"; do
  echo "### $p: bench/${cmd[$p]}"
  tp=$(date +%s)
  # shellcheck disable=SC2086
  if bash "$top/bench/"${cmd[$p]} > "$PC_BENCH_OUT/$p.log" 2>&1 && [ -s "$PC_BENCH_OUT/$p.md" ]; then
    st=ok
  else
    st=failed; failed+=("$p")
    tail -20 "$PC_BENCH_OUT/$p.log"
  fi
  echo "$p $st $(( $(date +%s) - tp )) $(cut -d' ' -f1 /proc/loadavg) bench/${cmd[$p]}" >> "$PC_BENCH_OUT/durations"
  echo "### $p: $st in $(( $(date +%s) - tp )) s"
done

out="$top/bench/results/bench-$stamp.md"
mkdir -p "$top/bench/results"
{
  echo "# mod_pingone_consent benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $machine.  Scale: $scale$([ "$scale" = quick ] && echo " (reduced: not the benchmark)").  Commit: $(git -C "$top" rev-parse --short HEAD 2>/dev/null)$(git -C "$top" diff --quiet 2>/dev/null || echo ' (with local changes)')."
  echo
  echo "| part | result | seconds | load average at its end | command |"
  echo "|---|---|---|---|---|"
  while read -r p st secs load c; do echo "| $p | $st | $secs | $load | \`$c\` |"; done < "$PC_BENCH_OUT/durations"
  echo
  echo "Total: $(( $(date +%s) - t0 )) s.  Wall-clock figures (req/s, ms) depend on what else the machine"
  echo "runs: compare ratios within one run; instruction counts (callgrind) do not."
  for p in "${parts[@]}"; do
    [ -s "$PC_BENCH_OUT/$p.md" ] && { echo; cat "$PC_BENCH_OUT/$p.md"; }
  done
} > "$out"
[ -f "$PC_BENCH_OUT/overhead.png" ] && cp "$PC_BENCH_OUT/overhead.png" "${out%.md}.png"
cat "$out"
echo
echo "written: $out (part logs: $PC_BENCH_OUT)"
[ ${#failed[@]} -eq 0 ] || { echo "failed parts: ${failed[*]}"; exit 1; }

#!/usr/bin/env bash
# Memory per child (issue 11): RSS, and its private part
# (/proc/PID/smaps_rollup), of each httpd child after 100,000 and after
# 1,000,000 distinct users.  1,000,000 is more than the default cache
# holds (262,144): the table evicts, and memory must stay bounded.
#
# One httpd (event MPM, 2 children x 32 threads), default cache size, an
# allow TTL of a day, `PingOneRateLimit Off` (warming a million users at
# the default 50/s would take 5.5 hours), `MaxKeepAliveRequests 0` (see
# warm_users); the users go through /gated once each (wrk, 64 connections).
# The shared part of RSS is mostly the decision table (one mapping shared
# by all children, touched as filled); the private part is what a child
# holds of its own.
#
# Usage: bench/memory.sh [user counts...]   (default: 100000 1000000)
# PC_BENCH_CACHE_SIZE=N sets PingOneConsentCacheSize (reduced-scale runs
# only; the output says so).
# Writes bench/results/memory-<date>.md (or $PC_BENCH_OUT/memory.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100000 1000000)
IFS=$'\n' counts=($(printf '%s\n' "${counts[@]}" | sort -n)); unset IFS
max=${counts[-1]}
need wrk curl python3
make -C "$top" -s all
machine=$(machine_line)

bench_workdir memory htdocs/static htdocs/gated
port=$(free_port) sim_port=$(free_port)
{ httpd_conf_head "$work" "$port" event "$sim_port" authz_host
  event_2x32
  echo "MaxKeepAliveRequests 0"
  echo "PingOneConsentCacheTTL 86400 86400"
  echo "PingOneRateLimit Off"
  [ -z "${PC_BENCH_CACHE_SIZE:-}" ] || echo "PingOneConsentCacheSize $PC_BENCH_CACHE_SIZE"
  gated_location
  admin_location
} > "$work/httpd.conf"
trap bench_stop EXIT
start_sim "$sim_port" "$work/logs/sim_log"
ts=$(date +%s)
seed_bulk "$max"
seed_secs=$(( $(date +%s) - ts ))
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/static/f.txt"

# snapshot LABEL : one line per child: label pid rss_kb private_kb pss_kb
snapshot() {
  local pid
  for pid in $(children "$work/httpd.pid"); do
    awk -v l="$1" -v p="$pid" '
      /^Rss:/ {r=$2} /^Pss:/ {s=$2} /^Private_(Clean|Dirty):/ {v+=$2}
      END {print l, p, r, v, s}' "/proc/$pid/smaps_rollup"
  done >> "$work/snapshots"
  echo "$1 $(admin_num "$port" cache.entries cache.evictions cache.evictions_fresh counters.pingone_calls | paste -sd' ')" >> "$work/cache"
}
: > "$work/snapshots"; : > "$work/cache"
# every thread of both children serves a few requests first
wrk -t2 -c64 -d3s "http://127.0.0.1:$port/static/f.txt" >/dev/null
snapshot 0
prev=0
: > "$work/warm"
for n in "${counts[@]}"; do
  tw=$(date +%s)
  c=$(warm_users "$port" /gated/f.txt /static/f.txt $((n - prev)) "$prev")
  echo "$n $(( $(date +%s) - tw )) $c" >> "$work/warm"
  prev=$n
  snapshot "$n"
  echo "after $n users: $(grep "^$n " "$work/snapshots" | paste -sd';')"
done

cache_text="default cache size ($(admin_num "$port" cache.capacity) decisions)"
[ -z "${PC_BENCH_CACHE_SIZE:-}" ] ||
  cache_text="PingOneConsentCacheSize $PC_BENCH_CACHE_SIZE (reduced scale)"
out=$(bench_out memory)
python3 - "$work" "$out" <<PY
import sys
work, out = sys.argv[1], sys.argv[2]
snaps = [l.split() for l in open(work + "/snapshots")]
cache = {l.split()[0]: l.split()[1:] for l in open(work + "/cache")}
warm = {l.split()[0]: l.split()[1:] for l in open(work + "/warm")}
mib = lambda kb: "%.1f" % (int(kb) / 1024.0)
L = ["## Memory per child", "",
     "Machine: $machine.  httpd event MPM, 2 children x 32 threads, $cache_text, "
     "\`PingOneConsentCacheTTL 86400 86400\`, \`PingOneRateLimit Off\` (warming), each user through "
     "/gated once (wrk, 64 connections); /proc/PID/smaps_rollup of each child after the users "
     "(0: after start-up and 3 s of static requests on every thread).", "",
     "| distinct users | child pid | RSS MiB | private MiB | shared MiB | PSS MiB | cache entries | evictions (fresh) | warming |",
     "|---|---|---|---|---|---|---|---|---|"]
for label, pid, rss, priv, pss in snaps:
    e = cache[label]
    w = warm.get(label)
    L.append("| %s | %s | %s | **%s** | %s | %s | %s | %s (%s) | %s |" % (
        format(int(label), ","), pid, mib(rss), mib(priv), mib(int(rss) - int(priv)), mib(pss),
        format(int(e[0]), ","), format(int(e[1]), ","), format(int(e[2]), ","),
        "%s s, %s calls" % (w[0], format(int(w[1]), ",")) if w else "-"))
pids = {}
for label, pid, *_ in snaps:
    pids.setdefault(label, set()).add(pid)
same = len({frozenset(v) for v in pids.values()}) == 1
L += ["",
      "- the same two children throughout: %s" % ("yes" if same else "**no** (children were replaced: "
      "compare with care)"),
      "- seeding the simulator with $max users: $seed_secs s",
      "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY

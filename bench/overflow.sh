#!/usr/bin/env bash
# The default cache's overflow curve (issue 11): hit rate and PingOne
# calls per second against the working-set size, from the module's own
# counters (admin status: hits, misses, pingone_calls,
# cache.evictions_fresh).
#
# One httpd (event MPM, 2 children x 32 threads) with the default cache
# (no PingOneConsentCacheSize line: 262,144 decisions), an allow TTL of a
# day, `PingOneRateLimit Off` (the curve shows what the cache asks of
# PingOne; with the default budget of 50/s the calls over it would wait
# and then be refused), the admin handler on loopback.  For each working
# set W (ascending): the users not yet asked are warmed once each (wrk, 64
# connections), then wrk (-t2 -c32) draws users of [0, W) at random for a
# fixed time; the counters' difference over that time is the point.
# Uniform draws against a full cache of C entries hit about C/W at best.
#
# Usage: bench/overflow.sh [seconds per point] [working sets...]
#        (default: 30 s; 100000 200000 262144 300000 400000)
# PC_BENCH_CACHE_SIZE=N sets PingOneConsentCacheSize (reduced-scale runs
# only; the output says so).
# Writes bench/results/overflow-<date>.md (or $PC_BENCH_OUT/overflow.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
secs=${1:-30}
shift 1 2>/dev/null || true
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(100000 200000 262144 300000 400000)
IFS=$'\n' sets=($(printf '%s\n' "${sets[@]}" | sort -n)); unset IFS
max=${sets[-1]}
need wrk curl python3
make -C "$top" -s all
machine=$(machine_line)

bench_workdir overflow htdocs/static htdocs/gated
port=$(free_port) sim_port=$(free_port)
size_line=""
[ -n "${PC_BENCH_CACHE_SIZE:-}" ] && size_line="PingOneConsentCacheSize $PC_BENCH_CACHE_SIZE"
{ httpd_conf_head "$work" "$port" event "$sim_port" authz_host
  echo "LogLevel warn pingone_consent:notice"
  event_2x32
  echo "MaxKeepAliveRequests 0"
  echo "PingOneConsentCacheTTL 86400 86400"
  echo "PingOneRateLimit Off"
  echo "$size_line"
  gated_location
  admin_location
} > "$work/httpd.conf"
trap bench_stop EXIT
start_sim "$sim_port" "$work/logs/sim_log"
seed_bulk "$max"
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/static/f.txt"
capacity=$(admin_num "$port" cache.capacity)
users_lua "$work/users.lua"

keys="counters.hits counters.misses counters.pingone_calls cache.evictions_fresh cache.entries"
: > "$work/points"
prev=0
for w in "${sets[@]}"; do
  tw=$(date +%s)
  warm_calls=$(warm_users "$port" /gated/f.txt /static/f.txt $((w - prev)) "$prev")
  warm_secs=$(( $(date +%s) - tw ))
  prev=$w
  before=$(admin_num "$port" $keys | paste -sd' ')
  wrk -t2 -c32 -d"${secs}s" -s "$work/users.lua" "http://127.0.0.1:$port/gated/f.txt" \
    -- random "$w" 0 "$w" 2 > "$work/wrk.$w" 2>&1
  after=$(admin_num "$port" $keys | paste -sd' ')
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.$w")
  non200=$(awk '/^responses/ {print $4}' "$work/wrk.$w")
  echo "$w $warm_secs $warm_calls $rps $non200 $before $after" >> "$work/points"
  echo "working set $w: warmed in $warm_secs s; $(tail -1 "$work/points")"
done
fresh_log=$(grep -c PC00028 "$work/logs/error_log" || true)

out=$(bench_out overflow)
ways=$(awk '/#define PC_TABLE_WAYS/ {print $3}' "$top/src/pc_table.h")
python3 - "$work/points" "$secs" "$capacity" "$out" "$ways" <<PY
import math, sys
points, secs, cap, out, ways = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
def model(w):
    """The table's placement simulated: w users, each with two random
    buckets of 'ways' slots (cap/ways buckets), placed in the one holding
    fewer; a user without room is not kept (one of the two would be
    evicted).  Uniform draws hit kept / w."""
    import random
    rnd = random.Random(w); nb = cap // ways; fill = [0] * nb; kept = 0
    for _ in range(w):
        x, y = rnd.randrange(nb), rnd.randrange(nb)
        if fill[y] < fill[x]: x = y
        if fill[x] < ways: fill[x] += 1; kept += 1
    return kept / float(w)
L = ["## Default-cache overflow: hit rate and PingOne calls against working-set size", "",
     "Machine: $machine.  httpd event MPM, 2 children x 32 threads; cache: ${size_line:-default size} "
     "(capacity %s decisions, admin status); \`PingOneConsentCacheTTL 86400 86400\`; "
     "\`PingOneRateLimit Off\` (demand shown unthrottled; the default budget would cap calls at 50/s "
     "and refuse the rest); each point: the working set's new users warmed once, then wrk -t2 -c32 "
     "drawing users of the set at random for %d s; counters from the admin status." % (format(cap, ","), secs), "",
     "| working set | vs capacity | hit rate | best possible (C/W) | model: two %d-slot buckets per user | misses per 1,000 requests "
     "| PingOne calls/s | req/s | fresh evictions/s | cache entries | non-200 |" % ways,
     "|---|---|---|---|---|---|---|---|---|---|---|"]
for line in open(points):
    f = line.split()
    w, rps, non200 = int(f[0]), float(f[3]), int(f[4])
    b = [int(x) for x in f[5:10]]; a = [int(x) for x in f[10:15]]
    hits, misses, calls, fresh = a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]
    n = hits + misses
    L.append("| %s | %.2f | **%.4f** | %.4f | %.4f | %.1f | **%.0f** | %.0f | %.0f | %s | %d |" % (
        format(w, ","), w / cap, hits / n if n else 0, min(1.0, cap / w), model(w), 1000.0 * misses / n if n else 0,
        calls / secs, rps, fresh / secs, format(a[4], ","), non200))
L += ["",
      "- model: each user hashes to two of %s buckets of %d slots and goes to the one holding fewer; "
      "with two choices the table keeps every user up to about 75 %% of its capacity in decisions."
      % (format(cap // ways, ","), ways),
      "- PingOne calls/s is what this load (wrk -c32, closed loop) made; a miss costs a simulator call, so "
      "past capacity the request rate falls to what the simulator serves.  The load a real site puts on "
      "PingOne is misses per 1,000 requests x its request rate.",
      "- PC00028 (fresh evictions) logged $fresh_log time(s) (at most once a minute)",
      "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY

#!/usr/bin/env bash
# The user sweep (issue 11): warm-cache throughput of a gated 1 KiB file
# against the same file ungated, at 1, 1,000, 10,000 and 100,000 distinct
# users, measured alternately in one run.
#
# One httpd (event MPM, 2 children x 32 threads) with the module's default
# cache settings (no PingOneConsentCache / PingOneConsentCacheSize line) and
# an allow TTL of a day (nothing expires during the run), the simulator
# with the bulk users.  Both locations take the user the same way: wrk
# sends X-Sub, SetEnvIf copies it into OIDC_CLAIM_sub (bench/lib.sh); only
# /gated has `PingOneConsent On`.  A wrk script cycles through the N users.
#
# The largest N is warmed first through /gated with 64 connections under
# `PingOneRateLimit Off` (the default budget of 50 calls/s would make
# warming 100,000 users take half an hour); then a graceful restart puts
# the default budget back (no PingOneRateLimit line; the table survives a
# graceful restart) and the measured rounds run: in each round, for each
# N, /static and /gated back to back (order alternating between rounds).
# The simulator's consent calls and the module's misses during the
# measured rounds must be 0.
#
# Usage: bench/users-sweep.sh [rounds] [seconds] [user counts...]
#        (default: 5 rounds, 5 s, 1 1000 10000 100000)
# Writes bench/results/sweep-<date>.md (or $PC_BENCH_OUT/sweep.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
rounds=${1:-5} secs=${2:-5}
shift 2 2>/dev/null || shift $#
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 1000 10000 100000)
max=0; for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
need wrk curl python3
make -C "$top" -s all
machine=$(machine_line)

bench_workdir sweep htdocs/static htdocs/gated
port=$(free_port) sim_port=$(free_port)
# conf LINES : the configuration, with these extra lines (printf %b)
conf() {
  { httpd_conf_head "$work" "$port" event "$sim_port" authz_host
    echo "LogLevel warn pingone_consent:notice"
    event_2x32
    echo "PingOneConsentCacheTTL 86400 86400"
    printf '%b\n' "$1"
    gated_location
    admin_location
  } > "$work/httpd.conf"
}
trap bench_stop EXIT
start_sim "$sim_port" "$work/logs/sim_log"
seed_bulk $((max + 1))   # user $max: the start-up check, not one of the measured
# warming: no budget, and no keep-alive limit (see warm_users)
conf "PingOneRateLimit Off\nMaxKeepAliveRequests 0"
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/static/f.txt"
for loc in static gated; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Sub: $(bulk_user "$max")" "http://127.0.0.1:$port/$loc/f.txt")
  [ "$code" = 200 ] || { echo "/$loc answered $code"; tail "$work/logs/error_log"; exit 1; }
done

# Warm the largest set.
tw=$(date +%s)
calls_warm=$(warm_users "$port" /gated/f.txt /static/f.txt "$max")
warm_secs=$(( $(date +%s) - tw ))
echo "warmed $max users in $warm_secs s (PingOne calls $calls_warm)"

# The default budget back; the table is kept across the graceful restart.
conf ""
"$httpd" -f "$work/httpd.conf" -k graceful
for _ in $(seq 1 100); do
  [ "$(grep -c 'resuming normal operations' "$work/logs/error_log")" -ge 2 ] && break; sleep 0.2
done
wait_children "$work/httpd.pid" 2
wait_http "http://127.0.0.1:$port/static/f.txt"
capacity=$(grep PC00027 "$work/logs/error_log" | tail -1 | sed 's/.*PC00027: decision cache: //; s/ of shared memory.*//')
entries=$(admin_num "$port" cache.entries)

users_lua "$work/users.lua"
ctl POST reset-counts >/dev/null
read -r h0 m0 c0 < <(admin_num "$port" counters.hits counters.misses counters.pingone_calls | paste -sd' ')
tm=$(date +%s)
for r in $(seq 1 "$rounds"); do
  order="static gated"; [ $((r % 2)) -eq 0 ] && order="gated static"
  for n in "${counts[@]}"; do
    seed=$(( (r * 7919) % 100000 ))
    for loc in $order; do
      wrk -t2 -c32 -d"${secs}s" --latency -s "$work/users.lua" \
        "http://127.0.0.1:$port/$loc/f.txt" -- cycle "$n" 0 "$seed" 2 > "$work/wrk.$loc.$n.$r" 2>&1
    done
  done
done
measure_secs=$(( $(date +%s) - tm ))
sim_calls=$(calls consents)
read -r h1 m1 c1 < <(admin_num "$port" counters.hits counters.misses counters.pingone_calls | paste -sd' ')

out=$(bench_out sweep)
python3 - "$work" "$rounds" "$secs" "$out" "${counts[@]}" <<PY
import re, statistics, sys
work, rounds, secs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
counts = [int(x) for x in sys.argv[5:]]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
def run(loc, n, r):
    t = open("%s/wrk.%s.%d.%d" % (work, loc, n, r)).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
    bad = int(re.search(r"non200 (\d+)", t).group(1))
    return rps, p99, bad
L = ["## User sweep: warm-cache throughput at many distinct users", "",
     "Machine: $machine.  httpd event MPM, 2 children x 32 threads; default cache settings "
     "(\`PingOneConsentCache\` and \`PingOneConsentCacheSize\` not set: $capacity, PC00027); "
     "\`PingOneConsentCacheTTL 86400 86400\`; wrk -t2 -c32, %s s per run, %d rounds, /static and "
     "/gated back to back for each N (order alternating between rounds); the user in X-Sub -> "
     "OIDC_CLAIM_sub on both, a wrk script cycling through N bulk users." % (secs, rounds), "",
     "| distinct users | /static req/s (median) | /gated req/s (median) | gated/ungated (ratio of medians) "
     "| gated/ungated (median of per-round ratios) | per-round ratios | p99 ms static / gated | non-200 |",
     "|---|---|---|---|---|---|---|---|"]
for n in counts:
    s = [run("static", n, r) for r in range(1, rounds + 1)]
    g = [run("gated", n, r) for r in range(1, rounds + 1)]
    sm, gm = statistics.median(x[0] for x in s), statistics.median(x[0] for x in g)
    pr = [g[i][0] / s[i][0] for i in range(rounds)]
    L.append("| %s | %.0f | %.0f | **%.3f** | %.3f | %s | %.2f / %.2f | %d |" % (
        format(n, ","), sm, gm, gm / sm, statistics.median(pr), " ".join("%.2f" % x for x in pr),
        statistics.median(x[1] for x in s), statistics.median(x[1] for x in g),
        sum(x[2] for x in s) + sum(x[2] for x in g)))
L += ["",
      "- warming: $max users through /gated, wrk 64 connections, \`PingOneRateLimit Off\` during warming "
      "only: $warm_secs s, PingOne calls $calls_warm; then a graceful restart to the default "
      "budget (50/s), cache entries after it: $entries",
      "- during the measured rounds (%s s): PingOne consent calls at the simulator **$sim_calls**; "
      "module: hits $((h1 - h0)), misses **$((m1 - m0))**, PingOne calls $((c1 - c0))" % "$measure_secs",
      "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY

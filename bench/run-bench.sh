#!/usr/bin/env bash
# `make bench`: the cost of consent gating, in one run on one machine.
#
# One httpd (event MPM, 2 children x 32 threads) with mod_pingone_consent
# (default cache: the local table) and Debian's mod_oauth2, the PingOne
# simulator, and three locations serving the same 1 KiB file:
#   /static  no gating (the physical limit)
#   /gated   PingOneConsent On, warm decision cache, one user
#   /peer    mod_oauth2 token introspection against the simulator's
#            /as/introspect, its shared-memory cache warm
# wrk drives them alternately for several rounds; then single flight (50
# concurrent cold requests for one user).  The cold-miss latency is
# bench/miss-latency.sh (keep-alive on both sides); many users are
# bench/users-sweep.sh.  Prints a Markdown table and writes it (and a PNG
# chart when gnuplot is installed) to bench/results/overhead-<date>.md, or
# $PC_BENCH_OUT/overhead.md under bench/make-bench.sh.
# Usage: bench/run-bench.sh [rounds] [seconds] [connections]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
rounds=${1:-5} secs=${2:-5} conns=${3:-32}
need wrk curl python3
[ -f "$moddir/mod_oauth2.so" ] || { echo "mod_oauth2 is needed (apt-get install libapache2-mod-oauth2)"; exit 1; }
make -C "$top" -s all

machine=$(machine_line)
bench_workdir bench htdocs/static htdocs/gated htdocs/peer
port=$(free_port) sim_port=$(free_port)
{ httpd_conf_head "$work" "$port" event "$sim_port" authn_core authz_user oauth2
  echo "LogLevel warn pingone_consent:notice"
  event_2x32
  cat <<EOF
PingOneConsentCacheTTL 600 600
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid profile
</Location>
OAuth2Cache shm max_entries=10000
<Location /peer>
    AuthType oauth2
    OAuth2TokenVerify introspect http://127.0.0.1:$sim_port/$env_id/as/introspect introspect.auth=client_secret_basic&client_id=$client&client_secret=$secret&introspect.ssl_verify=false&expiry=600
    Require valid-user
</Location>
EOF
} > "$work/httpd.conf"

trap bench_stop EXIT
start_sim "$sim_port" "$work/logs/sim_log"
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/static/f.txt"

alice=e0000000-0000-4000-8000-00000000a11c
token=bench-access-token-0123456789abcdef
ctl POST introspect-tokens "{\"token\":\"$token\",\"active\":true,\"sub\":\"$alice\",\"scope\":\"openid profile\",\"client_id\":\"$client\",\"exp\":4102444800}" >/dev/null

# Warm both caches and check every location answers as expected.
check() { # expected-code curl-args...
  local want=$1; shift
  local got; got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || { echo "warm-up: expected $want, got $got for $*"; tail -5 "$work/logs/error_log"; exit 1; }
}
check 200 "http://127.0.0.1:$port/static/f.txt"
check 200 -H "X-Sub: $alice" "http://127.0.0.1:$port/gated/f.txt"
check 200 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/peer/f.txt"
check 401 "http://127.0.0.1:$port/peer/f.txt"

# Alternating wrk rounds.
declare -A H=([static]="" [gated]="X-Sub: $alice" [peer]="Authorization: Bearer $token")
ctl POST reset-counts >/dev/null
for r in $(seq 1 "$rounds"); do
  for loc in static gated peer; do
    wrk -t2 -c"$conns" -d"${secs}s" --latency ${H[$loc]:+-H "${H[$loc]}"} \
      "http://127.0.0.1:$port/$loc/f.txt" > "$work/wrk.$loc.$r" 2>&1
  done
done
warm_consent=$(calls consents) warm_introspect=$(calls introspect)

# Parse: req/s, p50 and p99 latency (wrk prints units; normalise to ms).
python3 - "$work" "$rounds" > "$work/summary.json" <<'PY'
import json, re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
out = {}
for loc in ("static", "gated", "peer"):
    rps, p50, p99 = [], [], []
    for r in range(1, rounds + 1):
        t = open("%s/wrk.%s.%d" % (work, loc, r)).read()
        rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)))
        # the distribution lines ("     50%  645.00us"), not a "+/- Stdev"
        # column that happens to end in 50% or 99%
        p50.append(ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)))
        p99.append(ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1)))
    out[loc] = {"rps": rps, "rps_median": statistics.median(rps),
                "p50_ms": statistics.median(p50), "p99_ms": statistics.median(p99)}
print(json.dumps(out))
PY

# Single flight: 50 concurrent cold requests for one user.
sf_user=ee000000-0000-4000-8000-000000000001
ctl POST consents "{\"user_id\":\"$sf_user\",\"application_id\":\"a0000000-0000-4000-8000-000000000001\",\"scope\":[\"openid\",\"profile\"]}" >/dev/null
ctl POST faults '{"endpoint":"consents","type":"latency","latency_ms":200,"count":-1}' >/dev/null
ctl POST reset-counts >/dev/null
seq 1 50 | xargs -P 50 -I{} curl -s -o /dev/null -H "X-Sub: $sf_user" "http://127.0.0.1:$port/gated/f.txt"
sf_calls=$(calls consents)
ctl DELETE faults >/dev/null
value=$(decision_value_bytes)
table=$(grep PC00027 "$work/logs/error_log" | tail -1 | sed 's/.*PC00027: decision cache: //; s/ of shared memory.*//')

out=$(bench_out overhead)
python3 - "$work" "$out" "$warm_consent" "$warm_introspect" "$sf_calls" "$value" "$rounds" "$secs" "$conns" "$table" <<PY
import json, re, sys
work, out, wc, wi, sf, value, rounds, secs, conns, table = sys.argv[1:]
s = json.load(open(work + "/summary.json"))
m = re.match(r"(\d+) decisions in ([\d.]+) MiB", table)
per = float(m.group(2)) * 1048576 / int(m.group(1))
lines = ["## Overhead: ungated, PingOneConsent, mod_oauth2", "",
         "Machine: $machine.  httpd event MPM, 2 children x 32 threads; default cache; wrk -t2 -c%s, "
         "%s s per run, %s rounds alternating; one user." % (conns, secs, rounds), "",
         "| location | req/s median | p50 ms | p99 ms | vs ungated | vs mod_oauth2 |", "|---|---|---|---|---|---|"]
names = {"static": "ungated (no module)", "gated": "PingOneConsent On, warm cache", "peer": "mod_oauth2 introspection, warm cache"}
for loc in ("static", "gated", "peer"):
    v = s[loc]
    lines.append("| %s | %.0f | %.3f | %.3f | %.3f | %.3f |" % (names[loc], v["rps_median"], v["p50_ms"], v["p99_ms"],
                 v["rps_median"] / s["static"]["rps_median"], v["rps_median"] / s["peer"]["rps_median"]))
lines += ["",
          "- PingOne calls during the warm runs: consents %s, introspection %s (proof of caching)" % (wc, wi),
          "- single flight: 50 concurrent cold requests for one user -> **%s** consent call(s)" % sf,
          "- shared memory per cached decision: %s (PC00027) = **%.0f B** per decision; a typical "
          "value is %s B (one slot holds up to 208 B)" % (table, per, value),
          "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
if command -v gnuplot >/dev/null; then
  python3 -c "
import json; s=json.load(open('$work/summary.json'))
for i,(k,n) in enumerate([('static','ungated'),('gated','pingone-consent'),('peer','mod_oauth2')]): print(i, n, s[k]['rps_median'])
" > "$work/chart.dat"
  gnuplot -e "set terminal png size 640,400 noenhanced; set output '${out%.md}.png'; set style fill solid; set boxwidth 0.6; set ylabel 'requests/s (median)'; set yrange [0:*]; unset key; plot '$work/chart.dat' using 1:3:xtic(2) with boxes" \
    && echo "chart: ${out%.md}.png"
fi

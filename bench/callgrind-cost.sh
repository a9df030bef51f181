#!/usr/bin/env bash
# The module's cost per warm-cache request in CPU instructions, which
# unlike req/s does not depend on what else the machine is doing:
# httpd -X (one process, prefork) runs under callgrind, serving the same
# 1 KiB file ungated and behind `PingOneConsent On` with a warm cache, each
# once with N/5 and once with N requests: the difference between the two
# runs of a path, divided by the extra requests, is that path's cost per
# request without start-up and shutdown.
# Usage: bench/callgrind-cost.sh [requests]   (needs valgrind and ab)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
n=${1:-2000}
port=${PC_BENCH_PORT:-8492} sim_port=${PC_BENCH_SIM_PORT:-8493}
command -v valgrind >/dev/null && command -v ab >/dev/null ||
  { echo "needs valgrind and ab (apt-get install valgrind apache2-utils)"; exit 1; }
make -C "$top" -s all
bench_workdir callgrind htdocs/static htdocs/gated
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/htdocs/static/f.txt"
cp "$work/htdocs/static/f.txt" "$work/htdocs/gated/f.txt"
{ httpd_conf_head "$work" "$port" prefork "$sim_port" socache_shmcb
  cat <<EOF
PingOneConsentCacheTTL 600 600
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid profile
</Location>
EOF
} > "$work/httpd.conf"
start_sim "$sim_port" "$work/logs/sim_log"
trap 'kill $sim 2>/dev/null || true' EXIT
alice=e0000000-0000-4000-8000-00000000a11c

# measure PATH TAG COUNT -> total instructions of one httpd -X run
measure() {
  local path=$1 out="$work/cg.$2" count=$3
  # httpd drops to www-data when started as root: let it write the output.
  : > "$out"; chmod 666 "$out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$httpd" -X -f "$work/httpd.conf" \
    >/dev/null 2>"$work/logs/valgrind.$2" &
  local vg=$!
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$port/static/f.txt" && break; sleep 0.2; done
  curl -s -o /dev/null -H "X-Sub: $alice" "http://127.0.0.1:$port$path"   # warm the cache
  ab -q -k -n "$count" -c 1 -H "X-Sub: $alice" "http://127.0.0.1:$port$path" >/dev/null
  kill -TERM $vg; wait $vg 2>/dev/null || true
  awk '/^summary:|^totals:/ {print $2; exit}' "$out"
}
few=$((n / 5))
s1=$(measure /static/f.txt static1 "$few"); s2=$(measure /static/f.txt static2 "$n")
g1=$(measure /gated/f.txt gated1 "$few"); g2=$(measure /gated/f.txt gated2 "$n")
static_per=$(( (s2 - s1) / (n - few) ))
gated_per=$(( (g2 - g1) / (n - few) ))
echo "instructions per request (from $few vs $n requests): static $static_per, gated $gated_per"
echo "module cost per warm-cache request: $((gated_per - static_per)) instructions"
awk -v g="$gated_per" -v s="$static_per" 'BEGIN {printf "instruction ratio static/gated: %.3f\n", s / g}'

#!/usr/bin/env bash
# Cache benchmark (issue 3 figures), one httpd (event MPM) on loopback:
#   - warm-cache throughput of a gated static file vs. the same file ungated,
#     measured alternately in one run (ratio, median of the rounds);
#   - N distinct cold users -> PingOne consent calls (must be exactly N);
#   - bytes of cache per decision.
# Usage: bench/cache-bench.sh [rounds] [seconds-per-run] [cold-users]
# Writes bench/results/cache-<date>.md.  Not part of `make test`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
rounds=${1:-5} secs=${2:-5} cold=${3:-1000}
port=${PC_BENCH_PORT:-8490} sim_port=${PC_BENCH_SIM_PORT:-8491}
need wrk curl
make -C "$top" -s all

bench_workdir bench htdocs/static htdocs/gated
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/htdocs/static/f.txt"
cp "$work/htdocs/static/f.txt" "$work/htdocs/gated/f.txt"
{ httpd_conf_head "$work" "$port" event "$sim_port" socache_shmcb
  cat <<EOF
StartServers 2
ThreadsPerChild 32
MaxRequestWorkers 64
PingOneConsentCache "shmcb:$work/logs/cache(4194304)"
PingOneConsentCacheTTL 600 600
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid profile
</Location>
EOF
} > "$work/httpd.conf"

cleanup() {
  "$httpd" -f "$work/httpd.conf" -k stop 2>/dev/null || true
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
  sleep 1
}
[ -n "${PC_BENCH_KEEP:-}" ] || trap cleanup EXIT
start_sim "$sim_port" "$work/logs/sim_log"
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/static/f.txt"

alice=e0000000-0000-4000-8000-00000000a11c
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Sub: $alice" "http://127.0.0.1:$port/gated/f.txt")
[ "$code" = 200 ] || { echo "gated warm-up answered $code"; tail "$work/logs/error_log"; exit 1; }

rps() { # url [header]
  wrk -t2 -c32 -d"${secs}s" ${2:+-H "$2"} "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

ctl POST reset-counts >/dev/null
: > "$work/static.txt"; : > "$work/gated.txt"
for r in $(seq 1 "$rounds"); do
  rps "http://127.0.0.1:$port/static/f.txt" >> "$work/static.txt"
  rps "http://127.0.0.1:$port/gated/f.txt" "X-Sub: $alice" >> "$work/gated.txt"
done
warm_calls=$(calls consents)
s_med=$(median < "$work/static.txt") g_med=$(median < "$work/gated.txt")
ratio=$(awk -v g="$g_med" -v s="$s_med" 'BEGIN {printf "%.3f", g/s}')
# Each round's gated run follows its static run: the median of those
# back-to-back ratios is less sensitive to drift than the ratio of medians.
pair_ratio=$(paste "$work/gated.txt" "$work/static.txt" | awk '{printf "%.4f\n", $1/$2}' | median)

# Cold: N distinct users, 32 at a time.
ctl POST reset-counts >/dev/null
seq -f 'e7000000-0000-4000-8000-%012g' 1 "$cold" | xargs -P 32 -I{} \
  curl -s -o /dev/null -H 'X-Sub: {}' "http://127.0.0.1:$port/gated/f.txt"
cold_calls=$(calls consents)

# Per decision: key (20) + value (from the unit test's typical entry) +
# shmcb's index entry (sizeof SHMCBIndex: 8 + 4 + 4 + 4 + 1, padded to 24).
value=$(decision_value_bytes)
per=$((20 + value + 24))

mkdir -p "$top/bench/results"
out="$top/bench/results/cache-$(date -u +%Y%m%d-%H%M).md"
{
  echo "# Cache benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr);"
  echo "httpd $("$httpd" -v | awk -F/ '/version/ {print $2}' | cut -d' ' -f1) event MPM; wrk -t2 -c32, ${secs}s per run, $rounds rounds alternating."
  echo
  echo "| location | req/s per round | median req/s |"
  echo "|---|---|---|"
  echo "| /static (no module) | $(paste -sd' ' "$work/static.txt") | $s_med |"
  echo "| /gated (PingOneConsent On, warm cache) | $(paste -sd' ' "$work/gated.txt") | $g_med |"
  echo
  echo "- warm-cache throughput ratio gated/static: **$ratio** (ratio of medians), **$pair_ratio** (median of per-round ratios) (goal >= 0.97)"
  echo "- PingOne consent calls during the warm runs: $warm_calls"
  echo "- $cold distinct cold users (32 concurrent): **$cold_calls** consent calls (goal: exactly $cold)"
  echo "- cache per decision: key 20 B + value $value B + shmcb index 24 B = **$per B** (goal <= 200)"
} > "$out"
cat "$out"

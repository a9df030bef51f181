#!/usr/bin/env bash
# What a warm hit costs on a Redis farm server compared with a server on
# its own table, in CPU instructions (which, unlike req/s, do not depend on
# what else the machine is doing).  httpd -X (one process, prefork) runs
# under callgrind collecting only inside request processing
# (ap_process_request: the purge subscriber's thread is not counted), for
# the same 1 KiB file ungated and behind `PingOneConsent On`, once with
# `PingOneConsentCache shm` and once with `redis://` (password, sealed
# entries, the local table in front).  Each path runs N/5 and N requests;
# the difference divided by the extra requests is its cost per request.
# Usage: bench/farm-callgrind.sh [requests]   (needs valgrind, ab, redis-server)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
n=${1:-1000}
need valgrind ab redis-server redis-cli
make -C "$top" -s all
bench_workdir farmcg htdocs/static htdocs/gated
port=$(free_port) sim_port=$(free_port) rport=$(free_port)
openssl rand -hex 32 > "$work/cache.key"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --requirepass bench-pw-0123 > "$work/logs/redis.log" 2>&1 &
redis=$!
trap 'kill $redis ${sim:-} 2>/dev/null || true' EXIT
conf() { # cache-lines...
  { httpd_conf_head "$work" "$port" prefork "$sim_port" headers
    printf '%s\n' "$@"
    cat <<EOF
PingOneConsentCacheKey file:$work/cache.key
PingOneConsentCacheTTL 600 600
PingOneRateLimit Off
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid profile
    Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"
</Location>
EOF
  } > "$work/httpd.conf"
}
start_sim "$sim_port" "$work/logs/sim_log"
alice=e0000000-0000-4000-8000-00000000a11c

# measure PATH TAG COUNT -> instructions inside ap_process_request
measure() {
  local path=$1 out="$work/cg.$2" count=$3 src
  : > "$out"; chmod 666 "$out"
  valgrind --tool=callgrind --fair-sched=yes --toggle-collect=ap_process_request \
    --callgrind-out-file="$out" "$httpd" -X -f "$work/httpd.conf" \
    >/dev/null 2>"$work/logs/valgrind.$2" &
  local vg=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/static/f.txt" && break; sleep 0.2; done
  # Warm, and with Redis wait until the local table answers (the
  # subscriber is up): the decision comes from the table, not Redis.
  for _ in $(seq 1 100); do
    src=$(curl -s -o /dev/null -D - -H "X-Sub: $alice" "http://127.0.0.1:$port/gated/f.txt" | tr -d '\r' |
          awk -F': ' 'tolower($1) == "x-pc-source" {print $2}')
    if [ "$src" = cache ]; then
      grep -q redis:// "$work/httpd.conf" || break
      [ "$(redis-cli -p "$rport" -a bench-pw-0123 --no-auth-warning pubsub numsub pc:purge:0 | tail -1)" != 0 ] && break
    fi
    sleep 0.3
  done
  ab -q -k -n "$count" -c 1 -H "X-Sub: $alice" "http://127.0.0.1:$port$path" >/dev/null
  kill -TERM $vg; wait $vg 2>/dev/null || true
  awk '/^summary:|^totals:/ {print $2; exit}' "$out"
}
few=$((n / 5))
declare -A cost
lines=()
for c in shm redis; do
  if [ $c = shm ]; then conf "PingOneConsentCache shm"
  else conf "PingOneConsentCache redis://127.0.0.1:$rport" "PingOneConsentCacheAuth bench-pw-0123"; fi
  s1=$(measure /static/f.txt $c.static1 "$few"); s2=$(measure /static/f.txt $c.static2 "$n")
  g1=$(measure /gated/f.txt $c.gated1 "$few"); g2=$(measure /gated/f.txt $c.gated2 "$n")
  sp=$(( (s2 - s1) / (n - few) )) gp=$(( (g2 - g1) / (n - few) ))
  cost[$c]=$((gp - sp))
  lines+=("| $c | $sp | $gp | ${cost[$c]} |")
done
mkdir -p "$top/bench/results"
out=$(bench_out farmcg)
{ echo "# Instructions per warm hit: Redis farm server vs a server on its own table, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "httpd -X (prefork) under callgrind, counting inside ap_process_request only; $few and $n requests per path."
  echo
  echo "| PingOneConsentCache | static | gated | the module adds |"
  echo "|---|---|---|---|"
  printf '%s\n' "${lines[@]}"
  echo
  echo "Difference, Redis farm server (local table in front) minus a server on its own table: $((cost[redis] - cost[shm])) instructions per warm hit."
} | tee "$out"

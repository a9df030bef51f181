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
n=${1:-2000}
port=${PC_BENCH_PORT:-8492} sim_port=${PC_BENCH_SIM_PORT:-8493}
httpd=${HTTPD:-/usr/sbin/apache2}
moddir=$(${APXS:-/usr/bin/apxs} -q LIBEXECDIR)
work=$(mktemp -d /tmp/pc-callgrind.XXXXXX)
command -v valgrind >/dev/null && command -v ab >/dev/null ||
  { echo "needs valgrind and ab (apt-get install valgrind apache2-utils)"; exit 1; }
make -C "$top" -s all
mkdir -p "$work/htdocs/static" "$work/htdocs/gated" "$work/logs"
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/htdocs/static/f.txt"
cp "$work/htdocs/static/f.txt" "$work/htdocs/gated/f.txt"
user=""
[ "$(id -u)" -eq 0 ] && { user="User www-data
Group www-data"; chmod -R a+rwX "$work"; }
cat > "$work/httpd.conf" <<EOF
ServerRoot "$work"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$work/httpd.pid"
ErrorLog "$work/logs/error_log"
LogLevel warn
$user
LoadModule mpm_prefork_module $moddir/mod_mpm_prefork.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule setenvif_module $moddir/mod_setenvif.so
LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so
LoadModule pingone_consent_module $top/build/mod_pingone_consent.so
TypesConfig /etc/mime.types
DocumentRoot "$work/htdocs"
<Directory "$work/htdocs">
    Require all granted
</Directory>
PingOneEnvironmentID abcdef01-2345-4678-9abc-def012345678
PingOneAPIBaseURL http://127.0.0.1:$sim_port/v1
PingOneAuthBaseURL http://127.0.0.1:$sim_port
PingOneClientID c0ffee00-1111-4222-8333-444455556666
PingOneClientSecret s3cr3t-worker-secret
PingOneConsentCacheTTL 600 600
SetEnvIf X-Sub "^(.+)$" OIDC_CLAIM_sub=\$1
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    PingOneConsentScopes openid profile
</Location>
EOF
python3 "$top/t/sim/pingone-sim" --port "$sim_port" --seed "$top/t/sim/seed.json" \
  --port-file "$work/sim.port" --log "$work/logs/sim_log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s "$work/sim.port" ] && break; sleep 0.1; done
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

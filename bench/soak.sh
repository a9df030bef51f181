#!/usr/bin/env bash
# `make soak`: wrk at 64 connections against a mix of users (consented,
# revoked, unknown) while the simulator injects 5xx, 429, latency and
# connection resets.  Afterwards: no crash in the error log, httpd memory
# before/after, every answer 200/403/503 with no 200 for a user without
# consent (checked line by line against the simulator's state), and every
# consented user allowed again within one TTL after the faults stop.
# Usage: bench/soak.sh [seconds] [connections]       (not part of make test)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
secs=${1:-120} conns=${2:-64}
need wrk curl
make -C "$top" -s all
bench_workdir soak htdocs/soak
port=$(free_port) sim_port=$(free_port) ttl=5
echo ok > "$work/htdocs/soak/index.html"
{ httpd_conf_head "$work" "$port" event "$sim_port"
  cat <<EOF
MaxRequestWorkers 128
ThreadsPerChild 32
LogFormat "%{X-Sub}i %>s %{pingone-consent}n" decision
CustomLog "$work/logs/decision_log" decision
PingOneTimeout 1000 300
PingOneConsentCacheTTL $ttl $ttl
<Location /soak>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid
</Location>
EOF
} > "$work/httpd.conf"
cleanup() { "$httpd" -f "$work/httpd.conf" -k stop 2>/dev/null || true; kill ${sim:-} ${faults:-} 2>/dev/null || true; }
trap cleanup EXIT
start_sim "$sim_port" /dev/null

# 20 consented, 10 revoked, 10 unknown users.
: > "$work/users"; : > "$work/allowed"
for i in $(seq 1 40); do
  u=$(printf 'ef000000-0000-4000-8000-%012d' "$i"); echo "$u" >> "$work/users"
  if [ "$i" -le 20 ]; then
    ctl POST consents "{\"user_id\":\"$u\",\"application_id\":\"$app_id\",\"scope\":[\"openid\"]}" >/dev/null
    echo "$u" >> "$work/allowed"
  elif [ "$i" -le 30 ]; then
    ctl POST consents "{\"user_id\":\"$u\",\"application_id\":\"$app_id\",\"scope\":[\"openid\"],\"status\":\"REVOKED\"}" >/dev/null
  fi
done
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/soak/index.html"
rss() { ps -C apache2 -o rss= | awk '{s+=$1} END {print s+0}'; }
rss_before=$(rss)

cat > "$work/mix.lua" <<EOF
local users = {}
for line in io.lines("$work/users") do users[#users + 1] = line end
request = function()
  wrk.headers["X-Sub"] = users[math.random(#users)]
  return wrk.format("GET", "/soak/index.html")
end
EOF

# Faults, one every 2 s while wrk runs.
( kinds=('{"type":"status","status":503,"count":20}' '{"type":"status","status":500,"count":20}'
         '{"type":"rate_limit","retry_after":"1","count":1}' '{"type":"latency","latency_ms":1500,"count":10}'
         '{"type":"reset","count":5}' '{"type":"latency","latency_ms":200,"count":50}')
  while true; do
    k=${kinds[$((RANDOM % ${#kinds[@]}))]}
    ctl POST faults "{\"endpoint\":\"consents\",${k#\{}" >/dev/null
    sleep 2
  done ) &
faults=$!
# httpd memory every 10 s while the load runs: the trend, not two points.
( while true; do sleep 10; rss >> "$work/rss.txt"; done ) &
sampler=$!
wrk -t2 -c"$conns" -d"${secs}s" -s "$work/mix.lua" "http://127.0.0.1:$port" > "$work/wrk.txt" 2>&1 || true
kill $faults $sampler 2>/dev/null; faults=""
ctl DELETE faults >/dev/null
rss_after_load=$(rss)

# Recovery: within one TTL every consented user is allowed again.
sleep $((ttl + 1))
recovered=0
while read -r u; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Sub: $u" "http://127.0.0.1:$port/soak/index.html")" = 200 ] && recovered=$((recovered + 1))
done < "$work/allowed"
sleep 1

python3 - "$work" "$rss_before" "$rss_after_load" "$recovered" <<'PY'
import collections, re, sys
work, rss0, rss1, recovered = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
allowed = set(open(work + "/allowed").read().split())
users = set(open(work + "/users").read().split())
status, notes, violations, total = collections.Counter(), collections.Counter(), 0, 0
for line in open(work + "/logs/decision_log"):
    parts = line.split()
    if len(parts) < 3 or parts[0] not in users:
        continue
    total += 1
    status[parts[1]] += 1
    notes[re.sub(r"^(error:upstream-)\d+$", r"\g<1>5xx", parts[2])] += 1
    if parts[1] == "200" and parts[0] not in allowed:
        violations += 1
err = open(work + "/logs/error_log").read()
crashes = len(re.findall(r"exit signal|Segmentation|AH00052|AddressSanitizer", err))
wrk = open(work + "/wrk.txt").read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk)
sock = re.search(r"Socket errors:.*", wrk)
print("soak: %d decisions logged, %s req/s" % (total, rps.group(1) if rps else "?"))
print("  by status: " + ", ".join("%s %d" % kv for kv in sorted(status.items())))
print("  by reason: " + ", ".join("%s %d" % kv for kv in notes.most_common()))
print("  wrk: " + (sock.group(0) if sock else "no socket errors"))
print("  allow without consent: %d" % violations)
print("  crashes in the error log: %d" % crashes)
print("  httpd RSS: %d KiB before, %d KiB after the load" % (rss0, rss1))
try:
    samples = [int(x) for x in open(work + "/rss.txt").read().split()]
except OSError:
    samples = []
grew = False
if samples:
    print("  httpd RSS every 10 s under load (KiB): " + " ".join(map(str, samples)))
    half = samples[len(samples) // 2:]
    # bounded: the second half of the run does not keep growing (warm-up,
    # thread stacks and the cache filling happen in the first half)
    grew = len(half) >= 2 and half[-1] > 1.25 * half[0] + 4096
    print("  second half of the run: %d -> %d KiB (%s)" % (half[0], half[-1],
          "still growing" if grew else "flat"))
print("  consented users allowed within one TTL after the faults: %d of %d" % (recovered, len(allowed)))
bad = violations or crashes or grew or recovered != len(allowed) or set(status) - {"200", "403", "503"}
print("soak: %s" % ("FAILED" if bad else "passed"))
sys.exit(1 if bad else 0)
PY

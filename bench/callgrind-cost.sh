#!/usr/bin/env bash
# Instructions per request (issue 11), which unlike req/s do not depend on
# what else the machine is doing: httpd -X (prefork, one process;
# PC_CG_MPM=event for the event MPM) under callgrind with instrumentation
# off from the start; the warm-up (100,000 users cached through the module,
# one after another) runs uninstrumented, and each measured case is bracketed
# by `callgrind_control -i on` / `-i off` and dumped on its own, so that
# start-up, warm-up and shutdown are never counted.
#
# Cases, each over one keep-alive connection (connected before counting),
# the user in X-Sub -> OIDC_CLAIM_sub as everywhere in bench/:
#   static     the 1 KiB file, no module (the baseline; users cycling)
#   hit 1      PingOneConsent On, warm cache, one user
#   hit 1k     ... 1,000 users in turn
#   hit 100k   ... users spread over the 100,000 cached (stride 97)
#   miss       PingOneConsentCacheTTL 0 (a virtual host of its own), one
#              user: every request is a PingOne call to the simulator
# The budget is set high for the whole run (`PingOneRateLimit 100000
# 1000000`: its code runs on every miss, it never refuses), so that the
# warm-up is not throttled.
#
# Usage: bench/callgrind-cost.sh [requests per case] [users]
#        (default 2000, 100000; the miss case makes a quarter as many)
# Needs valgrind.  Writes bench/results/callgrind-<date>.md (or
# $PC_BENCH_OUT/callgrind.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
n=${1:-2000} users=${2:-100000}
nmiss=$(( n / 4 > 0 ? n / 4 : 1 ))
need valgrind callgrind_control curl python3
make -C "$top" -s all
machine=$(machine_line)

bench_workdir callgrind htdocs/static htdocs/gated
port=$(free_port) port0=$(free_port) sim_port=$(free_port)
mpm=${PC_CG_MPM:-prefork}
{ httpd_conf_head "$work" "$port" "$mpm" "$sim_port"
  cat <<EOF
Listen 127.0.0.1:$port0
MaxKeepAliveRequests 0
PingOneConsentCacheTTL 86400 86400
PingOneRateLimit 100000 1000000
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid profile
</Location>
<VirtualHost 127.0.0.1:$port0>
    PingOneConsentCacheTTL 0 0
</VirtualHost>
EOF
} > "$work/httpd.conf"
cleanup() {
  if [ -n "${sim:-}" ]; then kill "$sim" 2>/dev/null || true; fi
  if [ -n "${vg:-}" ]; then kill -TERM "$vg" 2>/dev/null || true; wait "$vg" 2>/dev/null || true; fi
}
trap cleanup EXIT
start_sim "$sim_port" "$work/logs/sim_log"
seed_bulk $((users + 1))
miss_user=$(bulk_user "$users")

# As root, valgrind and callgrind_control run as www-data: httpd would
# drop to it anyway, and vgdb (behind callgrind_control) must then be the
# same user to reach a process blocked in a system call (it wakes it with
# ptrace; root's vgdb waits forever here).  httpd started by another user
# keeps that user.  The FIFOs go in $work.
as_httpd=()
if [ "$(id -u)" -eq 0 ]; then chmod 777 "$work"; as_httpd=(runuser -u www-data --); fi
export PC_CG_CTL="${as_httpd[*]} callgrind_control --vgdb-prefix=$work/vgdb"
"${as_httpd[@]}" valgrind --tool=callgrind --instr-atstart=no --vgdb-prefix="$work/vgdb" \
  --callgrind-out-file="$work/cg.out" \
  "$httpd" -X -f "$work/httpd.conf" > "$work/logs/valgrind.out" 2>&1 &
vg=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/static/f.txt" && break; sleep 0.2; done
vgpid=$vg
[ ${#as_httpd[@]} -eq 0 ] || vgpid=$(pgrep -P "$vg")   # runuser's child

# client MODE PORT PATH COUNT ARG : requests over one keep-alive connection;
# with MODE=case, instrumentation is on for exactly those requests.
# MODE warm: users 0..COUNT-1 once each (ARG unused); MODE case: ARG is
# "one" (user 0), "cycle:K" (users 0..K-1 in turn), "stride:S" (user
# k*S mod $users), "miss" (the TTL-0 user).
client() {
  python3 - "$vgpid" "$@" "$users" "$miss_user" <<'PY'
import http.client, json, os, subprocess, sys, time
pid, mode, port, path, count, arg, users, miss = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6], int(sys.argv[7]), sys.argv[8]
fmt = "f0000000-0000-4000-8000-%012d"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def get(u, conn=c):
    conn.request("GET", path, headers={"X-Sub": u})
    r = conn.getresponse(); r.read()
    if r.status != 200:
        sys.exit("%s for %s: %d" % (path, u, r.status))
def user(k):
    if arg == "one": return fmt % 0
    if arg == "miss": return miss
    kind, v = arg.split(":")
    return fmt % (k % int(v)) if kind == "cycle" else fmt % ((k * int(v)) % users)
if mode == "warm":           # one connection: httpd -X serves one at a time
    for k in range(count):
        get(fmt % k)
    sys.exit(0)
def consent_calls():
    s = http.client.HTTPConnection("127.0.0.1", int(os.environ["PC_CG_SIM"]), timeout=60)
    s.request("GET", "/__control/counts")
    return json.loads(s.getresponse().read())["consents"]
c0 = consent_calls()
# Connected, this path's code paged in, and for hits: the very users of the
# case asked once, so that one whose entry was evicted is fetched again
# (uninstrumented) instead of counting as a miss.
for k in range(1 if arg == "miss" else count):
    get(user(k))
c1 = consent_calls()
ctl = lambda *a: subprocess.run(os.environ["PC_CG_CTL"].split() + list(a) + [pid], check=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
ctl("-i", "on")
for k in range(count):
    get(user(k))
ctl("-i", "off")
open(os.environ["PC_CG_CALLS"], "w").write("%d %d\n" % (c1 - c0, consent_calls() - c1))
PY
}
# measure NAME COUNT CLIENT-ARGS... : instructions per request of a case
measure() {
  local name=$1 count=$2 before after f; shift 2
  before=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
  PC_CG_SIM=$sim_port PC_CG_CALLS="$work/calls.$name" client case "$@" "$count" "${CASE_ARG}"
  $PC_CG_CTL --dump="$name" "$vgpid" >/dev/null 2>&1
  for _ in $(seq 1 100); do
    after=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
    [ "$after" -gt "$before" ] && break; sleep 0.2
  done
  [ "$after" -gt "$before" ] || { echo "callgrind wrote no dump for $name (callgrind_control failed?)" >&2; exit 1; }
  f=$(ls -t "$work"/cg.out.* | head -1)
  awk -v n="$count" '/^totals:/ {t=$2} /^summary:/ {s=$2} END {printf "%d\n", (t ? t : s) / n}' "$f"
}

tw=$(date +%s)
client warm "$port" /gated/f.txt "$users" -
warm_secs=$(( $(date +%s) - tw ))
warm_calls=$(calls consents)
echo "warmed $users users in $warm_secs s (uninstrumented), $warm_calls PingOne calls"
[ "$warm_calls" -ge "$users" ] || { echo "warming made $warm_calls PingOne calls for $users users"; exit 1; }
CASE_ARG=cycle:1000 static=$(measure static "$n" "$port" /static/f.txt)
CASE_ARG=one        hit1=$(measure hit1 "$n" "$port" /gated/f.txt)
CASE_ARG=cycle:1000 hit1k=$(measure hit1k "$n" "$port" /gated/f.txt)
CASE_ARG=stride:97  hitbig=$(measure hitbig "$n" "$port" /gated/f.txt)
CASE_ARG=miss       miss=$(measure miss "$nmiss" "$port0" /gated/f.txt)
# PingOne calls before (uninstrumented) and during each case: hits must
# make none while counted.
for c in static hit1 hit1k hitbig miss; do read -r pre during < "$work/calls.$c"; eval "pre_$c=$pre during_$c=$during"; done

out=$(bench_out callgrind)
python3 - "$out" <<PY
import sys
out = sys.argv[1]
static, rows = $static, [("warm hit, 1 user", $hit1, $n), ("warm hit, 1,000 users", $hit1k, $n),
    ("warm hit, %s users" % format($users, ","), $hitbig, $n), ("miss (TTL 0, 1 user)", $miss, $nmiss)]
L = ["## Instructions per request (callgrind)", "",
     "Machine: $machine (instruction counts do not depend on the load).  httpd -X ($mpm) under "
     "\`valgrind --tool=callgrind --instr-atstart=no\`; $users users warmed uninstrumented "
     "($warm_secs s), each case counted alone (\`callgrind_control -i on/off\`, one dump each) over one "
     "keep-alive connection; \`PingOneRateLimit 100000 1000000\` for the whole run.", "",
     "| case | requests | instructions per request | module's cost (minus static) | vs warm hit at 1 user |",
     "|---|---|---|---|---|",
     "| static file, no module | $n | %s | - | - |" % format(static, ",")]
for name, v, k in rows:
    L.append("| %s | %d | %s | **%s** | %s |" % (name, k, format(v, ","), format(v - static, ","),
             "%.2fx" % ((v - static) / float(rows[0][1] - static)) if "hit" in name else "-"))
L += ["",
      "- PingOne consent calls while counted: hit cases **%d** (1 user, 1,000, $users: $during_hit1, "
      "$during_hit1k, $during_hitbig), miss case $during_miss for $nmiss requests" % ($during_hit1 + $during_hit1k + $during_hitbig),
      "- users of the hit cases whose entries had been evicted since warming, fetched again before counting: "
      "1 user $pre_hit1, 1,000 users $pre_hit1k, $users users **$pre_hitbig** of $n",
      "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY

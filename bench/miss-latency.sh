#!/usr/bin/env bash
# Cold-miss latency with keep-alive on both sides (issue 11): how long a
# request for a user the cache has never seen takes through httpd, against
# the simulator's own answer to the same PingOne call measured the same
# way, side by side.
#
# One httpd (event MPM, 2 children x 32 threads), default cache and
# default call budget (50/s: the misses are paced at 40/s), the simulator
# with bulk users.  One Python client holds one keep-alive connection to
# httpd (`MaxKeepAliveRequests 0`) and one to the simulator; the module
# keeps its own connection to the simulator (libcurl handles are reused in
# each child; the client's connection stays in one child).  After a few
# warm-up pairs, each pair is: GET /gated for a new bulk user (a miss: one
# consent call), then the same consent call made directly with the same
# kind of worker token.  The module's connections to the simulator are
# counted before and after (ss): the same number means they were reused.
#
# Usage: bench/miss-latency.sh [pairs]   (default 400)
# Writes bench/results/miss-<date>.md (or $PC_BENCH_OUT/miss.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
t0=$(date +%s)
n=${1:-400} warm=20
need curl python3 ss
make -C "$top" -s all
machine=$(machine_line)

bench_workdir miss htdocs/gated
port=$(free_port) sim_port=$(free_port)
{ httpd_conf_head "$work" "$port" event "$sim_port" authz_host
  event_2x32
  echo "MaxKeepAliveRequests 0"
  echo "PingOneConsentCacheTTL 86400 86400"
  gated_location
  admin_location
} > "$work/httpd.conf"
trap bench_stop EXIT
start_sim "$sim_port" "$work/logs/sim_log"
seed_bulk $((n + warm))
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/pc-admin"

# conns : established connections from httpd to the simulator
conns() { ss -Htnp state established "( dport = :$sim_port )" | grep -c apache2 || true; }
mkfifo "$work/go" "$work/ready"
python3 - "$port" "$sim_port" "$env_id" "$client" "$secret" "$app_id" "$n" "$warm" \
  "$work/ready" "$work/go" > "$work/miss.json" <<'PY' &
import base64, http.client, json, statistics, sys, time
port, sim, env, cid, secret, app = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
n, warm, ready, go = int(sys.argv[7]), int(sys.argv[8]), sys.argv[9], sys.argv[10]
fmt = "f0000000-0000-4000-8000-%012d"
gw = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
up = http.client.HTTPConnection("127.0.0.1", sim, timeout=30)
def timed(conn, path, headers):
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    r = conn.getresponse(); r.read()
    return r.status, (time.perf_counter() - t) * 1000
auth = "Basic " + base64.b64encode(("%s:%s" % (cid, secret)).encode()).decode()
up.request("POST", "/%s/as/token" % env, "grant_type=client_credentials",
           {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
bearer = {"Authorization": "Bearer " + json.loads(up.getresponse().read())["access_token"]}
def direct(u):   # the module's request, as the simulator's log shows it
    return ("/v1/environments/%s/users/%s/oauthConsents?expand=applications"
            "&filter=application.id+eq+%%22%s%%22" % (env, u, app))
gws, ups = [], []
for i in range(warm + n):
    if i == warm:            # warm-up done: let the shell count connections
        open(ready, "w").close(); open(go).read()
    t = time.perf_counter()
    u = fmt % i
    s1, d1 = timed(gw, "/gated/f.txt", {"X-Sub": u})
    s2, d2 = timed(up, direct(u), bearer)
    if s1 != 200 or s2 != 200:
        sys.exit("user %s: httpd %d, simulator %d" % (u, s1, s2))
    if i >= warm:
        gws.append(d1); ups.append(d2)
    time.sleep(max(0.0, 0.025 - (time.perf_counter() - t)))   # 40 misses/s < the default budget
def pct(a, p):
    a = sorted(a); return a[min(len(a) - 1, int(round(p / 100.0 * (len(a) - 1))))]
print(json.dumps({k: {"p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99), "mean": statistics.mean(v)}
                  for k, v in (("httpd", gws), ("sim", ups))}))
PY
py=$!
cat "$work/ready" >/dev/null
c_before=$(conns); calls0=$(admin_num "$port" counters.pingone_calls)
echo > "$work/go"
wait $py || { echo "the miss client failed"; tail -5 "$work/logs/error_log"; exit 1; }
c_after=$(conns); calls=$(( $(admin_num "$port" counters.pingone_calls) - calls0 ))
refused=$(admin_num "$port" counters.budget_exceeded)

out=$(bench_out miss)
python3 - "$work/miss.json" "$out" <<PY
import json, sys
m, out = json.load(open(sys.argv[1])), sys.argv[2]
h, s = m["httpd"], m["sim"]
L = ["## Cold-miss latency, keep-alive on both sides", "",
     "Machine: $machine.  httpd event MPM, 2 children x 32 threads, default cache and budget; "
     "one client, one keep-alive connection to httpd and one to the simulator; $n pairs after $warm warm-up "
     "pairs, 40 pairs/s: a miss through httpd (a new bulk user each), then the same consent call made "
     "directly.", "",
     "| | p50 ms | p90 ms | p99 ms | mean ms |", "|---|---|---|---|---|",
     "| miss through httpd (client -> httpd -> simulator) | %.3f | %.3f | %.3f | %.3f |" % (h["p50"], h["p90"], h["p99"], h["mean"]),
     "| the same call to the simulator directly | %.3f | %.3f | %.3f | %.3f |" % (s["p50"], s["p90"], s["p99"], s["mean"]),
     "| **added by httpd and the module** | **%+.3f** | %+.3f | %+.3f | %+.3f |" % (h["p50"] - s["p50"], h["p90"] - s["p90"], h["p99"] - s["p99"], h["mean"] - s["mean"]),
     "",
     "- module's PingOne calls during the measured pairs: $calls (expected $n); budget refusals: $refused",
     "- httpd's connections to the simulator: $c_before before the measured pairs, $c_after after "
     "(unchanged: kept alive)",
     "- duration of this part: %d s" % (int("$(date +%s)") - int("$t0"))]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY

#!/usr/bin/env bash
# Farm benchmark (issue 13), part of `make bench`: web servers sharing one
# Redis through the module's own client, in one run on one machine.
#
#   1. Throughput: three httpd servers (event MPM) on one Redis with a
#      password for an ACL user and sealed entries, 10,000 distinct users
#      cached (warm), each server measured in turn with wrk: an ungated
#      location and a gated one, alternately, the same X-Sub header -> env
#      variable identity on both; per server the ratio gated / ungated.
#      For contrast, a fourth server on mod_socache_redis (the socache
#      path: a network round trip per hit), and a fifth alone on its own
#      table (PingOneConsentCache shm), the same users on each.
#   2. Revoke-to-deny: for each of N users cached on all three servers,
#      revoke at PingOne, POST the webhook to server A, poll B and C until
#      both deny: p50 / p99 of the time until both deny.
#   3. Memory per decision in Redis: used_memory growth over the 10,000
#      decisions, and MEMORY USAGE of one entry.
#   4. Sentinel failover: a master, a replica, three sentinels; one server
#      under load with users who have consent and users who have not; the
#      master killed: seconds until cache hits again, and allows of users
#      without consent (must be 0).
# Writes bench/results/farm-<date>.md (or its part of make bench's summary).
# Usage: bench/farm-bench.sh [rounds] [seconds] [connections]
#   PC_FARM_USERS (10000), PC_FARM_REVOKES (200), PC_FARM_SENTINEL (1: run part 4)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
rounds=${1:-3} secs=${2:-5} conns=${3:-32}
nusers=${PC_FARM_USERS:-10000} nrevokes=${PC_FARM_REVOKES:-200}
need wrk curl python3 redis-server redis-cli
make -C "$top" -s all

bench_workdir farm htdocs/static htdocs/gated a/logs b/logs c/logs d/logs e/logs
sim_port=$(free_port) rport=$(free_port) r2port=$(free_port)
declare -A P=([a]=$(free_port) [b]=$(free_port) [c]=$(free_port) [d]=$(free_port) [e]=$(free_port))
ADMIN_PW=bench-admin-pw-0123 MOD_PW=bench-pcmod-pw-0123
openssl rand -hex 32 > "$work/cache.key"
echo "$MOD_PW" > "$work/redis.pw"
chmod 600 "$work/cache.key" "$work/redis.pw"

pids=()
cleanup() {
  for s in a b c d e; do "$httpd" -f "$work/$s/httpd.conf" -k stop 2>/dev/null || true; done
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
}
trap cleanup EXIT

# Redis: a password for the default user and the module's ACL user (the
# least-privilege one docs/operations.md gives); a second Redis without a
# password for mod_socache_redis (which cannot log in).
cat > "$work/redis.conf" <<EOF
port $rport
bind 127.0.0.1
dir $work
save ""
appendonly no
requirepass $ADMIN_PW
user pcmod on >$MOD_PW ~pc:* &pc:* -@all +get +set +del +publish +subscribe +ping +select +role +evalsha +eval +time +hmget +hset +pexpire +zadd +zrem +zremrangebyscore +zcard +zrangebyscore +sadd +sismember
EOF
redis-server "$work/redis.conf" > "$work/logs/redis.log" 2>&1 & pids+=($!)
redis-server --port "$r2port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  > "$work/logs/redis2.log" 2>&1 & pids+=($!)
rcli() { redis-cli -p "$rport" -a "$ADMIN_PW" --no-auth-warning "$@"; }
for _ in $(seq 1 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done

server_conf() { # name cache-lines...
  local s=$1; shift
  { httpd_conf_head "$work/$s" "${P[$s]}" event "$sim_port" headers socache_redis
    cat <<EOF
StartServers 2
ThreadsPerChild 32
MaxRequestWorkers 64
PingOneRateLimit Off
PingOneConsentCacheTTL 3600 3600
PingOneConsentCacheKey file:$work/cache.key
$(printf '%s\n' "$@")
<Location /gated>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
    PingOneConsentScopes openid
    Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"
</Location>
<Location /hook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer bench-hook-secret-000"
</Location>
EOF
  } > "$work/$s/httpd.conf"
}
for s in a b c; do
  server_conf "$s" "PingOneConsentCache redis://127.0.0.1:$rport" \
    "PingOneConsentCacheAuth pcmod file:$work/redis.pw"
done
server_conf d "PingOneConsentCache redis:127.0.0.1:$r2port"
server_conf e "PingOneConsentCache shm"

start_sim "$sim_port" "$work/logs/sim_log"
ctl POST bulk-users "{\"count\":$nusers,\"start\":0,\"application\":\"$app_id\",\"scope\":[\"openid\",\"profile\"]}" >/dev/null
dataset() { rcli info memory | awk -F: '/^used_memory_dataset:/ {print $2+0}'; }
mem0=$(dataset)
for s in a b c d e; do "$httpd" -f "$work/$s/httpd.conf" -k start; done
for s in a b c d e; do wait_http "http://127.0.0.1:${P[$s]}/static/f.txt"; done
for _ in $(seq 1 100); do [ "$(rcli pubsub numsub pc:purge:0 | tail -1)" = 3 ] && break; sleep 0.1; done

# Warm: every user once on A (PingOne), then on B, C (Redis hits copied into
# their tables) and D; then check that no PingOne call is made any more.
warm() { # server
  python3 - "${P[$1]}" "$nusers" <<'PY'
import http.client, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
bad = []
def run(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(k, n, 16):
        c.request("GET", "/gated/f.txt", headers={"X-Sub": "f0000000-0000-4000-8000-%012d" % i})
        r = c.getresponse(); r.read()
        if r.status != 200: bad.append(r.status)
ts = [threading.Thread(target=run, args=(k,)) for k in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
if bad: sys.exit("warm-up: %d non-200 answers (%s)" % (len(bad), bad[:3]))
PY
}
t0=$(date +%s.%N)
warm a
warm_a=$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")
for s in b c d e; do warm "$s"; done
mem1=$(dataset)
entries=$(rcli --scan --pattern 'pc:????????????????????????????????????????' | wc -l)
sample=$(rcli --scan --pattern 'pc:????????????????????????????????????????' | awk 'NR == 1')
mem_one=$(rcli memory usage "$sample" samples 0)
ctl POST reset-counts >/dev/null
for s in a b c d e; do warm "$s"; done
calls_after_warm=$(calls consents)

# 1. Alternating wrk rounds per server: ungated, gated.
export PC_USERS=$nusers PC_START=0
for r in $(seq 1 "$rounds"); do
  for s in a b c d e; do
    for loc in static gated; do
      wrk -t2 -c"$conns" -d"${secs}s" -s "$top/bench/farm-wrk.lua" \
        "http://127.0.0.1:${P[$s]}/$loc/f.txt" > "$work/wrk.$s.$loc.$r" 2>&1
    done
  done
done
calls_during=$(calls consents)

# 2. Revoke-to-deny across the three servers (users with consent of their
# own, cached on all three first).
python3 - "${P[a]}" "${P[b]}" "${P[c]}" "$sim_port" "$nrevokes" "$app_id" > "$work/revoke.json" <<'PY'
import http.client, json, statistics, sys, time
pa, pb, pc, ps, n = (int(x) for x in sys.argv[1:6]); app = sys.argv[6]
conns = {}
def get(port, user):
    c = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conns[port] = c
    c.request("GET", "/gated/f.txt", headers={"X-Sub": user})
    r = c.getresponse(); r.read(); return r.status
def post(port, path, body, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", path, json.dumps(body), dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse(); r.read(); c.close(); return r.status
lat, hook = [], []
for i in range(n):
    u = "fb000000-0000-4000-8000-%012d" % i
    post(ps, "/__control/consents", {"user_id": u, "application_id": app, "scope": ["openid"]}, {})
    assert get(pa, u) == 200 and get(pb, u) == 200 and get(pc, u) == 200
    post(ps, "/__control/revoke", {"user_id": u, "application_id": app}, {})
    t0 = time.perf_counter()
    st = post(pa, "/hook", [{"action": {"type": "OAUTH_CONSENT.REVOKED"},
                             "resources": [{"type": "USER", "id": u}]}],
              {"Authorization": "Bearer bench-hook-secret-000"})
    t1 = time.perf_counter()
    assert st == 200, st
    pending = {pb, pc}
    while pending:
        pending = {p for p in pending if get(p, u) != 403}
        if time.perf_counter() - t0 > 30: raise SystemExit("no deny within 30 s")
    lat.append((time.perf_counter() - t0) * 1000); hook.append((t1 - t0) * 1000)
lat.sort(); hook.sort()
q = lambda l, x: l[min(len(l) - 1, int(x * len(l)))]
print(json.dumps({"n": n, "p50": q(lat, .5), "p99": q(lat, .99), "max": lat[-1],
                  "hook_p50": q(hook, .5), "hook_p99": q(hook, .99)}))
PY

# 3. (memory: measured above)

# 4. Sentinel failover.
sentinel_json='{}'
if [ "${PC_FARM_SENTINEL:-1}" = 1 ] && command -v redis-sentinel >/dev/null; then
  "$httpd" -f "$work/d/httpd.conf" -k stop 2>/dev/null || true
  mp=$(free_port) rp=$(free_port)
  redis-server --port "$mp" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$ADMIN_PW" \
    --masterauth "$ADMIN_PW" --dir "$work" --dbfilename m.rdb > "$work/logs/m.log" 2>&1 & mpid=$!; pids+=($mpid)
  redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$ADMIN_PW" \
    --masterauth "$ADMIN_PW" --dir "$work" --dbfilename r.rdb --replicaof 127.0.0.1 "$mp" \
    > "$work/logs/r.log" 2>&1 & pids+=($!)
  sports=()
  for k in 1 2 3; do
    sp=$(free_port); sports+=("$sp")
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor pcm 127.0.0.1 %s 2\nsentinel auth-pass pcm %s\nsentinel down-after-milliseconds pcm 1000\nsentinel failover-timeout pcm 10000\n' \
      "$sp" "$work" "$mp" "$ADMIN_PW" > "$work/sentinel-$k.conf"
    redis-sentinel "$work/sentinel-$k.conf" > "$work/logs/sentinel-$k.log" 2>&1 & pids+=($!)
  done
  for _ in $(seq 1 300); do
    redis-cli -p "${sports[0]}" sentinel master pcm 2>/dev/null | paste - - | grep -q "^num-other-sentinels	2" &&
      redis-cli -p "${sports[0]}" sentinel master pcm | paste - - | grep -q "^num-slaves	1" && break
    sleep 0.1
  done
  server_conf d "PingOneConsentCache redis-sentinel://127.0.0.1:${sports[0]},127.0.0.1:${sports[1]},127.0.0.1:${sports[2]}/pcm" \
    "PingOneConsentCacheAuth $ADMIN_PW"
  "$httpd" -f "$work/d/httpd.conf" -k start
  wait_http "http://127.0.0.1:${P[d]}/static/f.txt"
  sentinel_json=$(python3 - "${P[d]}" "$sim_port" "$mpid" "$rp" "${sports[0]}" "$app_id" <<'PY'
import http.client, json, os, signal, subprocess, sys, threading, time
port, ps, mpid, rp, sp = (int(x) for x in sys.argv[1:6]); app = sys.argv[6]
def post(path, body):
    c = http.client.HTTPConnection("127.0.0.1", ps, timeout=10)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"}); c.getresponse().read(); c.close()
yes = ["fc000000-0000-4000-8000-%012d" % i for i in range(50)]
no = ["fc000000-0000-4000-8000-%012d" % i for i in range(100, 150)]
for u in yes: post("/__control/consents", {"user_id": u, "application_id": app, "scope": ["openid"]})
def get(c, u):
    c.request("GET", "/gated/f.txt", headers={"X-Sub": u}); r = c.getresponse(); r.read()
    return r.status, r.getheader("X-PC-Source", "")
c0 = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for u in yes + no: get(c0, u)
stop, stats, lock = False, {"wrong": 0, "other": 0, "n": 0}, threading.Lock()
def load(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); i = k
    while not stop:
        i += 1; u = (yes + no)[i % 100]
        st, _ = get(c, u)
        with lock:
            stats["n"] += 1
            if st == 200 and u in no: stats["wrong"] += 1
            if st not in (200, 403): stats["other"] += 1
ts = [threading.Thread(target=load, args=(k * 25,)) for k in range(4)]
[t.start() for t in ts]
time.sleep(1)
t_kill = time.time(); os.kill(mpid, signal.SIGKILL)
promoted = hits = None; probe = 0
while time.time() - t_kill < 60 and hits is None:
    if promoted is None:
        out = subprocess.run(["redis-cli", "-p", str(sp), "sentinel", "get-master-addr-by-name", "pcm"],
                             capture_output=True, text=True).stdout.split()
        if len(out) == 2 and out[1] == str(rp): promoted = time.time() - t_kill
    u = "fd000000-0000-4000-8000-%012d" % probe; probe += 1
    post("/__control/consents", {"user_id": u, "application_id": app, "scope": ["openid"]})
    get(c0, u)
    if get(c0, u)[1] == "cache": hits = time.time() - t_kill
    time.sleep(0.05)
time.sleep(1); stop = True; [t.join() for t in ts]
print(json.dumps({"promoted_s": promoted, "hits_again_s": hits, "requests": stats["n"],
                  "wrong_allows": stats["wrong"], "undecided": stats["other"]}))
PY
)
fi

# The report.
mkdir -p "$top/bench/results"
out=$(bench_out farm)
python3 - "$work" "$out" "$rounds" "$secs" "$conns" "$nusers" "$mem0" "$mem1" "$entries" "$mem_one" \
  "$calls_after_warm" "$calls_during" "$warm_a" "$sentinel_json" <<'PY'
import json, os, platform, re, statistics, subprocess, sys
(work, out, rounds, secs, conns, nusers, mem0, mem1, entries, mem_one, calls_warm, calls_during,
 warm_a, sent) = sys.argv[1:15]
rounds, nusers = int(rounds), int(nusers)
def rps(s, loc, r):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", open("%s/wrk.%s.%s.%d" % (work, s, loc, r)).read()).group(1))
rev = json.load(open(work + "/revoke.json")); sent = json.loads(sent or "{}")
mem = int(open("/proc/meminfo").read().split()[1]) // 1048576
L = ["# Farm benchmark, %s" % subprocess.check_output(["date", "-u", "+%Y-%m-%d %H:%M UTC"]).decode().strip(), "",
     "Machine: %d cores, %d GiB, %s; httpd event MPM (2 x 32 threads per server); wrk -t2 -c%s, %s s per run, "
     "%d rounds alternating ungated / gated, server by server; %d distinct users (X-Sub -> OIDC_CLAIM_sub on both "
     "locations), all cached." % (os.cpu_count(), mem, platform.platform(), conns, secs, rounds, nusers), "",
     "| server | cache | ungated req/s | gated req/s | gated / ungated (median of rounds) |", "|---|---|---|---|---|"]
names = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
kinds = {"a": "redis:// + local table", "b": "redis:// + local table", "c": "redis:// + local table",
         "d": "mod_socache_redis (no local table)", "e": "shm (one server, for reference)"}
for s in "abcde":
    st = [rps(s, "static", r) for r in range(1, rounds + 1)]
    ga = [rps(s, "gated", r) for r in range(1, rounds + 1)]
    ratio = statistics.median([g / u for g, u in zip(ga, st)])
    L.append("| %s | %s | %.0f | %.0f | **%.3f** |" % (names[s], kinds[s], statistics.median(st), statistics.median(ga), ratio))
L += ["",
      "- Redis: password + ACL user, entries sealed (HMAC-SHA256); warm-up of %d users on A (PingOne) took %s s; "
      "PingOne consent calls during a second warm pass on every server: %s; during the measured runs: %s" %
      (nusers, warm_a, calls_warm, int(calls_during) - int(calls_warm)),
      "- revoke-to-deny across three servers (%d users; webhook POSTed to A, B and C polled until both deny): "
      "**p50 %.1f ms, p99 %.1f ms** (max %.1f ms); the webhook's own answer (it returns once every server "
      "confirmed): p50 %.1f ms, p99 %.1f ms" % (rev["n"], rev["p50"], rev["p99"], rev["max"], rev["hook_p50"], rev["hook_p99"]),
      "- memory in Redis: used_memory_dataset (keys, values, expiries; not client buffers) grew by %d bytes "
      "for %s decision entries: **%.0f bytes per decision**; MEMORY USAGE of one entry: %s bytes" %
      (int(mem1) - int(mem0), entries, (int(mem1) - int(mem0)) / max(1, int(entries)), mem_one)]
if sent:
    L.append("- Sentinel failover (master killed under load, 4 clients, 50 users with consent and 50 without; "
             "down-after-milliseconds 1000): promoted after %.1f s, **cache hits again after %.1f s**; "
             "%d requests, **%d wrong allows**, %d not decided (not 200/403)" %
             (sent.get("promoted_s") or -1, sent.get("hits_again_s") or -1, sent["requests"],
              sent["wrong_allows"], sent["undecided"]))
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
echo "results: $out"

#!/usr/bin/env bash
# Revoke-to-deny latency without a webhook (issue 14): one httpd (event MPM)
# following the simulator's audit activities (PingOneActivityPoll), the
# simulator making each event visible only after an ingestion delay.  For
# each of N users an allow is cached, the consent is revoked at the
# simulator, and the server is asked every 20 ms until it denies.  The
# allow and deny TTLs are 600 s: every deny comes from the feed.  Revokes
# are spread over the poll interval (a random pause before each).  Also
# counts the audit calls the run made, per minute.
# Usage: bench/poll-latency.sh [users] [poll-seconds] [ingestion-delay-ms]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
n=${1:-20} interval=${2:-2} delay_ms=${3:-1000}
need curl python3
bench_workdir poll htdocs
port=$(free_port) ps=$(free_port)
make -C "$top" -s all
echo ok > "$work/htdocs/index.html"
{ httpd_conf_head "$work" "$port" event "$ps"
  cat <<EOC
PingOneActivityPoll $interval
PingOneConsentCacheTTL 600 600
<Location /index.html>
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
</Location>
<Location /admin>
    SetHandler pingone-consent-admin
</Location>
EOC
} > "$work/httpd.conf"
trap bench_stop EXIT
start_sim "$ps" "$work/logs/sim_log"
ctl POST activities "{\"ingestion_delay_ms\": $delay_ms}" >/dev/null
# users seeded without audit events: nothing of theirs is pending
ctl POST bulk-users "{\"count\": $n, \"start\": 980000, \"application\": \"$app_id\", \"scope\": [\"openid\"]}" >/dev/null
"$httpd" -f "$work/httpd.conf" -k start
wait_http "http://127.0.0.1:$port/admin"

python3 - "$port" "$ps" "$n" "$interval" "$delay_ms" <<'PY' | tee "$work/result.txt"
import http.client, json, random, statistics, sys, time
port, ps, n, interval, delay_ms = (int(x) for x in sys.argv[1:])
APP = "a0000000-0000-4000-8000-000000000001"
def get(path, user=None, p=port):
    c = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
    c.request("GET", path, headers={"X-Sub": user} if user else {})
    r = c.getresponse(); body = r.read(); c.close(); return r.status, body
def ctl(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", ps, timeout=10)
    c.request(method, "/__control/" + path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse(); out = r.read(); c.close(); return json.loads(out or b"{}")
def healthy():
    st = json.loads(get("/admin")[1])
    envs = st.get("activity_feed", {}).get("environments", [])
    return envs and envs[0].get("healthy")
t_end = time.monotonic() + 30
while not healthy():
    if time.monotonic() > t_end:
        raise SystemExit("the feed did not become healthy")
    time.sleep(0.1)
ctl("POST", "reset-counts")
started = time.monotonic()
lat = []
for i in range(n):
    u = "f0000000-0000-4000-8000-%012d" % (980000 + i)
    assert get("/index.html", u)[0] == 200 and get("/index.html", u)[0] == 200
    time.sleep(random.uniform(0, interval))
    t0 = time.monotonic()
    ctl("POST", "revoke", {"user_id": u, "application_id": APP})
    while get("/index.html", u)[0] != 403:
        if time.monotonic() - t0 > 60:
            raise SystemExit("no deny within 60 s")
        time.sleep(0.02)
    lat.append((time.monotonic() - t0) * 1000)
minutes = (time.monotonic() - started) / 60
calls = ctl("GET", "counts")["activities"]
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print("revoke at PingOne -> denied, no webhook, PingOneActivityPoll %d, ingestion delay %d ms, %d users:"
      % (interval, delay_ms, n))
print("  median %.0f ms, p99 %.0f ms, min %.0f ms, max %.0f ms (claim: interval + delay + 1 s = %d ms)"
      % (statistics.median(lat), p99, lat[0], lat[-1], interval * 1000 + delay_ms + 1000))
print("audit calls: %d in %.1f min = %.1f per minute (%.2f%% of the audit group's 600/min)"
      % (calls, minutes, calls / minutes, 100.0 * calls / minutes / 600))
PY
mkdir -p "$top/bench/results"
out=$(bench_out poll)
{ echo "# Revoke-to-deny without a webhook (activity feed), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "bench/poll-latency.sh $n $interval $delay_ms on $(nproc) cores; one httpd (event MPM), simulator on loopback."
  echo
  echo '```'
  cat "$work/result.txt"
  echo '```'
} > "$out"
echo "written: $out"

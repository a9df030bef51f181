#!/usr/bin/env bash
# Revoke-to-deny latency (issue 4): two httpd servers (event MPM) sharing a
# redis cache, in front of the simulator.  For each of N users: both
# servers cache an allow; the consent is revoked at the simulator, which
# delivers the webhook to server A; server B is polled every 5 ms until it
# denies.  Then the same without a webhook (bounded by the allow TTL).
# Usage: bench/revoke-latency.sh [users] [ttl-seconds]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
n=${1:-20} ttl=${2:-5}
need redis-server curl
bench_workdir revoke htdocs a/logs b/logs
pa=$(free_port) pb=$(free_port) ps=$(free_port) pr=$(free_port)
make -C "$top" -s all
echo ok > "$work/htdocs/index.html"
openssl rand -hex 32 > "$work/cache.key"
for s in a b; do
  port=$pa; [ $s = b ] && port=$pb
  { httpd_conf_head "$work/$s" "$port" event "$ps" socache_redis
    cat <<EOC
PingOneConsentCache redis:127.0.0.1:$pr
PingOneConsentCacheKey file:$work/cache.key
PingOneConsentCacheTTL $ttl $ttl
<Location />
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app_id
</Location>
<Location /hook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer bench-hook-secret-000"
</Location>
EOC
  } > "$work/$s/httpd.conf"
done
redis-server --port "$pr" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
redis=$!
cleanup() {
  for s in a b; do "$httpd" -f "$work/$s/httpd.conf" -k stop 2>/dev/null || true; done
  kill ${sim:-} $redis 2>/dev/null || true
}
trap cleanup EXIT
start_sim "$ps" "$work/logs/sim_log"
sleep 1
for s in a b; do "$httpd" -f "$work/$s/httpd.conf" -k start; done
sleep 1

python3 - "$pa" "$pb" "$ps" "$n" "$ttl" <<'PY' | tee "$work/result.txt"
import http.client, json, sys, time
pa, pb, ps, n, ttl = (int(x) for x in sys.argv[1:])
APP = "a0000000-0000-4000-8000-000000000001"
def get(port, user):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/index.html", headers={"X-Sub": user})
    r = c.getresponse(); r.read(); c.close(); return r.status
def ctl(path, body):
    c = http.client.HTTPConnection("127.0.0.1", ps, timeout=10)
    c.request("POST", "/__control/" + path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); out = r.read(); c.close(); return json.loads(out or b"{}")
def run(prefix, webhook, count):
    lat = []
    for i in range(count):
        u = "%s-0000-4000-8000-%012d" % (prefix, i)
        ctl("consents", {"user_id": u, "application_id": APP, "scope": ["openid"]})
        assert get(pb, u) == 200 and get(pa, u) == 200
        t0 = time.monotonic()
        ctl("revoke", {"user_id": u, "application_id": APP})
        if webhook:
            ctl("webhook", {"url": "http://127.0.0.1:%d/hook" % pa,
                            "headers": {"Authorization": "Bearer bench-hook-secret-000"},
                            "events": [{"type": "OAUTH_CONSENT.REVOKED", "user_id": u, "application_id": APP}]})
        while get(pb, u) != 403:
            time.sleep(0.005)
            if time.monotonic() - t0 > ttl + 30:
                raise SystemExit("no deny within TTL + 30 s")
        lat.append((time.monotonic() - t0) * 1000)
    lat.sort()
    return lat
w = run("eb000000", True, n)
t = run("ec000000", False, max(3, n // 4))
pct = lambda l, q: l[min(len(l) - 1, int(q * len(l)))]
print("revoke -> webhook to server A -> denied on server B (shared redis), %d users:" % len(w))
print("  median %.1f ms, p90 %.1f ms, max %.1f ms" % (pct(w, .5), pct(w, .9), w[-1]))
print("revoke without webhook (allow TTL %d s), %d users:" % (ttl, len(t)))
print("  median %.0f ms, max %.0f ms (bounded by the TTL)" % (pct(t, .5), t[-1]))
PY

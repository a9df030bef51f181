# Shared by the scripts in bench/ (sourced, after `set -euo pipefail` and
# with $top set): httpd and module paths, free loopback ports, a work
# directory, the common head of an httpd.conf, and the PingOne simulator
# with its control API.

httpd=${HTTPD:-/usr/sbin/apache2}
moddir=$(${APXS:-/usr/bin/apxs} -q LIBEXECDIR)
# The simulator's seeded environment and worker app (t/sim/seed.json).
env_id=abcdef01-2345-4678-9abc-def012345678
client=c0ffee00-1111-4222-8333-444455556666
secret=s3cr3t-worker-secret
app_id=a0000000-0000-4000-8000-000000000001

# need TOOL... : exit with the Debian package to install when one is missing
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$t is needed (apt-get install $t)"; exit 1; }
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_workdir NAME SUBDIR... : $work = a new /tmp/pc-NAME.XXXXXX with
# logs/ and the given subdirectories (each htdocs/X with a 1 KiB f.txt); as
# root, httpd runs as www-data and must be able to write there.
bench_workdir() {
  local name=$1 d; shift
  work=$(mktemp -d "/tmp/pc-$name.XXXXXX")
  mkdir -p "$work/logs"
  for d in "$@"; do
    mkdir -p "$work/$d"
    # every document directory serves the same 1 KiB file, f.txt
    case $d in htdocs/*) head -c 1024 /dev/zero | tr '\0' 'x' > "$work/$d/f.txt" ;; esac
  done
  if [ "$(id -u)" -eq 0 ]; then chmod -R a+rwX "$work"; fi
}

# httpd_conf_head ROOT PORT MPM SIM-PORT [MODULE...] : the start of an
# httpd.conf serving $work/htdocs on 127.0.0.1:PORT with the module in
# front of the simulator on SIM-PORT (server settings only; the caller
# appends its cache settings and locations).  MODULE: further modules by
# their file name without mod_ (socache_shmcb, oauth2, ...).  X-Sub sets
# OIDC_CLAIM_sub, the user for `PingOneConsentUserFrom env:OIDC_CLAIM_sub`.
httpd_conf_head() {
  local root=$1 port=$2 mpm=$3 sim_port=$4 m; shift 4
  cat <<EOF
ServerRoot "$root"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$root/httpd.pid"
ErrorLog "$root/logs/error_log"
LogLevel warn
EOF
  if [ "$(id -u)" -eq 0 ]; then printf 'User www-data\nGroup www-data\n'; fi
  for m in "mpm_$mpm" authz_core mime setenvif "$@"; do
    echo "LoadModule ${m}_module $moddir/mod_$m.so"
  done
  cat <<EOF
LoadModule pingone_consent_module $top/build/mod_pingone_consent.so
TypesConfig /etc/mime.types
DocumentRoot "$work/htdocs"
<Directory "$work/htdocs">
    Require all granted
</Directory>
PingOneEnvironmentID $env_id
PingOneAPIBaseURL http://127.0.0.1:$sim_port/v1
PingOneAuthBaseURL http://127.0.0.1:$sim_port
PingOneClientID $client
PingOneClientSecret $secret
SetEnvIf X-Sub "^(.+)\$" OIDC_CLAIM_sub=\$1
EOF
}

# wait_http URL : until it answers (5 s at most)
wait_http() {
  local _
  for _ in $(seq 1 50); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  return 0
}

# start_sim PORT LOG : the PingOne simulator in the background ($sim: pid),
# seeded as the tests are; returns when it answers.
start_sim() {
  python3 "$top/t/sim/pingone-sim" --port "$1" --seed "$top/t/sim/seed.json" --log "$2" &
  sim=$!
  sim_port=$1
  wait_http "http://127.0.0.1:$1/__control/health"
}

# ctl METHOD PATH [JSON] : the simulator's control API (prints the answer)
ctl() {
  curl -s -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} \
    "http://127.0.0.1:$sim_port/__control/$2"
}

# calls ENDPOINT : how many calls the simulator counted there
calls() {
  ctl GET counts | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"
}

# The bytes of a typical encoded consent decision (the unit test prints it).
decision_value_bytes() {
  make -C "$top" -s build/unit/test_cache >/dev/null &&
    "$top/build/unit/test_cache" | awk '/typical consent value/ {print $5}'
}

# ---- many users (issue 11) ------------------------------------------------

# bulk_user I : the simulator's bulk user number I (docs/simulator.md)
bulk_user() { printf 'f0000000-0000-4000-8000-%012d\n' "$1"; }

# seed_bulk COUNT [START] : COUNT bulk users from START, each with an
# ACCEPTED consent (openid profile) for $app_id; in calls of 100,000.
seed_bulk() {
  local count=$1 start=${2:-0} n
  while [ "$count" -gt 0 ]; do
    n=$(( count > 100000 ? 100000 : count ))
    ctl POST bulk-users "{\"count\":$n,\"start\":$start,\"application\":\"$app_id\",\"scope\":[\"openid\",\"profile\"]}" \
      | grep -q '"consents"' || { echo "seeding bulk users $start.. failed"; exit 1; }
    start=$((start + n)) count=$((count - n))
  done
}

# event_2x32 : the MPM settings of the throughput benchmarks (2 children x
# 32 threads, as in issue 11; room for a graceful restart's old children).
event_2x32() {
  printf 'StartServers 2\nServerLimit 4\nThreadsPerChild 32\nMaxRequestWorkers 64\n'
  printf 'MinSpareThreads 32\nMaxSpareThreads 64\n'
}

# admin_location : the admin handler on /pc-admin, loopback only
# (needs authz_host among the modules).
admin_location() {
  printf '<Location /pc-admin>\n    SetHandler pingone-consent-admin\n'
  printf '    Require ip 127.0.0.1\n</Location>\n'
}

# gated_location : the gated location the parts measure (needs $app_id):
# the user from OIDC_CLAIM_sub, which the ungated baseline sets the same way.
gated_location() {
  printf '<Location /gated>\n    PingOneConsent On\n'
  printf '    PingOneConsentUserFrom env:OIDC_CLAIM_sub\n'
  printf '    PingOneConsentApplication %s\n' "$app_id"
  printf '    PingOneConsentScopes openid profile\n</Location>\n'
}

# bench_stop : stops the part's httpd ($work/httpd.conf) and simulator
# ($sim); parts run it at exit (trap bench_stop EXIT).
bench_stop() {
  "$httpd" -f "$work/httpd.conf" -k stop 2>/dev/null || true
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
}

# admin_status PORT : the admin status JSON of the httpd on PORT
admin_status() { curl -sf "http://127.0.0.1:$1/pc-admin"; }

# admin_num PORT PATH... : numbers from the admin status, one a line
# (PATH: counters.hits, cache.entries, ...)
admin_num() {
  local port=$1; shift
  admin_status "$port" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in sys.argv[1:]:
    v = d
    for k in p.split("."):
        v = v[k]
    print(v)' "$@"
}

# wait_stable PORT PATH : until that admin number stops changing for 1 s
# (the in-flight requests of a finished load done); prints it.
wait_stable() {
  local a b _
  a=$(admin_num "$1" "$2")
  for _ in $(seq 1 60); do
    sleep 1; b=$(admin_num "$1" "$2")
    [ "$a" = "$b" ] && break
    a=$b
  done
  echo "$a"
}

# users_lua FILE : the wrk script of the many-user benchmarks.  Arguments
# after `--`: MODE COUNT START SEED THREADS [PATHS]
#   cycle   each thread walks COUNT users from START, one after another
#           from its own offset (depends on SEED), wrapping around
#   random  each request draws one of COUNT users from START at random
#   once    the threads share COUNT users from START between them, each
#           user requested once on the first path; then the second path
#           (with the last user) every 0.5 s per connection until wrk is
#           stopped (see warm_users)
# THREADS: wrk's -t.  PATHS (optional): comma-separated request paths taken
# in turn (default: the URL's path).  The user goes in X-Sub (X-Sub ->
# OIDC_CLAIM_sub, see httpd_conf_head).  done() prints "responses N non200 M".
users_lua() {
  cat > "$1" <<'LUA'
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  mode, count, start = args[1], tonumber(args[2]), tonumber(args[3])
  seed, nthreads = tonumber(args[4] or 0), tonumber(args[5] or 2)
  paths = {}
  for p in string.gmatch(args[6] or wrk.path, "[^,]+") do table.insert(paths, p) end
  responses, non200, sent = 0, 0, 0
  math.randomseed(seed * 1000 + id + 1)
  if mode == "once" then
    lo = start + math.floor(count * id / nthreads)
    hi = start + math.floor(count * (id + 1) / nthreads)
    nexti, share = lo, hi - lo
  else
    nexti = math.floor(count * id / nthreads + seed) % count
  end
end
local fmt = "f0000000-0000-4000-8000-%012d"
function request()
  local i
  if mode == "random" then
    i = start + math.random(0, count - 1)
  elseif mode == "once" then
    i = nexti
    if nexti >= hi then
      return wrk.format("GET", paths[2] or paths[1], {["X-Sub"] = string.format(fmt, hi - 1)})
    end
    nexti = nexti + 1
    sent = sent + 1
    return wrk.format("GET", paths[1], {["X-Sub"] = string.format(fmt, i)})
  else
    i = start + nexti
    nexti = (nexti + 1) % count
  end
  sent = sent + 1
  return wrk.format("GET", paths[(sent - 1) % #paths + 1], {["X-Sub"] = string.format(fmt, i)})
end
function delay()
  if mode == "once" and nexti >= hi then return 500 end
  return 0
end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local r, b = 0, 0
  for _, t in ipairs(threads) do r = r + t:get("responses"); b = b + t:get("non200") end
  io.write(string.format("responses %d non200 %d\n", r, b))
end
LUA
}

# warm_users PORT PATH IDLE-PATH COUNT [START] [CONNS] : request COUNT bulk
# users from START once each through PATH (wrk -t2, CONNS connections,
# default 64) so that their decisions are cached; threads that are done
# request IDLE-PATH (not gated) until the module has made COUNT PingOne
# calls more, or made none for 5 s; then wrk is stopped.  Prints the
# PingOne calls made.  The server should have `MaxKeepAliveRequests 0`: a
# request wrk sends as httpd closes a keep-alive connection is lost.
warm_users() {
  local port=$1 path=$2 idle=$3 count=$4 start=${5:-0} conns=${6:-64} c0 c last=-1 same=0 w
  [ -f "$work/users.lua" ] || users_lua "$work/users.lua"
  c0=$(admin_num "$port" counters.pingone_calls)
  wrk -t2 -c"$conns" -d3600s --timeout 30s -s "$work/users.lua" \
    "http://127.0.0.1:$port$path" -- once "$count" "$start" 0 2 "$path,$idle" \
    > "$work/warm.out" 2>&1 &
  w=$!
  while sleep 1; do
    c=$(admin_num "$port" counters.pingone_calls)
    [ $((c - c0)) -ge "$count" ] && break
    if [ "$c" = "$last" ]; then same=$((same + 1)); [ $same -ge 5 ] && break
    else same=0; fi
    last=$c
  done
  kill "$w" 2>/dev/null; wait "$w" 2>/dev/null || true
  wait_stable "$port" counters.pingone_calls >/dev/null
  repair_users "$port" "$path" "$count" "$start"
  echo $(( $(wait_stable "$port" counters.pingone_calls) - c0 ))
}

# repair_users PORT PATH COUNT START : request, one by one, the users of
# that range the simulator has never been asked about (wrk draws a new
# request when a write must be retried, so a few users of a wrk pass are
# never sent; the simulator's per-user counts say which).
repair_users() {
  python3 - "$1" "$2" "$3" "$4" "$sim_port" <<'PY'
import http.client, json, sys
port, path, count, start, sim = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
c = http.client.HTTPConnection("127.0.0.1", sim, timeout=120)
c.request("GET", "/__control/counts")
seen = json.loads(c.getresponse().read())["by_user"]
fmt = "f0000000-0000-4000-8000-%012d"
missing = [i for i in range(start, start + count) if fmt % i not in seen]
h = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for i in missing:
    h.request("GET", path, headers={"X-Sub": fmt % i})
    r = h.getresponse(); r.read()
    if r.status != 200:
        sys.exit("warming: user %d answered %d" % (i, r.status))
print("repaired %d users" % len(missing), file=sys.stderr)
PY
}

# children PIDFILE : the pids of httpd's children, one a line
children() { pgrep -P "$(cat "$1")" | sort -n; }

# wait_children PIDFILE N : until httpd has exactly N children (a graceful
# restart's old generation gone), 60 s at most
wait_children() {
  local _
  for _ in $(seq 1 120); do
    [ "$(children "$1" | wc -l)" -eq "$2" ] && return 0
    sleep 0.5
  done
  echo "httpd still has $(children "$1" | wc -l) children, expected $2" >&2
  return 1
}

# machine_line : cores, memory, kernel, httpd, load (for the results)
machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), httpd $("$httpd" -v | awk -F/ '/version/ {print $2}' | cut -d' ' -f1); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_out NAME : where a part writes its Markdown: $PC_BENCH_OUT/NAME.md
# when make-bench.sh collects the parts, else bench/results/NAME-<date>.md
bench_out() {
  if [ -n "${PC_BENCH_OUT:-}" ]; then echo "$PC_BENCH_OUT/$1.md"
  else mkdir -p "$top/bench/results"; echo "$top/bench/results/$1-$(date -u +%Y%m%d-%H%M).md"; fi
}

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
# logs/ and the given subdirectories; as root, httpd runs as www-data and
# must be able to write there.
bench_workdir() {
  local name=$1 d; shift
  work=$(mktemp -d "/tmp/pc-$name.XXXXXX")
  mkdir -p "$work/logs"
  for d in "$@"; do mkdir -p "$work/$d"; done
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
  make -C "$top" -s unit >/dev/null &&
    "$top/build/unit/test_cache" | awk '/typical consent value/ {print $5}'
}

#!/usr/bin/env bash
# The Apache::Test suite under each MPM named (default: prefork worker event),
# each run against its own PingOne simulator on a free loopback port; then
# the cache tests again with the farm caches named in PC_REMOTE_CACHES
# (servers started here, on loopback): redis-url (the module's own Redis
# client, redis://, plus the farm tests that start Redis servers and
# sentinels of their own), memcache (mod_socache_memcache) and, when asked
# for, redis (mod_socache_redis: the same socache code path as memcache).
# Default as root: "redis-url memcache".
#
# Apache::Test refuses to run as root.  As root, this script copies the tree
# to a temporary directory owned by an unprivileged user (PC_TEST_USER,
# default "pctest", created if needed) and runs itself there as that user.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mpms=${*:-prefork worker event}

if [ "$(id -u)" -eq 0 ]; then
  user=${PC_TEST_USER:-pctest}
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  work=$(mktemp -d /tmp/pc-httpd-tests.XXXXXX)
  tar -C "$top" --exclude=.git -cf - . | tar -C "$work" -xf -
  chown -R "$user" "$work"
  chmod 755 "$work"
  runuser -u "$user" -- env PC_REMOTE_CACHES="${PC_REMOTE_CACHES:-redis-url memcache}" \
    PC_BUILD_DIR="${PC_BUILD_DIR:-build}" HTTPD="${HTTPD:-/usr/sbin/apache2}" \
    PC_TEST_ARGS="${PC_TEST_ARGS:-}" PC_TEST_FILES="${PC_TEST_FILES:-}" \
    PC_REMOTE_FILES="${PC_REMOTE_FILES:-}" PC_FARM_MPM="${PC_FARM_MPM:-}" \
    PC_KEEP_LOGS="${PC_KEEP_LOGS:-}" \
    bash "$work/t/run-httpd-tests.sh" $mpms
  rc=$?
  if [ $rc -eq 0 ]; then rm -rf "$work"; else echo "# test tree kept in $work"; fi
  exit $rc
fi

cd "$top"
module="$top/${PC_BUILD_DIR:-build}/mod_pingone_consent.so"
[ -f "$module" ] || { echo "build the module first (make)"; exit 2; }
httpd=${HTTPD:-/usr/sbin/apache2}
apxs=${APXS:-/usr/bin/apxs}
moddir=$($apxs -q LIBEXECDIR)
rc=0

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A base port with the 20 ports after it free too (the suite's virtual
# hosts take consecutive ports).
free_port_range() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000, 20)
    socks = []
    try:
        for p in range(base, base + 20):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

# run_suite MPM CACHE-SPEC [test files...]
run_suite() {
  local mpm=$1 cache=$2; shift 2
  perl t/TEST -clean >/dev/null 2>&1 || true
  mkdir -p t/logs
  rm -f t/logs/sim.port
  python3 t/sim/pingone-sim --port 0 --port-file t/logs/sim.port \
    --seed t/sim/seed.json --log t/logs/sim_log &
  local sim=$!
  for _ in $(seq 1 100); do [ -s t/logs/sim.port ] && break; sleep 0.1; done
  if [ ! -s t/logs/sim.port ]; then
    echo "not ok - the PingOne simulator did not start"; kill $sim 2>/dev/null; rc=1; return
  fi
  export PC_SIM_PORT=$(cat t/logs/sim.port)
  # A second simulator speaking HTTPS with a self-signed certificate, for
  # the TLS verification tests.
  mkdir -p t/logs/tls
  [ -s t/logs/tls/cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout t/logs/tls/key.pem -out t/logs/tls/cert.pem >/dev/null 2>&1
  rm -f t/logs/sim-tls.port
  python3 t/sim/pingone-sim --port 0 --port-file t/logs/sim-tls.port --seed t/sim/seed.json \
    --log t/logs/sim_tls_log --tls-cert t/logs/tls/cert.pem --tls-key t/logs/tls/key.pem &
  local sim_tls=$!
  for _ in $(seq 1 100); do [ -s t/logs/sim-tls.port ] && break; sleep 0.1; done
  export PC_SIM_TLS_PORT=$(cat t/logs/sim-tls.port) PC_TLS_CA="$top/t/logs/tls/cert.pem"
  export PC_TEST_POST_SECRET=post-only-secret
  # A small local cache (512 decisions), so the eviction tests can fill it.
  export PC_MODULE="$module" PC_MODDIR="$moddir" PC_CACHE="$cache" PC_CACHE_SIZE=512
  {
    echo "LoadModule mpm_${mpm}_module $moddir/mod_mpm_${mpm}.so"
    for m in authn_core authn_file auth_basic authz_core authz_user authz_host \
             mime alias env headers setenvif dir status socache_shmcb \
             socache_redis socache_memcache; do
      echo "LoadModule ${m}_module $moddir/mod_${m}.so"
    done
    # mod_auth_openidc (t/12_openidc.t), when installed
    [ -f "$moddir/mod_auth_openidc.so" ] &&
      echo "LoadModule auth_openidc_module $moddir/mod_auth_openidc.so"
    echo "LoadModule pingone_consent_module $module"
  } > t/conf/inherit.conf
  # A free base port (several suites may run on one machine at once).
  APACHE_TEST_PORT=${APACHE_TEST_PORT:-$(free_port_range)} \
  perl t/TEST -apxs "$apxs" -httpd "$httpd" -httpd_conf "$top/t/conf/inherit.conf" \
    -maxclients 64 ${PC_TEST_ARGS:-} "$@" || { rc=1; echo "# error_log tail ($mpm, $cache):"; tail -n 40 t/logs/error_log 2>/dev/null | sed 's/^/#   /'; }
  kill $sim $sim_tls 2>/dev/null; wait $sim $sim_tls 2>/dev/null
  # PC_KEEP_LOGS=DIR: keep each run's logs (error logs of every server)
  if [ -n "${PC_KEEP_LOGS:-}" ]; then
    mkdir -p "$PC_KEEP_LOGS/$mpm-${cache%%:*}" && cp -r t/logs/. "$PC_KEEP_LOGS/$mpm-${cache%%:*}/" 2>/dev/null
  fi
  perl t/TEST -clean >/dev/null 2>&1 || true
}

for mpm in $mpms; do
  echo "# ---- Apache::Test, $mpm MPM, local cache ----"
  run_suite "$mpm" shm ${PC_TEST_FILES:-}
done

for remote in ${PC_REMOTE_CACHES:-}; do
  port=$(free_port)
  # The cache tests, and for redis-url the farm tests too.
  files="t/20_cache.t t/23_farm.t t/32_purge_race.t t/43_farm_purge.t t/52_feed_farm.t"
  spec="$remote:127.0.0.1:$port"
  case $remote in
    redis-url)
      command -v redis-server >/dev/null || { echo "not ok - redis-server is not installed"; rc=1; continue; }
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$top/t/redis.log" &
      spec="redis://127.0.0.1:$port"
      files="$files t/25_redis_farm.t t/26_sentinel.t"
      ;;
    redis)
      command -v redis-server >/dev/null || { echo "not ok - redis-server is not installed"; rc=1; continue; }
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$top/t/redis.log" &
      ;;
    memcache)
      command -v memcached >/dev/null || { echo "not ok - memcached is not installed"; rc=1; continue; }
      memcached -l 127.0.0.1 -p "$port" -U 0 -m 16 &
      ;;
    *) echo "# unknown remote cache '$remote' (redis-url, redis, memcache): skipped"; continue ;;
  esac
  server=$!
  # t/22_remote_cache.t stops the cache server: it runs last.
  files="$files t/22_remote_cache.t"
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1
  done
  files=${PC_REMOTE_FILES:-$files}
  echo "# ---- Apache::Test, event MPM, $remote cache: $spec ----"
  # shellcheck disable=SC2086
  PC_CACHE_SERVER_PID=$server run_suite event "$spec" $files
  kill $server 2>/dev/null; wait $server 2>/dev/null
done
exit $rc

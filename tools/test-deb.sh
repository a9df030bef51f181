#!/usr/bin/env bash
# `make test-deb` (TAP): the Debian package on this machine's own apache2.
#
# Build it (make deb), dpkg -i, a2enmod pingone_consent, add a site that
# gates a <Location> against the bundled PingOne simulator, configtest, start
# Apache the Debian way (service apache2 ...), check an allowed and a denied
# request; then a2dismod, dpkg --purge, and check that nothing is left: the
# package's files, /etc/apache2 (checksums), the a2enmod state in
# /var/lib/apache2, the enabled modules, Apache's run, lock and log
# directories, and whether Apache runs (same pid and listeners) or not.
#
# Root on Debian only; skipped otherwise.  Whatever fails, the EXIT trap
# undoes what this run did and still checks for leftovers.  If Apache was
# running, it is reloaded with the site and reloaded back, never stopped.
#   PC_TEST_DEB_NOBUILD=1  use the build/*.deb already there (no make deb)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP not root"; exit 0; fi
if [ ! -f /etc/debian_version ] || ! command -v dpkg >/dev/null; then
  echo "1..0 # SKIP not Debian"; exit 0
fi
if ! command -v a2enmod >/dev/null || ! command -v apache2ctl >/dev/null; then
  echo "1..0 # SKIP apache2 is not installed"; exit 0
fi

PKG=libapache2-mod-pingone-consent
SITE=pingone-consent-test
ALICE=e0000000-0000-4000-8000-00000000a11c   # ACCEPTED openid profile email
BOB=e0000000-0000-4000-8000-0000000000b0     # REVOKED
# What the site needs besides the module (Debian enables these by default).
NEEDED_MODS=(authn_core authn_file auth_basic authz_core authz_user)
# Names whose a2enmod/a2ensite state markers this run may touch.
TOUCHED=(pingone_consent "${NEEDED_MODS[@]}" "$SITE")

eval "$(env -i sh -c '. /etc/apache2/envvars; for v in APACHE_PID_FILE APACHE_RUN_DIR APACHE_LOCK_DIR APACHE_LOG_DIR; do eval "echo $v=\${$v}"; done')"

n=0 failed=0 teardown_done=0 sim_pid="" port="" deb=""
tmp=$(mktemp -d /tmp/pc-test-deb.XXXXXX)
chmod 755 "$tmp"                      # www-data reads htdocs and htpasswd
mkdir -p "$tmp/before" "$tmp/after" "$tmp/htdocs/app" "$tmp/htdocs/open"

ok()   { n=$((n + 1)); echo "ok $n - $*"; }
nok()  { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /' "$@"; }
# check DESCRIPTION COMMAND...: one test line; the command's output as
# diagnostics when it fails.
check() {
  local d=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$d"; else nok "$d"; diag "$tmp/out"; return 1; fi
}
abort() { echo "# stopping here: $*"; exit 1; }  # the EXIT trap cleans up

mod_enabled() { a2query -q -m "$1" 2>/dev/null; }
apache_pid() {  # the pid of the machine's Apache, if it runs
  local pid
  pid=$(cat "$APACHE_PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/apache2 ] && echo "$pid"
}
listeners() { ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sort -u; }
wait_for() {  # seconds command...: until the command succeeds
  local i; for ((i = 0; i < $1 * 5; i++)); do "${@:2}" && return 0; sleep 0.2; done; return 1
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
# dpkg waits for no one: another apt/dpkg run holds the lock for a while.
dpkg_locked() {
  local i; for ((i = 0; i < 150; i++)); do
    dpkg "$@" >"$tmp/dpkg.out" 2>&1 && { cat "$tmp/dpkg.out"; return 0; }
    grep -q "lock" "$tmp/dpkg.out" || { cat "$tmp/dpkg.out"; return 1; }
    sleep 2
  done; cat "$tmp/dpkg.out"; return 1
}

# --- the machine as found --------------------------------------------------
snapshot() {  # dir
  local d=$1
  { find /etc/apache2 -printf '%y %m %u:%g %p -> %l\n'
    find /etc/apache2 -type f -exec md5sum {} +; } | sort >"$d/etc"
  find /var/lib/apache2 -printf '%y %m %p\n' 2>/dev/null | sort >"$d/state"
  ls /etc/apache2/mods-enabled | sed -n 's/\.load$//p' | sort >"$d/mods"
  find "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" -printf '%y %p\n' 2>/dev/null | sort >"$d/run"
  find "$APACHE_LOG_DIR" -printf '%y %p\n' 2>/dev/null | sort >"$d/logs"
  local pid; pid=$(apache_pid) || pid=""
  { echo "pid ${pid:-none}"; [ -n "$pid" ] && listeners "$pid"; } >"$d/apache"
  dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null | grep -v '^unknown ok not-installed' >"$d/pkg"
}

snapshot "$tmp/before"
was_running=$(apache_pid) || was_running=""
if [ -s "$tmp/before/pkg" ]; then
  echo "Bail out! $PKG is on this machine ($(cat "$tmp/before/pkg")): test-deb would remove it; dpkg --purge $PKG first"
  rm -rf "$tmp"; exit 1
fi
if [ -e "/etc/apache2/sites-available/$SITE.conf" ]; then
  echo "Bail out! /etc/apache2/sites-available/$SITE.conf exists (a test-deb run interrupted by a kill?): remove it first"
  rm -rf "$tmp"; exit 1
fi
for m in "${NEEDED_MODS[@]}"; do mod_enabled "$m" || echo "$m"; done >"$tmp/mods-to-disable"
find /var/lib/apache2 -type f \( $(printf -- '-name %s -o ' "${TOUCHED[@]}") -false \) | sort >"$tmp/markers"

# --- undo, whatever happened ------------------------------------------------
teardown() {
  local pid
  if [ -z "$was_running" ] && pid=$(apache_pid); then
    check "Apache stopped (service apache2 stop)" service apache2 stop &&
      { wait_for 60 sh -c "! kill -0 $pid 2>/dev/null" || nok "Apache (pid $pid) gone after stop"; }
  fi
  if [ -e "/etc/apache2/sites-enabled/$SITE.conf" ] || [ -e "/etc/apache2/sites-available/$SITE.conf" ]; then
    check "a2dissite $SITE and the site removed" \
      sh -c "a2dissite -q -p $SITE && rm -f /etc/apache2/sites-available/$SITE.conf"
  fi
  if mod_enabled pingone_consent; then
    check "a2dismod pingone_consent" a2dismod -q pingone_consent
  fi
  if [ -s "$tmp/mods-to-disable" ]; then  # what a2enmod pulled in or we needed
    local m mods=()
    while read -r m; do mod_enabled "$m" && mods=("$m" "${mods[@]}"); done <"$tmp/mods-to-disable"
    [ ${#mods[@]} -eq 0 ] || check "a2dismod the modules this run enabled (${mods[*]})" \
      a2dismod -q -p "${mods[@]}"
  fi
  if [ -n "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -v not-installed)" ]; then
    check "dpkg --purge $PKG" dpkg_locked --purge "$PKG"
  fi
  restore_markers
  if [ -n "$was_running" ]; then
    check "Apache reloaded back to its own configuration (service apache2 reload)" \
      sh -c 'apache2ctl configtest && service apache2 reload' &&
      { [ -z "$port" ] || wait_for 60 sh -c "! ss -ltnH | grep -q '127.0.0.1:$port '" ||
        nok "the test site's port $port closed after the reload"; }
  fi
  [ -z "$sim_pid" ] || { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; }
  # apache2ctl (even configtest) creates the run and lock directories; drop
  # those that were not there if empty (anything left inside is a leak that
  # verify reports).
  local d
  for d in "$APACHE_RUN_DIR/socks" "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"; do
    grep -qx "d $d" "$tmp/before/run" || rmdir "$d" 2>/dev/null
  done
  # Log files Apache created during this run (existing ones only grew).
  comm -13 <(grep '^f ' "$tmp/before/logs") \
           <(find "$APACHE_LOG_DIR" -printf '%y %p\n' 2>/dev/null | sort | grep '^f ') |
    cut -d' ' -f2- | while read -r f; do echo "# removing $f (created by this run)"; rm -f "$f"; done
}

# a2dismod -p and dpkg --purge drop the state markers in /var/lib/apache2;
# put back those that were there and drop directories this run created.
restore_markers() {
  local f
  while read -r f; do [ -e "$f" ] || { mkdir -p "$(dirname "$f")"; touch "$f"; }; done <"$tmp/markers"
  find /var/lib/apache2 -type f \( $(printf -- '-name %s -o ' "${TOUCHED[@]}") -false \) | sort |
    comm -13 "$tmp/markers" - | xargs -r rm -f
  comm -13 <(grep '^d ' "$tmp/before/state" | cut -d' ' -f3-) \
           <(find /var/lib/apache2 -type d | sort) | sort -r | xargs -r rmdir --ignore-fail-on-non-empty
}

# --- then check that nothing is left -----------------------------------------
same() {  # description file
  if diff -u "$tmp/before/$2" "$tmp/after/$2" >"$tmp/diff"; then ok "$1"
  else nok "$1"; diag "$tmp/diff"; fi
}
verify() {
  snapshot "$tmp/after"
  check "$PKG is not installed, no config files kept" \
    sh -c "! dpkg-query -W -f='\${Status}\n' $PKG 2>/dev/null | grep -v not-installed | grep ."
  if [ -s "$tmp/paths" ]; then
    local left; left=$(while read -r e p; do
      [ "$e" = absent ] && [ -e "$p" ] && echo "$p"; done <"$tmp/paths")
    if [ -z "$left" ]; then ok "none of the package's $(wc -l <"$tmp/paths") paths is left"
    else nok "none of the package's paths is left"; echo "$left" | diag; fi
  fi
  same "/etc/apache2 as before ($(wc -l <"$tmp/before/etc") entries and checksums)" etc
  same "/var/lib/apache2 (a2enmod/a2ensite state) as before" state
  same "the same $(wc -l <"$tmp/before/mods") modules enabled as before" mods
  same "Apache as before ($(head -1 "$tmp/before/apache"), same listeners)" apache
  same "$APACHE_RUN_DIR and $APACHE_LOCK_DIR as before (no shm, mutex or pid file left)" run
  same "$APACHE_LOG_DIR holds the same files as before" logs
}

finish() {  # exit status of the run so far
  [ "$teardown_done" = 1 ] && return "$1"
  teardown_done=1
  [ "$1" -eq 0 ] || [ "$failed" -gt 0 ] || nok "the run stopped early (exit $1)"
  echo "# --- cleaning up"
  teardown
  echo "# --- leftovers"
  verify
  echo "1..$n"
  [ "$failed" -eq 0 ] || echo "# $failed of $n failed; error logs: see above"
  rm -rf "$tmp"
  [ "$failed" -eq 0 ]
}
trap 'finish $?; exit $?' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM HUP

# --- build and install ---------------------------------------------------------
if [ "${PC_TEST_DEB_NOBUILD:-0}" != 1 ]; then
  # Unit tests and lintian have their own stages (make test, make deb).
  check "make deb builds the package" \
    env PC_DEB_QUIET=1 PC_DEB_LINTIAN=0 DEB_BUILD_OPTIONS="nocheck parallel=2" bash tools/build-deb.sh ||
    abort "no package"
fi
deb=$(ls build/${PKG}_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { nok "a package in build/"; abort "no package"; }
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's,^\./,/,; s,/$,,' | grep -v '^/$' |
  while read -r p; do if [ -e "$p" ]; then echo "present $p"; else echo "absent $p"; fi; done >"$tmp/paths"

check "dpkg -i $deb" dpkg_locked -i "$deb" || abort "not installed"
check "it ships the module, .load, .conf, the example and the README" sh -c "
  test -f /usr/lib/apache2/modules/mod_pingone_consent.so &&
  test -f /etc/apache2/mods-available/pingone_consent.conf &&
  grep -qx '# Depends: authz_core' /etc/apache2/mods-available/pingone_consent.load &&
  grep -q '^LoadModule pingone_consent_module /usr/lib/apache2/modules/mod_pingone_consent.so' \
    /etc/apache2/mods-available/pingone_consent.load &&
  test -f /usr/share/doc/$PKG/examples/pingone_consent.conf &&
  test -f /usr/share/doc/$PKG/README.md.gz"
check "a2enmod pingone_consent" a2enmod pingone_consent
check "pingone_consent and its dependency authz_core are enabled" sh -c "
  test -L /etc/apache2/mods-enabled/pingone_consent.load &&
  test -L /etc/apache2/mods-enabled/pingone_consent.conf &&
  test -L /etc/apache2/mods-enabled/authz_core.load"
check "apache2ctl configtest with the package's files and nothing gated" apache2ctl configtest ||
  abort "the package's configuration does not load"

# --- a site that gates /app against the simulator -------------------------------
for m in "${NEEDED_MODS[@]}"; do
  mod_enabled "$m" || a2enmod -q "$m" || nok "a2enmod $m"
done
setsid python3 t/sim/pingone-sim --port 0 --port-file "$tmp/sim.port" --pid-file "$tmp/sim.pid" \
  --seed t/sim/seed.json --log "$tmp/sim.log" </dev/null >"$tmp/sim.out" 2>&1 &
sim_pid=$!
wait_for 60 test -s "$tmp/sim.port" || { nok "the PingOne simulator starts"; diag "$tmp/sim.out"; abort "no simulator"; }
sim=$(cat "$tmp/sim.port")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "Hello from behind the consent check." >"$tmp/htdocs/app/index.html"
echo "Not gated." >"$tmp/htdocs/open/index.html"
cp t/conf/htpasswd "$tmp/htpasswd"
printf 's3cr3t-worker-secret\n' >"$tmp/worker.secret"
chmod 644 "$tmp/htpasswd" "$tmp"/htdocs/*/index.html
chmod 600 "$tmp/worker.secret"
cat >"/etc/apache2/sites-available/$SITE.conf" <<CONF
# Written by $top/tools/test-deb.sh (make test-deb); removed when it ends.
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName $SITE.localhost
    DocumentRoot $tmp/htdocs
    ErrorLog $tmp/error.log
    LogLevel info pingone_consent:debug
    CustomLog $tmp/access.log "%h %u \"%r\" %>s consent=%{pingone-consent}n"

    PingOneEnvironmentID abcdef01-2345-4678-9abc-def012345678
    PingOneAPIBaseURL http://127.0.0.1:$sim/v1
    PingOneAuthBaseURL http://127.0.0.1:$sim
    PingOneClientID c0ffee00-1111-4222-8333-444455556666
    PingOneClientSecret file:$tmp/worker.secret

    <Directory $tmp/htdocs>
        Require all granted
    </Directory>
    <Location /app>
        AuthType Basic
        AuthName "test-deb"
        AuthBasicProvider file
        AuthUserFile $tmp/htpasswd
        Require valid-user
        PingOneConsent On
        PingOneConsentApplication a0000000-0000-4000-8000-000000000001
        PingOneConsentScopes openid profile
    </Location>
</VirtualHost>
CONF
check "a2ensite $SITE (127.0.0.1:$port, simulator on $sim)" a2ensite -q "$SITE"
check "apache2ctl configtest with the gated site" apache2ctl configtest || abort "bad site"

# --- Apache, the Debian way ------------------------------------------------------
if [ -z "$was_running" ]; then
  check "service apache2 start" service apache2 start || { diag "$APACHE_LOG_DIR/error.log"; abort "no Apache"; }
else
  check "service apache2 reload (Apache was running, pid $was_running)" service apache2 reload || abort "no reload"
fi
wait_for 60 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/open/index.html)\" = 200 ]" ||
  { nok "the site answers on 127.0.0.1:$port"; diag "$tmp/error.log"; abort "site down"; }

base="http://127.0.0.1:$port"
out=$(curl -s --max-time 30 -u "$ALICE:pw" -w '%{http_code}' "$base/app/index.html")
[ "$out" = $'Hello from behind the consent check.\n200' ] && ok "allowed: alice (ACCEPTED consent) gets 200 and the page" ||
  { nok "allowed: alice (ACCEPTED consent) gets 200 and the page, not: $out"; diag "$tmp/error.log"; }
code=$(http_code -u "$BOB:pw" "$base/app/index.html")
[ "$code" = 403 ] && ok "denied: bob (consent REVOKED) gets 403" ||
  { nok "denied: bob (consent REVOKED) gets 403, not $code"; diag "$tmp/error.log"; }
code=$(http_code -u "$BOB:pw" "$base/open/index.html")
[ "$code" = 200 ] && ok "outside the <Location> nothing is gated: bob gets 200 at /open/index.html" ||
  nok "outside the <Location> nothing is gated: bob gets 200 at /open/index.html, not $code"
check "the decisions are logged (allow for alice, deny:revoked for bob)" wait_for 30 sh -c "
  grep -q '$ALICE \"GET /app/index.html HTTP/1.1\" 200 consent=allow' $tmp/access.log &&
  grep -q '$BOB \"GET /app/index.html HTTP/1.1\" 403 consent=deny:revoked' $tmp/access.log" ||
  diag "$tmp/access.log"
# The EXIT trap (finish) stops or reloads Apache, disables, purges and checks.

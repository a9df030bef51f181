# mod_pingone_consent - build, test and try-out targets.
#
#   make run     build, start the PingOne simulator and a local httpd, print curls
#   make stop    stop what `make run` started
#   make test    the whole suite: C unit tests, fuzz corpora, simulator
#                self-test, docs checks (make test-docs),
#                Apache::Test under the prefork, worker and event MPMs
#   make         build build/mod_pingone_consent.so
#   make install copy the module into Apache's module directory (root)
#   make deb     build/libapache2-mod-pingone-consent_<version>_<arch>.deb
#                (debian/, dh_apache2), checked with lintian
#   make test-deb  install that package on this machine's apache2, gate a
#                site against the simulator, remove it, check no trace (root)
#   make test-demo run `make run` on free ports and every command it prints
#
# Run as root on Debian 12, `make run` and `make test` first install the
# Debian packages they need (see DEB_PACKAGES).

APXS      ?= /usr/bin/apxs
HTTPD     ?= /usr/sbin/apache2
CC        ?= gcc
PKGS      := apr-1 apr-util-1 libcurl json-c hiredis libcrypto
BUILD     := build

DEB_PACKAGES := apache2 apache2-dev libapr1-dev libaprutil1-dev \
                libcurl4-openssl-dev libjson-c-dev libapache2-mod-perl2 \
                libwww-perl python3 make gcc pkg-config curl redis-server memcached \
                openssl libhiredis-dev libssl-dev redis-sentinel

CORE_SRC  := src/pc_json.c src/pc_consent.c src/pc_decide.c src/pc_text.c \
             src/pc_url.c src/pc_parse.c src/pc_client.c \
             src/pc_lookup.c src/pc_stats.c src/pc_table.c src/pc_budget.c \
             src/pc_json_slim.c src/pc_activity.c \
             src/pc_cache.c src/pc_webhook.c src/pc_prom.c \
             src/pc_curl.c src/pc_rurl.c src/pc_redis.c src/pc_hmac.c \
             src/pc_farm.c
GLUE_SRC  := mod_pingone_consent.c $(wildcard apache/pc_*.c)
HEADERS   := $(wildcard src/*.h apache/*.h)
UNIT_SRC  := $(wildcard t/unit/test_*.c)
# The JSON and PingOne reader tests run twice: once more with json-c fed
# 7 bytes at a time (PC_JSON_FEED_MAX), the path bodies over 1 GiB take.
UNIT_FED  := test_json test_consent
UNIT_BIN  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC)) \
             $(patsubst %,$(BUILD)/unit/%_fed7,$(UNIT_FED))

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-unused-parameter
# pkg-config/apxs are only asked when a compile needs them, so `make deps`
# works on a machine that has none of the -dev packages yet.
# rediss:// needs hiredis >= 1.0 built with TLS (pkg-config hiredis_ssl);
# without it (Debian 12: hiredis 0.14) the URL parser refuses rediss://
# and says why.
HIREDIS_SSL = $(shell pkg-config --exists hiredis_ssl && echo hiredis_ssl libssl)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(HIREDIS_SSL)) \
             $(if $(HIREDIS_SSL),-DPC_HAVE_HIREDIS_SSL)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) $(HIREDIS_SSL))
APXS_INC   = $(shell $(APXS) -q INCLUDEDIR)
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden \
             -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
             $(PKG_CFLAGS) -I$(APXS_INC) -Isrc -Iapache
UNIT_CFLAGS = -std=c11 $(WARN) -O1 -g -fsanitize=address,undefined \
             -fno-omit-frame-pointer -fno-sanitize-recover=all \
             $(PKG_CFLAGS) -Isrc

MODULE    := $(BUILD)/mod_pingone_consent.so

.PHONY: all deps install deb test-deb test-demo test unit test-unit test-sim test-docs test-httpd run stop \
        clean configtest bench fuzz test-fuzz test-asan test-valgrind soak

all: $(MODULE)

# --- Debian packages (only as root, only what is missing) ---------------
deps:
	@bash tools/deps.sh $(DEB_PACKAGES)

# --- the module ----------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(MODULE): $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRC) $(GLUE_SRC)) tools/module.map
	$(CC) -shared -Wl,--version-script=tools/module.map -Wl,-z,relro,-z,now \
	  $(LDFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

$(BUILD):
	@mkdir -p $(BUILD)

install: $(MODULE)
	install -m 644 $(MODULE) $(shell $(APXS) -q LIBEXECDIR)/

# --- the Debian package ----------------------------------------------------
# Built from a copy of the tree (dpkg-buildpackage writes to the parent
# directory); as root the build dependencies in debian/control are installed.
deb:
	@bash tools/build-deb.sh

# Root on Debian only (a TAP skip otherwise): installs, uses and purges the
# package on the machine's own apache2 and checks it left no trace.
test-deb:
	@[ "$$(id -u)" -ne 0 ] || bash tools/deps.sh apache2 curl iproute2 python3
	prove -v --exec bash tools/test-deb.sh

# --- tests ---------------------------------------------------------------
# The core is compiled once with the sanitizers into a static library that
# every unit test and fuzz replay links (not once per test program).
UNIT_OBJ  := $(patsubst %.c,$(BUILD)/unit-obj/%.o,$(CORE_SRC))
UNIT_LIB  := $(BUILD)/unit-obj/libpc.a

$(BUILD)/unit-obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -c $< -o $@

$(UNIT_LIB): $(UNIT_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: t/unit/%.c $(UNIT_LIB) $(HEADERS) t/unit/tap.h t/unit/redis_harness.h
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $< $(UNIT_LIB) $(PKG_LIBS) -o $@

# The table's test widens the window of a half-done write (see pc_table.c):
# its own pc_table, linked before the library's.
$(BUILD)/unit/test_table: t/unit/test_table.c src/pc_table.c $(UNIT_LIB) $(HEADERS) t/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPC_TABLE_TEST_WINDOW $< src/pc_table.c $(UNIT_LIB) $(PKG_LIBS) -o $@

$(BUILD)/unit/%_fed7: t/unit/%.c src/pc_json.c $(UNIT_LIB) $(HEADERS) t/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPC_JSON_FEED_MAX=7 $< src/pc_json.c $(UNIT_LIB) $(PKG_LIBS) -o $@

# pc_rcall.c is Apache glue with no httpd code behind it (socache types
# only): unit-tested against a fake provider.
$(BUILD)/unit/test_rcall: t/unit/test_rcall.c apache/pc_rcall.c apache/pc_rcall.h t/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -I$(APXS_INC) -Iapache $< apache/pc_rcall.c $(PKG_LIBS) -o $@

unit: $(UNIT_BIN)

test-unit: $(UNIT_BIN)
	prove --exec '' $(UNIT_BIN)

# --- fuzzing -------------------------------------------------------------
# Every parser of outside input has a libFuzzer target (fuzz/fuzz_targets.c,
# one build per PC_FUZZ_<NAME>).  `make fuzz` runs each for FUZZ_SECONDS
# with clang; `make test` replays the corpora under ASan + UBSan with gcc.
FUZZ_TARGETS := consent token job webhook cache directives hmac activity farm
FUZZ_SECONDS ?= 60
FUZZ_REPLAY  := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_TARGETS))

$(BUILD)/fuzz/replay_%: fuzz/fuzz_targets.c fuzz/replay.c $(UNIT_LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Wno-missing-prototypes -DPC_FUZZ_$(shell echo $* | tr a-z A-Z) \
	  fuzz/fuzz_targets.c fuzz/replay.c $(UNIT_LIB) $(PKG_LIBS) -o $@

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_targets.c $(CORE_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
	  -DPC_FUZZ_$(shell echo $* | tr a-z A-Z) $(PKG_CFLAGS) -Isrc \
	  fuzz/fuzz_targets.c $(CORE_SRC) $(PKG_LIBS) -o $@

# The whole Apache::Test suite against a module built with ASan + UBSan
# (event MPM), then the cache tests again on Redis, through the module's
# own client and through mod_socache_redis (remote-cache paths: seals,
# tombstones, the farm, the local tier and its subscriber); fails on any
# sanitizer report.
test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all
	@rm -rf /tmp/pc-asan-reports; mkdir -p /tmp/pc-asan-reports; chmod 1777 /tmp/pc-asan-reports
	PC_BUILD_DIR=build-asan HTTPD=$(CURDIR)/tools/asan-httpd.sh PC_REMOTE_CACHES="redis-url redis" \
	  PC_ASAN_LOG=/tmp/pc-asan-reports/asan bash t/run-httpd-tests.sh event
	@if ls /tmp/pc-asan-reports/asan.* >/dev/null 2>&1; then \
	  echo "sanitizer reports:"; cat /tmp/pc-asan-reports/asan.* | head -50; exit 1; \
	else echo "no sanitizer report"; fi

# httpd -X under valgrind memcheck over the request-path tests; fails on any
# memcheck error or definite leak.
VALGRIND_TESTS := t/01_allow_deny.t t/02_require.t t/03_redirect.t t/04_users.t \
                  t/06_upstream_errors.t t/11_paging.t t/12_openidc.t t/30_webhook_admin.t
test-valgrind: all
	@bash tools/deps.sh valgrind
	@rm -rf /tmp/pc-vg; mkdir -p /tmp/pc-vg; chmod 1777 /tmp/pc-vg
	HTTPD=$(CURDIR)/tools/valgrind-httpd.sh PC_VG_LOG=/tmp/pc-vg/vg PC_REMOTE_CACHES=none \
	  PC_TEST_ARGS=-one-process PC_TEST_FILES="$(VALGRIND_TESTS)" \
	  bash t/run-httpd-tests.sh prefork
	@grep -h -E "ERROR SUMMARY|definitely lost" /tmp/pc-vg/vg.*
	@! grep -q -E "ERROR SUMMARY: [1-9]|definitely lost: [1-9]" /tmp/pc-vg/vg.*

test-fuzz: $(FUZZ_REPLAY)
	prove --exec bash t/fuzz-replay.sh

fuzz: deps
	@bash tools/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/work/$$t; \
	  echo "### fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -artifact_prefix=$(BUILD)/fuzz/work/$$t- $(BUILD)/fuzz/work/$$t fuzz/corpus/$$t \
	    > $(BUILD)/fuzz/work/$$t.log 2>&1; rc=$$?; tail -n 3 $(BUILD)/fuzz/work/$$t.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz $$t failed (exit $$rc): see $(BUILD)/fuzz/work/$$t.log"; exit 1; }; \
	done; echo "new interesting inputs are in $(BUILD)/fuzz/work/<target>; crashes as $(BUILD)/fuzz/work/<target>-crash-*"

test-sim:
	python3 t/sim/test_sim.py

# `make run` on free loopback ports; every command its walk-through prints
# is run in order and checked, then `make stop` (about 15 s).
test-demo: $(MODULE)
	prove --exec python3 t/demo_walkthrough.py

# The docs against the code (directives, contexts, log tags, links; one TAP
# test per check), then the checker's own self-test.  Formats it relies on:
# docs/development.md#documentation-checks.
test-docs:
	@rc=0; prove --exec python3 tools/check-docs.py :: --tap || rc=1; \
	  python3 t/test_check_docs.py || rc=1; exit $$rc

test-httpd: $(MODULE)
	bash t/run-httpd-tests.sh $(MPMS)

# Each stage prints its own TAP/prove summary; t/run-all.sh adds one line
# for the whole run and fails if any stage failed.
# Test-only: mod_auth_openidc in front of the module (t/12_openidc.t).
# promtool and a Prometheus server check the metrics (t/50_metrics.t).
TEST_PACKAGES := libapache2-mod-auth-openidc prometheus
test: deps
	@bash tools/deps.sh $(TEST_PACKAGES)
	@$(MAKE) --no-print-directory all unit
	@bash t/run-all.sh

# --- try it --------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	@bash tools/run.sh start

stop:
	@bash tools/run.sh stop

# Benchmarks (not part of `make test`; about an hour): overhead vs.
# ungated and mod_oauth2, the user sweep, the cache's overflow curve,
# cold-miss latency, instructions per request, memory per child, revoke
# latency through the activity feed, a farm on Redis (FARM_BENCH_ARGS); one
# Markdown summary in bench/results/bench-<date>.md.  BENCH_ARGS: parts to
# run (e.g. "sweep miss"); BENCH_SCALE=quick: everything small.
BENCH_PACKAGES := wrk libapache2-mod-oauth2 gnuplot-nox apache2-utils valgrind iproute2 \
                  redis-server redis-sentinel
bench: deps
	@bash tools/deps.sh $(BENCH_PACKAGES)
	@$(MAKE) --no-print-directory all
	@bash bench/make-bench.sh $(BENCH_ARGS)

# Load with PingOne faults (not part of `make test`): SOAK_SECONDS, default 120.
SOAK_SECONDS ?= 120
soak: deps
	@bash tools/deps.sh wrk
	@$(MAKE) --no-print-directory all
	@bash bench/soak.sh $(SOAK_SECONDS) 64

configtest: $(MODULE)
	@bash tools/run.sh configtest

clean:
	rm -rf $(BUILD) build-asan

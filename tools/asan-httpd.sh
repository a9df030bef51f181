#!/usr/bin/env bash
# apache2 with the ASan and UBSan runtimes preloaded, for a module built
# with -fsanitize=address,undefined (make test-asan).  Reports go to
# $PC_ASAN_LOG.<pid>; leaks are not checked here (httpd frees pools at exit
# in an order LeakSanitizer misreads; valgrind is the leak check).
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:log_path=${PC_ASAN_LOG:-/tmp/pc-asan}:abort_on_error=0:handle_segv=1"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=${PC_ASAN_LOG:-/tmp/pc-asan}"
exec "${HTTPD_REAL:-/usr/sbin/apache2}" "$@"

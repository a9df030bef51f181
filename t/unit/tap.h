/*
 * tap.h - a minimal Test Anything Protocol emitter for the C unit tests.
 * Each test program prints "1..N" at the end (done_testing) and exits
 * non-zero when any check failed, so `prove` reports it.
 */
#ifndef PC_TAP_H
#define PC_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static int tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static int tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   Failed at %s line %d\n", file, line);
    }
    return pass;
}

/* String equality; NULL equals only NULL. */
#define is_str(got, want, ...)                                               \
    do {                                                                     \
        const char *g_ = (got), *w_ = (want);                                \
        int p_ = (g_ == NULL || w_ == NULL) ? g_ == w_ : strcmp(g_, w_) == 0; \
        if (!ok(p_, __VA_ARGS__))                                            \
            printf("#   got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)", \
                   w_ ? w_ : "(null)");                                      \
    } while (0)

#define is_int(got, want, ...)                                               \
    do {                                                                     \
        long long g_ = (long long)(got), w_ = (long long)(want);             \
        if (!ok(g_ == w_, __VA_ARGS__))                                      \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_);           \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif

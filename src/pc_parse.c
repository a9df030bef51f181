/*
 * pc_parse.c - configuration and protocol values.
 */
#include "pc_parse.h"
#include "pc_rurl.h"
#include "pc_text.h"

#include <apr_date.h>
#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *pc_parse_base_url(apr_pool_t *p, const char *arg,
                              const char **out)
{
    const char *host, *c;
    apr_size_t n;
    char *url;

    if (strncasecmp(arg, "https://", 8) == 0)
        host = arg + 8;
    else if (strncasecmp(arg, "http://", 7) == 0)
        host = arg + 7;
    else
        return apr_psprintf(p, "'%s' is not an http(s):// URL",
                            pc_log_safe(p, arg, 200));
    if (*host == '\0' || *host == '/' || *host == ':')
        return apr_psprintf(p, "'%s' has no host", pc_log_safe(p, arg, 200));
    for (c = arg; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u >= 0x7f)
            return "URL contains whitespace, control or non-ASCII characters";
        if (*c == '?' || *c == '#')
            return "URL must not contain a query or fragment";
    }
    c = strchr(host, '/');
    if (memchr(host, '@', c ? (apr_size_t)(c - host) : strlen(host)))
        return "URL must not contain user information (user@host)";
    url = apr_pstrdup(p, arg);
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    *out = url;
    return NULL;
}

static int parse_ms(const char *s, int *out)
{
    return pc_decimal(s, 1, 600000, out);
}

const char *pc_parse_timeout(apr_pool_t *p, const char *total_arg,
                             const char *connect_arg, int *total_ms,
                             int *connect_ms)
{
    int t, c;

    if (parse_ms(total_arg, &t))
        return apr_psprintf(p, "total timeout '%s' must be 1..600000 ms",
                            pc_log_safe(p, total_arg, 40));
    if (connect_arg == NULL) {
        c = t < 1000 ? t : 1000;
    }
    else if (parse_ms(connect_arg, &c)) {
        return apr_psprintf(p, "connect timeout '%s' must be 1..600000 ms",
                            pc_log_safe(p, connect_arg, 40));
    }
    if (c > t)
        return "connect timeout must not exceed the total timeout";
    *total_ms = t;
    *connect_ms = c;
    return NULL;
}

/* Secrets go into an Authorization header or a form body: printable only. */
static int secret_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    }
    return 1;
}

const char *pc_parse_secret(apr_pool_t *p, const char *arg,
                            const char **secret)
{
    if (strncmp(arg, "file:", 5) == 0) {
        const char *path = arg + 5;
        apr_file_t *f;
        apr_status_t rv;
        char buf[4096];
        apr_size_t n = sizeof(buf) - 1;
        char *nl;

        rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            char err[120];
            return apr_psprintf(p, "cannot read secret file '%s': %s",
                                pc_log_safe(p, path, 200),
                                apr_strerror(rv, err, sizeof(err)));
        }
        rv = apr_file_read(f, buf, &n);
        apr_file_close(f);
        if (rv != APR_SUCCESS && rv != APR_EOF)
            return apr_psprintf(p, "cannot read secret file '%s'",
                                pc_log_safe(p, path, 200));
        buf[rv == APR_EOF ? 0 : n] = '\0';
        if ((nl = strpbrk(buf, "\r\n")) != NULL)
            *nl = '\0';
        if (!secret_ok(buf))
            return apr_psprintf(p, "secret file '%s' is empty or its first "
                                "line holds control characters",
                                pc_log_safe(p, path, 200));
        *secret = apr_pstrdup(p, buf);
        return NULL;
    }
    if (strncmp(arg, "env:", 4) == 0) {
        char *val = NULL;
        if (apr_env_get(&val, arg + 4, p) != APR_SUCCESS || val == NULL)
            return apr_psprintf(p, "environment variable '%s' is not set",
                                pc_log_safe(p, arg + 4, 100));
        if (!secret_ok(val))
            return apr_psprintf(p, "environment variable '%s' is empty or "
                                "holds control characters",
                                pc_log_safe(p, arg + 4, 100));
        *secret = val;
        return NULL;
    }
    if (!secret_ok(arg))
        return "the secret is empty or holds control characters";
    *secret = arg;
    return NULL;
}

const char *pc_parse_user_from(apr_pool_t *p, const char *arg,
                               const char **env_name)
{
    const char *c;

    if (strcasecmp(arg, "REMOTE_USER") == 0) {
        *env_name = NULL;
        return NULL;
    }
    if (strncasecmp(arg, "env:", 4) != 0 || arg[4] == '\0')
        return apr_psprintf(p, "'%s' must be REMOTE_USER or env:NAME",
                            pc_log_safe(p, arg, 100));
    for (c = arg + 4; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-' && *c != '.')
            return apr_psprintf(p, "'%s' is not a valid variable name",
                                pc_log_safe(p, arg + 4, 100));
    }
    *env_name = arg + 4;
    return NULL;
}

const char *pc_check_scope(apr_pool_t *p, const char *scope)
{
    apr_size_t n = strlen(scope);

    if (n == 0 || n > 128)
        return "a scope must be 1..128 characters";
    if (!pc_scope_token_ok(scope))
        return apr_psprintf(p, "'%s' is not a valid OAuth scope",
                            pc_log_safe(p, scope, 130));
    return NULL;
}

const char *pc_parse_cache_spec(apr_pool_t *p, const char *arg,
                                pc_cache_spec_t *out)
{
    const char *c;

    memset(out, 0, sizeof(*out));
    if (strstr(arg, "://") != NULL) {
        pc_rurl_t *u;
        const char *err = pc_rurl_parse(p, arg, &u);
        if (err != NULL)
            return err;
        out->redis = u;
        return NULL;
    }
    if (*arg == '\0' || *arg == ':')
        return "expects <provider>[:<args>], e.g. shmcb, "
               "redis:127.0.0.1:6379 or memcache:host:port";
    for (c = arg; *c && *c != ':'; c++) {
        if (!apr_isalnum(*c) && *c != '_')
            return "the provider name must be alphanumeric "
                   "(shmcb, redis, memcache, ...)";
    }
    out->provider = apr_pstrmemdup(p, arg, (apr_size_t)(c - arg));
    out->args = *c == ':' ? apr_pstrdup(p, c + 1) : NULL;
    return NULL;
}

/* --- protocol values ------------------------------------------------------ */

int pc_retry_after_seconds(const char *value, long long now_usec, int dflt)
{
    long long secs = dflt;

    if (value && *value) {
        if (apr_isdigit(*value)) {
            char *end;
            long long v;
            errno = 0;
            v = strtoll(value, &end, 10);
            if (!errno && !*end)
                secs = v;
        }
        else {
            apr_time_t t = apr_date_parse_http(value);
            if (t != APR_DATE_BAD)
                secs = (t - now_usec + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
        }
    }
    if (secs < 1)
        secs = 1;
    if (secs > 3600)
        secs = 3600;
    return (int)secs;
}


/* n decimal digits at s.  Stops at the first non-digit, so it never reads
 * past a terminating NUL. */
static int read_digits(const char *s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30,
                                            31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Gregorian leap years in 1..y. */
static apr_int64_t leaps_through(apr_int64_t y)
{
    return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d (y >= 1970, date already validated). */
static apr_int64_t days_since_epoch(int y, int m, int d)
{
    static const short before[12] = {0,   31,  59,  90,  120, 151,
                                     181, 212, 243, 273, 304, 334};

    return 365 * (apr_int64_t)(y - 1970) + leaps_through(y - 1) -
           leaps_through(1969) + before[m - 1] + (m > 2 && is_leap(y)) +
           (d - 1);
}

apr_status_t pc_parse_timestamp(apr_time_t *out, const char *s)
{
    int year, mon, day, hour, min, sec, ndig = 0;
    apr_int64_t usec = 0, secs, offset = 0;
    const char *z;

    /* Short-circuit order matters: each separator is read only after the
     * digits before it were seen, so a short string stops at its NUL. */
    if (s == NULL || !read_digits(s, 4, &year) || s[4] != '-' ||
        !read_digits(s + 5, 2, &mon) || s[7] != '-' ||
        !read_digits(s + 8, 2, &day) || s[10] != 'T' ||
        !read_digits(s + 11, 2, &hour) || s[13] != ':' ||
        !read_digits(s + 14, 2, &min) || s[16] != ':' ||
        !read_digits(s + 17, 2, &sec))
        return APR_EINVAL;
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
        return APR_EINVAL;

    z = s + 19;
    if (*z == '.') {
        /* Up to nanoseconds; digits beyond microseconds are dropped. */
        for (z++; *z >= '0' && *z <= '9'; z++, ndig++) {
            if (ndig >= 9)
                return APR_EINVAL;
            if (ndig < 6)
                usec = usec * 10 + (*z - '0');
        }
        if (ndig == 0)
            return APR_EINVAL;
        for (; ndig < 6; ndig++)
            usec *= 10;
    }
    if (z[0] == 'Z' && z[1] == '\0') {
        offset = 0;
    }
    else if (z[0] == '+' || z[0] == '-') {
        int oh, om;

        if (!read_digits(z + 1, 2, &oh) || z[3] != ':' ||
            !read_digits(z + 4, 2, &om) || z[6] != '\0' || oh > 23 ||
            om > 59)
            return APR_EINVAL;
        offset = (apr_int64_t)(oh * 60 + om) * 60;
        if (z[0] == '-')
            offset = -offset;
    }
    else {
        return APR_EINVAL;
    }

    /* A leap second (:60) counts as the first second of the next minute. */
    secs = days_since_epoch(year, mon, day) * 86400 + hour * 3600 + min * 60 +
           sec - offset;
    if (secs < 0)
        return APR_EINVAL; /* e.g. 1970-01-01T00:00:00+01:00 */
    *out = (apr_time_t)(secs * APR_USEC_PER_SEC + usec);
    return APR_SUCCESS;
}


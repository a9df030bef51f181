/* Unit tests: pc_parse (directive values, cache spec, Retry-After,
 * timestamps). */
#include "pc_parse.h"
#include "pc_rurl.h"
#include "tap.h"

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

static apr_pool_t *p;

/* 2022-08-23T22:23:34.624Z in microseconds since the epoch. */
#define T_EXAMPLE 1661293414624000LL

static void test_directives(void)
{
    const char *out, *err, *secret, *env;
    int t, c;
    char *path;
    apr_file_t *f;

    ok(pc_parse_base_url(p, "https://api.pingone.com/v1/", &out) == NULL, "https URL");
    is_str(out, "https://api.pingone.com/v1", "trailing slash removed");
    ok(pc_parse_base_url(p, "http://127.0.0.1:8091", &out) == NULL, "http URL with port");
    ok(pc_parse_base_url(p, "ftp://x", &out) != NULL, "ftp refused");
    ok(pc_parse_base_url(p, "https://", &out) != NULL, "no host refused");
    ok(pc_parse_base_url(p, "https:///x", &out) != NULL, "empty host refused");
    ok(pc_parse_base_url(p, "https://a/b?c", &out) != NULL, "query refused");
    ok(pc_parse_base_url(p, "https://a/b#c", &out) != NULL, "fragment refused");
    ok(pc_parse_base_url(p, "https://u:p@a/b", &out) != NULL, "userinfo refused");
    ok(pc_parse_base_url(p, "https://a/b c", &out) != NULL, "space refused");
    ok(pc_parse_base_url(p, "https://a/b@c", &out) == NULL, "@ in the path is fine");

    ok(pc_parse_timeout(p, "3000", NULL, &t, &c) == NULL, "timeout total only");
    ok(t == 3000 && c == 1000, "connect defaults to 1000");
    ok(pc_parse_timeout(p, "500", NULL, &t, &c) == NULL && c == 500, "connect capped by total");
    ok(pc_parse_timeout(p, "2000", "300", &t, &c) == NULL && t == 2000 && c == 300, "both given");
    ok(pc_parse_timeout(p, "0", NULL, &t, &c) != NULL, "0 refused");
    ok(pc_parse_timeout(p, "-5", NULL, &t, &c) != NULL, "negative refused");
    ok(pc_parse_timeout(p, "10s", NULL, &t, &c) != NULL, "unit suffix refused");
    ok(pc_parse_timeout(p, "600001", NULL, &t, &c) != NULL, "over 600000 refused");
    ok(pc_parse_timeout(p, "99999999999999999999", NULL, &t, &c) != NULL, "overflow refused");
    ok(pc_parse_timeout(p, "1000", "2000", &t, &c) != NULL, "connect over total refused");

    ok(pc_parse_secret(p, "plain-secret", &secret) == NULL, "inline secret");
    is_str(secret, "plain-secret", "inline secret value");
    ok(pc_parse_secret(p, "", &secret) != NULL, "empty secret refused");
    apr_env_set("PC_UNIT_SECRET", "from-env", p);
    ok(pc_parse_secret(p, "env:PC_UNIT_SECRET", &secret) == NULL, "env secret");
    is_str(secret, "from-env", "env secret value");
    err = pc_parse_secret(p, "env:PC_UNIT_NOT_SET", &secret);
    ok(err && strstr(err, "PC_UNIT_NOT_SET"), "unset env names the variable");
    path = apr_pstrdup(p, "/tmp/pc_unit_secretXXXXXX");
    apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    apr_file_puts("file-secret\r\nsecond line\n", f);
    apr_file_close(f);
    ok(pc_parse_secret(p, apr_pstrcat(p, "file:", path, NULL), &secret) == NULL, "file secret");
    is_str(secret, "file-secret", "file secret: first line, CR LF stripped");
    apr_file_remove(path, p);
    err = pc_parse_secret(p, "file:/nonexistent/x", &secret);
    ok(err && strstr(err, "cannot read secret file") && strstr(err, "/nonexistent/x"), "missing file named");
    ok(pc_parse_secret(p, "a\tb", &secret) != NULL, "control chars refused");

    ok(pc_parse_user_from(p, "REMOTE_USER", &env) == NULL && env == NULL, "REMOTE_USER");
    ok(pc_parse_user_from(p, "env:OIDC_CLAIM_sub", &env) == NULL, "env:NAME");
    is_str(env, "OIDC_CLAIM_sub", "env name");
    ok(pc_parse_user_from(p, "env:", &env) != NULL, "env: without name refused");
    ok(pc_parse_user_from(p, "env:A B", &env) != NULL, "bad env name refused");
    ok(pc_parse_user_from(p, "HTTP_X_USER", &env) != NULL, "other value refused");

    ok(pc_check_scope(p, "openid") == NULL, "scope openid");
    ok(pc_check_scope(p, "p1:read/all") == NULL, "scope with : and /");
    ok(pc_check_scope(p, "a b") != NULL, "scope with space refused");
    ok(pc_check_scope(p, "a\"b") != NULL, "scope with quote refused");
    ok(pc_check_scope(p, "a\\b") != NULL, "scope with backslash refused");
    ok(pc_check_scope(p, "") != NULL, "empty scope refused");
    ok(pc_check_scope(p, "\xc3\xa9") != NULL, "non-ASCII scope refused");
}

static void test_cache_spec(void)
{
    static const char *const usage =
        "expects <provider>[:<args>], e.g. shmcb, redis:127.0.0.1:6379 or "
        "memcache:host:port";
    static const char *const alnum =
        "the provider name must be alphanumeric (shmcb, redis, memcache, ...)";
    static const struct { const char *arg, *provider, *args; } good[] = {
        {"shmcb", "shmcb", NULL},
        {"shmcb:/var/run/pc(1024000)", "shmcb", "/var/run/pc(1024000)"},
        {"redis:127.0.0.1:6379", "redis", "127.0.0.1:6379"},
        {"memcache:host:port", "memcache", "host:port"},
        {"shmcb:", "shmcb", ""},
        {"my_cache2:a b", "my_cache2", "a b"},
    };
    static const struct { const char *arg; const char *const *want; } bad[] = {
        {"", &usage}, {":6379", &usage}, {"red is", &alnum},
        {"redis-x:1", &alnum}, {"../x", &alnum}, {"shm\xc3\xa9", &alnum},
        {"a\n:b", &alnum},
    };
    pc_cache_spec_t cs;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&cs, 0, sizeof(cs));
        ok(pc_parse_cache_spec(p, good[i].arg, &cs) == NULL, "cache spec '%s'",
           good[i].arg);
        is_str(cs.provider, good[i].provider, "  provider");
        is_str(cs.args, good[i].args, "  args");
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_str(pc_parse_cache_spec(p, bad[i].arg, &cs), *bad[i].want,
               "cache spec refused: '%s'", bad[i].arg);

    /* Redis URLs: the module's own client, not a socache provider. */
    ok(pc_parse_cache_spec(p, "redis://127.0.0.1:6380/2", &cs) == NULL &&
           cs.redis != NULL && cs.provider == NULL && cs.redis->db == 2,
       "redis:// is a Redis URL (db 2), no provider");
    ok(pc_parse_cache_spec(p, "REDIS-SENTINEL://a:1,b/mymaster", &cs) == NULL &&
           cs.redis != NULL && cs.redis->sentinel &&
           strcmp(cs.redis->master, "mymaster") == 0,
       "redis-sentinel:// (scheme in any case)");
    ok(pc_parse_cache_spec(p, "redis:127.0.0.1:6379", &cs) == NULL &&
           cs.redis == NULL && strcmp(cs.provider, "redis") == 0,
       "redis:host:port stays mod_socache_redis");
    ok(pc_parse_cache_spec(p, "redis://u:pw@h", &cs) != NULL,
       "a URL the Redis parser refuses is refused (credentials)");
    ok(pc_parse_cache_spec(p, "memcache://h:11211", &cs) != NULL,
       "another scheme is refused");
    if (!pc_rurl_tls_available())
        ok(strstr(pc_parse_cache_spec(p, "rediss://h", &cs), "stunnel") != NULL,
           "rediss:// without hiredis_ssl: refused, naming stunnel");
}
static void test_retry_after(void)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char date[APR_RFC822_DATE_LEN];

    is_int(pc_retry_after_seconds("7", now, 5), 7, "delta seconds");
    is_int(pc_retry_after_seconds(NULL, now, 5), 5, "absent -> default");
    is_int(pc_retry_after_seconds("soon", now, 5), 5, "garbage -> default");
    is_int(pc_retry_after_seconds("0", now, 5), 1, "0 -> at least 1");
    is_int(pc_retry_after_seconds("999999", now, 5), 3600, "clamped to 3600");
    is_int(pc_retry_after_seconds("99999999999999999999999", now, 5), 5, "overflow -> default");
    apr_rfc822_date(date, now + apr_time_from_sec(30));
    is_int(pc_retry_after_seconds(date, now, 5), 30, "HTTP date 30 s ahead");
    apr_rfc822_date(date, now - apr_time_from_sec(30));
    is_int(pc_retry_after_seconds(date, now, 5), 1, "HTTP date in the past -> 1");
}

static void ts_ok(const char *s, long long want)
{
    apr_time_t t = -1;
    apr_status_t rv = pc_parse_timestamp(&t, s);

    ok(rv == APR_SUCCESS, "timestamp accepted: %s", s);
    is_int(t, want, "  value of %s", s);
}

static void ts_bad(const char *s, const char *what)
{
    apr_time_t t = 0;

    ok(pc_parse_timestamp(&t, s) == APR_EINVAL, "timestamp refused: %s (%s)",
       s ? s : "NULL", what);
}

static void test_timestamps(void)
{
    ts_ok("2022-08-23T22:23:34.624Z", T_EXAMPLE);
    ts_ok("2022-08-23T22:23:34Z", 1661293414000000LL);
    ts_ok("1970-01-01T00:00:00Z", 0);
    ts_ok("1970-01-01T00:00:00.000001Z", 1);
    ts_ok("2000-03-01T00:00:00Z", 951868800000000LL);
    ts_ok("1972-03-01T00:00:00Z", 68256000000000LL);
    ts_ok("2038-01-19T03:14:08Z", 2147483648000000LL);
    ts_ok("2100-03-01T00:00:00Z", 4107542400000000LL);
    ts_ok("9999-12-31T23:59:59Z", 253402300799000000LL);

    /* leap days */
    ts_ok("2024-02-29T12:00:00Z", 1709208000000000LL);
    ts_ok("2000-02-29T00:00:00Z", 951782400000000LL);
    ts_bad("2023-02-29T00:00:00Z", "2023 is no leap year");
    ts_bad("2100-02-29T00:00:00Z", "2100 is no leap year");
    ts_bad("2024-02-30T00:00:00Z", "no 30 February");
    ts_bad("2023-02-30T00:00:00Z", "no 30 February");
    ts_bad("2023-04-31T00:00:00Z", "April has 30 days");
    ts_bad("2023-12-32T00:00:00Z", "day 32");
    ts_bad("2023-01-00T00:00:00Z", "day 0");
    ts_bad("2023-00-10T00:00:00Z", "month 0");
    ts_bad("2023-13-01T00:00:00Z", "month 13");

    /* times of day; :60 is a leap second, the next minute's first second */
    ts_ok("2016-12-31T23:59:60Z", 1483228800000000LL);
    ts_bad("2022-08-23T25:00:00Z", "hour 25");
    ts_bad("2022-08-23T24:00:00Z", "hour 24");
    ts_bad("2022-08-23T22:60:00Z", "minute 60");
    ts_bad("2022-08-23T22:23:61Z", "second 61");

    /* fractions: up to 9 digits, truncated to microseconds */
    ts_ok("2022-08-23T22:23:34.1Z", 1661293414100000LL);
    ts_ok("2022-08-23T22:23:34.123456Z", 1661293414123456LL);
    ts_ok("2022-08-23T22:23:34.123456789Z", 1661293414123456LL);
    ts_ok("2022-08-23T22:23:34.999999999Z", 1661293414999999LL);
    ts_bad("2022-08-23T22:23:34.1234567890Z", "10 fraction digits");
    ts_bad("2022-08-23T22:23:34.Z", "empty fraction");
    ts_bad("2022-08-23T22:23:34,5Z", "comma fraction");

    /* offsets */
    ts_ok("2022-08-24T00:23:34.624+02:00", T_EXAMPLE);
    ts_ok("2022-08-23T17:23:34.624-05:00", T_EXAMPLE);
    ts_ok("2022-08-23T22:23:34.624+00:00", T_EXAMPLE);
    ts_ok("2022-08-23T22:23:34.624-00:00", T_EXAMPLE);
    ts_ok("2022-08-24T03:53:34.624+05:30", T_EXAMPLE);
    ts_ok("2022-08-23T22:23:34.624123456+00:00", T_EXAMPLE + 123);
    ts_bad("2022-08-23T22:23:34+0200", "offset without colon");
    ts_bad("2022-08-23T22:23:34+2:00", "one-digit offset hour");
    ts_bad("2022-08-23T22:23:34+02:60", "offset minute 60");
    ts_bad("2022-08-23T22:23:34+24:00", "offset hour 24");
    ts_bad("2022-08-23T22:23:34+02:00Z", "offset then Z");
    ts_bad("2022-08-23T22:23:34+02", "offset without minutes");
    ts_bad("1970-01-01T00:00:00+01:00", "before the epoch");

    /* shape */
    ts_bad("2022-08-23T22:23:34", "missing Z");
    ts_bad("2022-08-23T22:23:34.624", "fraction, missing Z");
    ts_bad("2022-08-23T22:23:34z", "lower-case z");
    ts_bad("2022-08-23t22:23:34Z", "lower-case t");
    ts_bad("2022-08-23 22:23:34Z", "space for T");
    ts_bad("2022-08-23T22:23:34Zx", "trailing character");
    ts_bad("2022-08-23T22:23:34Z ", "trailing space");
    ts_bad(" 2022-08-23T22:23:34Z", "leading space");
    ts_bad("2022-8-23T22:23:34Z", "one-digit month");
    ts_bad("+2022-08-23T22:23:34Z", "signed year");
    ts_bad("12022-08-23T22:23:34Z", "five-digit year");
    ts_bad("1969-12-31T23:59:59Z", "year 1969");
    ts_bad("0000-01-01T00:00:00Z", "year 0");
    ts_bad("2022-08-23", "date only");
    ts_bad("2022-08-23T22:23", "no seconds");
    ts_bad("2022", "year only");
    ts_bad("", "empty");
    ts_bad(NULL, "NULL");
    ts_bad("1661293414", "epoch number");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_directives();
    test_cache_spec();
    test_retry_after();
    test_timestamps();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

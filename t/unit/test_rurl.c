/* Unit tests: the Redis cache URL parser (pc_rurl). */
#include "pc_rurl.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

static const pc_rurl_host_t *host(const pc_rurl_t *u, int i)
{
    return &APR_ARRAY_IDX(u->hosts, i, pc_rurl_host_t);
}

/* Parses, and the canonical form is `canon`. */
static void good(const char *url, const char *canon)
{
    pc_rurl_t *u = NULL;
    const char *err = pc_rurl_parse(p, url, &u);
    if (!ok(err == NULL, "accepted: %s", url)) {
        printf("#   error: %s\n", err);
        return;
    }
    is_str(pc_rurl_unparse(p, u), canon, "canonical form of %s", url);
}

/* Refused, and the message contains `want`. */
static void bad(const char *url, const char *want)
{
    pc_rurl_t *u = NULL;
    const char *err = pc_rurl_parse(p, url, &u);
    ok(err != NULL && strstr(err, want) != NULL, "refused: %s", url);
    if (err == NULL || strstr(err, want) == NULL)
        printf("#   error: %s\n#   wanted: %s\n", err ? err : "(none)", want);
}

static void test_redis(void)
{
    pc_rurl_t *u = NULL;

    ok(pc_rurl_parse(p, "redis://cache.example.com:6380/3", &u) == NULL,
       "host, port and db");
    ok(u && !u->sentinel && !u->tls && u->hosts->nelts == 1 &&
           strcmp(host(u, 0)->host, "cache.example.com") == 0 &&
           host(u, 0)->port == 6380 && u->db == 3 && u->master == NULL,
       "fields set");
    good("redis://cache", "redis://cache:6379/0");
    good("REDIS://cache:1/", "redis://cache:1/0");
    good("redis://127.0.0.1:65535/15", "redis://127.0.0.1:65535/15");
    good("redis://[::1]:7000/2", "redis://[::1]:7000/2");
    good("redis://[2001:db8::42]", "redis://[2001:db8::42]:6379/0");
    good("redis://a-b.c-d.example:10/2147483647",
         "redis://a-b.c-d.example:10/2147483647");
    good("redis://x1/0", "redis://x1:6379/0");

    bad("redis://", "no host");
    bad("redis:///0", "no host");
    bad("http://cache:6379", "not a Redis URL");
    bad("cache:6379", "not a Redis URL");
    bad("redis://cache:0", "port '0'");
    bad("redis://cache:65536", "1..65535");
    bad("redis://cache:", "port ''");
    bad("redis://cache:12ab", "port '12ab'");
    bad("redis://cache:-1", "1..65535");
    bad("redis://cache/2147483648", "0..2147483647");
    bad("redis://cache/-1", "database '-1'");
    bad("redis://cache/1/2", "database '1/2'");
    bad("redis://cache/db0", "database 'db0'");
    bad("redis://user:secret@cache:6379", "PingOneConsentCacheAuth");
    bad("redis://:secret@cache", "no credentials");
    bad("redis://cache?db=1", "no query");
    bad("redis://cache#x", "no query");
    bad("redis://ca che", "whitespace");
    bad("redis://cache\n", "control");
    bad("redis://cache_1", "not a host name");
    bad("redis://-cache", "not a host name");
    bad("redis://cache-.example", "not a host name");
    bad("redis://a..b", "not a host name");
    bad("redis://1.2.3", "not an IPv4 address");
    bad("redis://1.2.3.256", "not an IPv4 address");
    bad("redis://host.123", "not a host name");
    bad("redis://[::1", "without ']'");
    bad("redis://[::g]", "not an IPv6 address");
    bad("redis://[::1]x", "after ']'");
    bad("redis://::1", "needs brackets");
    bad("redis://:6379", "host is missing");
    bad("redis://a,b", "one host");
}

static void test_long_label(void)
{
    char label[70], url[400];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(url, sizeof(url), "redis://%s.example", label);
    bad(url, "not a host name");
    label[63] = '\0';
    snprintf(url, sizeof(url), "redis://%s.example", label);
    good(url, apr_psprintf(p, "redis://%s.example:6379/0", label));
}

static void test_sentinel(void)
{
    pc_rurl_t *u = NULL;

    ok(pc_rurl_parse(p, "redis-sentinel://s1:26380,10.0.0.2,[::1]:5/mymaster/4",
                     &u) == NULL,
       "three sentinels, master, db");
    ok(u && u->sentinel && u->hosts->nelts == 3 && host(u, 0)->port == 26380 &&
           host(u, 1)->port == 26379 && strcmp(host(u, 2)->host, "::1") == 0 &&
           host(u, 2)->port == 5 && strcmp(u->master, "mymaster") == 0 &&
           u->db == 4,
       "sentinel fields set (default port 26379)");
    good("redis-sentinel://s1/m", "redis-sentinel://s1:26379/m/0");
    good("Redis-Sentinel://s1:1,s2:2/prod.cache:a_b-1",
         "redis-sentinel://s1:1,s2:2/prod.cache:a_b-1/0");
    bad("redis-sentinel://s1:26379", "master name");
    bad("redis-sentinel://s1:26379/", "master name");
    bad("redis-sentinel://s1/m/x", "database 'x'");
    bad("redis-sentinel://s1/m a", "whitespace");
    bad("redis-sentinel://s1/m$", "master name 'm$'");
    bad("redis-sentinel://s1,,s2/m", "empty host");
    bad("redis-sentinel://,s1/m", "empty host");
    bad("redis-sentinel://s1,/m", "empty host");
    bad("redis-sentinel://s1,s2:0/m", "1..65535");
    bad("redis-sentinel://s1,a@b/m", "no credentials");
    bad("redis-sentinel://1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17/m",
        "not an IPv4");
    bad("redis-sentinel://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/m",
        "more than 16 sentinels");
    {
        char m[200], url[300];
        memset(m, 'm', 129);
        m[129] = '\0';
        snprintf(url, sizeof(url), "redis-sentinel://s/%s", m);
        bad(url, "1..128");
    }
}

static void test_tls(void)
{
    pc_rurl_t *u = NULL;
    const char *err = pc_rurl_parse(p, "rediss://cache:6380", &u);

    if (pc_rurl_tls_available()) {
        ok(err == NULL && u->tls, "rediss:// accepted (hiredis_ssl)");
        ok(pc_rurl_parse(p, "rediss-sentinel://s/m", &u) == NULL && u->tls &&
               u->sentinel,
           "rediss-sentinel:// accepted");
    }
    else {
        ok(err != NULL && strstr(err, "hiredis >= 1.0") != NULL &&
               strstr(err, "hiredis_ssl") != NULL &&
               strstr(err, "stunnel") != NULL,
           "rediss:// refused, saying why and naming the alternative");
        ok(pc_rurl_parse(p, "rediss-sentinel://s/m", &u) != NULL,
           "rediss-sentinel:// refused too");
    }
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_redis();
    test_long_label();
    test_sentinel();
    test_tls();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

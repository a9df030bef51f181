/*
 * Unit tests: pc_redis through Redis Sentinel, against real processes this
 * test starts on free loopback ports: a master, a replica and three
 * sentinels (quorum 2), all with passwords.  Two failovers: one asked of
 * the sentinels (SENTINEL FAILOVER: the old master becomes a replica), one
 * forced by killing the master.  After each, the client must find the new
 * master by itself, and the subscriber must notice.
 */
#include "pc_redis.h"
#include "redis_harness.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

#define PW "s3cret-master-pw"
#define SPW "s3cret-sentinel-pw"
#define MASTER "pcmaster"

static apr_pool_t *p;
static int ports[2], idx[2], sports[3];

#define K(s) (s), (sizeof(s) - 1)

static pc_redis_t *client(const char *url, const char *spw)
{
    pc_rurl_t *u;
    pc_redis_conf_t c;
    pc_redis_t *r = NULL;
    const char *err = pc_rurl_parse(p, url, &u);

    if (err != NULL) {
        printf("# url: %s\n", err);
        return NULL;
    }
    memset(&c, 0, sizeof(c));
    c.url = u;
    c.password = PW;
    c.sentinel_password = spw;
    c.connect_timeout_ms = 1000;
    c.command_timeout_ms = 1000;
    c.backoff_ms = 200;
    c.ping_ms = 300;
    if (pc_redis_create(&r, &c, p) != APR_SUCCESS)
        return NULL;
    return r;
}

static const char *errmsg(pc_redis_t *r)
{
    const char *m;
    pc_redis_last_error(r, &m);
    return m;
}

static int klass(pc_redis_t *r)
{
    return pc_redis_last_error(r, NULL);
}

/* The master port the first sentinel reports, or -1. */
static int reported_master(int sport)
{
    redisReply *r = h_cmd(sport, SPW, "SENTINEL get-master-addr-by-name %s", MASTER);
    int port = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        port = atoi(r->element[1]->str);
    if (r)
        freeReplyObject(r);
    return port;
}

static int array_len(redisReply *r)
{
    int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* Every sentinel knows the replica and the two other sentinels. */
static int sentinels_ready(void)
{
    int i;
    for (i = 0; i < 3; i++) {
        if (array_len(h_cmd(sports[i], SPW, "SENTINEL REPLICAS %s", MASTER)) < 1 ||
            array_len(h_cmd(sports[i], SPW, "SENTINEL SENTINELS %s", MASTER)) < 2)
            return 0;
    }
    return 1;
}

static const char *port_str(int port)
{
    return apr_psprintf(p, "127.0.0.1:%d", port);
}

/* Keep writing until a write succeeds (the client finds the master). */
static int write_until_ok(pc_redis_t *r, const char *key, int max_ms)
{
    long long end = h_now_ms() + max_ms;
    while (h_now_ms() < end) {
        if (pc_redis_set(r, key, strlen(key), K("v"), 60000) == APR_SUCCESS)
            return 1;
        printf("#   (%s)\n", errmsg(r));
        h_sleep_ms(200);
    }
    return 0;
}

/* Read until a message with `want` arrives, subscribing again whenever
 * the subscription is lost; publishes `want` through `pub` meanwhile. */
static int resubscribe_and_receive(pc_redis_t *s, pc_redis_t *pub,
                                   const char *want, int max_ms)
{
    long long end = h_now_ms() + max_ms;
    int subscribed = 0;
    pc_redis_msg_t m;

    while (h_now_ms() < end) {
        apr_status_t rv;
        if (!subscribed) {
            subscribed = pc_redis_subscribe(s, "pc:purge") == APR_SUCCESS;
            if (!subscribed) {
                h_sleep_ms(200);
                continue;
            }
        }
        pc_redis_publish(pub, NULL, "pc:purge", want, strlen(want));
        rv = pc_redis_read_message(s, &m, 300, p);
        if (rv == APR_SUCCESS && m.len == strlen(want) &&
            memcmp(m.data, want, m.len) == 0)
            return 1;
        if (rv == APR_EOF)
            subscribed = 0;
    }
    return 0;
}

static void test_setup_errors(int dead)
{
    pc_redis_t *r;

    r = client(apr_psprintf(p, "redis-sentinel://127.0.0.1:%d/%s", sports[0], MASTER),
               "wrong-sentinel-pw");
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_AUTH &&
           strstr(errmsg(r), "sentinel") && !strstr(errmsg(r), "wrong-sentinel-pw"),
       "wrong sentinel password: AUTH, says sentinel (%s)", errmsg(r));
    r = client(apr_psprintf(p, "redis-sentinel://127.0.0.1:%d/nosuchmaster", sports[0]),
               SPW);
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_SENTINEL &&
           strstr(errmsg(r), "names no master 'nosuchmaster'"),
       "unknown master name: SENTINEL (%s)", errmsg(r));
    r = client(apr_psprintf(p, "redis-sentinel://127.0.0.1:%d/%s", dead, MASTER), SPW);
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_SENTINEL &&
           strstr(errmsg(r), "Connection refused"),
       "no sentinel reachable: SENTINEL (%s)", errmsg(r));
}

int main(void)
{
    pc_redis_t *r, *s, *r2;
    pc_redis_msg_t m;
    long long t0;
    int dead, i, switched = 0;
    apr_status_t rv;
    const char *url;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (h_init(150) != 0 || access("/usr/bin/redis-sentinel", X_OK) != 0) {
        printf("1..0 # SKIP redis-server or redis-sentinel not installed\n");
        return 0;
    }
    t0 = h_now_ms();
    ports[0] = h_free_port();
    idx[0] = h_redis(ports[0], PW, 0, NULL);
    ports[1] = h_free_port();
    idx[1] = h_redis(ports[1], PW, ports[0], NULL);
    ok(idx[0] >= 0 && idx[1] >= 0, "master %d and replica %d started", ports[0],
       ports[1]);
    ok(H_WAIT(20000, h_link_up(ports[1], PW)), "replica linked");
    for (i = 0; i < 3; i++) {
        sports[i] = h_free_port();
        ok(h_sentinel(sports[i], MASTER, ports[0], PW, SPW) >= 0,
           "sentinel %d on port %d", i + 1, sports[i]);
    }
    if (!ok(H_WAIT(30000, sentinels_ready()),
            "sentinels know the replica and each other"))
        return done_testing();
    printf("# set-up took %lld ms\n", h_now_ms() - t0);

    dead = h_free_port();
    test_setup_errors(dead);

    /* A dead sentinel first in the list, then the three; database 2. */
    url = apr_psprintf(p, "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d,"
                          "127.0.0.1:%d,127.0.0.1:%d/%s/2",
                       dead, sports[0], sports[1], sports[2], MASTER);
    r = client(url, SPW);
    s = client(url, SPW);
    r2 = client(url, SPW);
    ok(pc_redis_set(r, K("pc:k"), K("v"), 60000) == APR_SUCCESS,
       "SET through Sentinel (first sentinel dead)");
    is_str(pc_redis_server(r, p), port_str(ports[0]), "connected to the master");
    ok(h_reply_has(h_cmd(ports[0], PW, "EVAL %s 0",
                         "redis.call('SELECT', 2) return redis.call('GET', 'pc:k')"),
                   "v"),
       "written to db 2 of the master");
    ok(pc_redis_subscribe(s, "pc:purge") == APR_SUCCESS,
       "subscriber through Sentinel (also to +switch-master)");
    ok(pc_redis_publish(r, NULL, "pc:purge", K("m1")) == APR_SUCCESS &&
           pc_redis_read_message(s, &m, 5000, p) == APR_SUCCESS && m.len == 2,
       "message delivered");
    ok(pc_redis_ping(r2) == APR_SUCCESS, "a second client, idle from now on");
    {
        /* 2 s idle = 6 PING rounds on the master and the sentinel. */
        long long t1 = h_now_ms();
        int lost = 0;
        while (h_now_ms() - t1 < 2000)
            lost |= pc_redis_read_message(s, &m, 100, p) == APR_EOF;
        ok(!lost, "idle subscriber stays up (master and sentinel answer PING)");
    }

    /* Failover 1: asked of the sentinels; the master becomes a replica. */
    t0 = h_now_ms();
    ok(H_WAIT(20000, h_reply_has(h_cmd(sports[0], SPW, "SENTINEL FAILOVER %s",
                                       MASTER),
                                 "OK")),
       "SENTINEL FAILOVER accepted");
    ok(H_WAIT(30000, reported_master(sports[0]) == ports[1]),
       "sentinels report the replica as master");
    rv = APR_TIMEUP;
    while (rv != APR_EOF && h_now_ms() - t0 < 30000) {
        rv = pc_redis_read_message(s, &m, 200, p);
        if (rv == APR_EOF)
            switched = klass(s) == PC_REDIS_E_SWITCHED;
    }
    is_int(rv, APR_EOF, "subscriber: subscription ended by the failover");
    ok(switched, "... because of +switch-master (%s)", errmsg(s));
    /* What the glue does on PC_REDIS_E_SWITCHED: bump the generation that
     * every client is given before its commands. */
    pc_redis_master_generation(r, 1);
    pc_redis_master_generation(r2, 1);
    ok(write_until_ok(r, "pc:after1", 30000), "writes resume after the failover");
    is_str(pc_redis_server(r, p), port_str(ports[1]), "on the new master");
    ok(write_until_ok(r2, "pc:after1b", 30000) &&
           strcmp(pc_redis_server(r2, p), port_str(ports[1])) == 0,
       "the idle client too finds the new master (never writes to the old)");
    ok(h_reply_has(h_cmd(ports[1], PW, "EVAL %s 0",
                         "redis.call('SELECT', 2) return redis.call('GET', 'pc:after1')"),
                   "v"),
       "the write is on the new master (not lost on the old one)");
    ok(resubscribe_and_receive(s, r, "m2", 30000),
       "subscriber re-subscribes at the new master");
    printf("# failover 1 (SENTINEL FAILOVER) handled in %lld ms\n", h_now_ms() - t0);

    /* Failover 2: the master dies; the old master is promoted back. */
    ok(H_WAIT(30000, h_link_up(ports[0], PW)), "old master now a linked replica");
    t0 = h_now_ms();
    h_kill(idx[1]);
    ok(write_until_ok(r, "pc:after2", 45000), "writes resume after the master died");
    pc_redis_master_generation(r, 2); /* told later: the connection is new */
    ok(pc_redis_ping(r) == APR_SUCCESS, "generation told after reconnecting");
    is_str(pc_redis_server(r, p), port_str(ports[0]), "on the promoted replica");
    ok(resubscribe_and_receive(s, r, "m3", 30000),
       "subscriber re-subscribes at the promoted replica");
    printf("# failover 2 (master killed) handled in %lld ms\n", h_now_ms() - t0);

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

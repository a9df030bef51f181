/*
 * Unit tests: the Redis client (pc_redis) against real servers this test
 * starts on free loopback ports: a master with requirepass and ACL users,
 * and a replica.  Sentinel: test_sentinel.c.
 */
#include "pc_redis.h"
#include "redis_harness.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;
static int mport, rport;
static int m_idx;

#define PW "s3cret-master-pw"
#define USER_PW "pcmod-pw-0123"

/* The least-privileged ACL user docs/redis.md recommends. */
static const char *const users[] = {
    "pcmod on >" USER_PW " ~pc:* &pc:* -@all +get +set +del +incr +publish "
    "+subscribe +ping +select +role +evalsha +eval +time +hmget +hset "
    "+pexpire",
    NULL};

static pc_redis_t *client_full(int port, int db, const char *user,
                               const char *pass, int cmd_ms, int backoff_ms)
{
    pc_rurl_t *u;
    pc_redis_conf_t c;
    pc_redis_t *r = NULL;
    const char *err =
        pc_rurl_parse(p, apr_psprintf(p, "redis://127.0.0.1:%d/%d", port, db), &u);

    if (err != NULL) {
        printf("# url: %s\n", err);
        return NULL;
    }
    memset(&c, 0, sizeof(c));
    c.url = u;
    c.user = user;
    c.password = pass;
    c.connect_timeout_ms = 2000;
    c.command_timeout_ms = cmd_ms;
    c.backoff_ms = backoff_ms;
    c.ping_ms = 300;
    if (pc_redis_create(&r, &c, p) != APR_SUCCESS)
        return NULL;
    return r;
}

static pc_redis_t *client(int port, const char *user, const char *pass)
{
    return client_full(port, 0, user, pass, 3000, 1000);
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

#define K(s) (s), (sizeof(s) - 1)

static void test_auth(void)
{
    pc_redis_t *r = client(mport, NULL, PW);
    const char *m;

    ok(pc_redis_ping(r) == APR_SUCCESS, "AUTH with the password, PING");
    is_int(pc_redis_connects(r), 1, "one connection");
    ok(pc_redis_server(r, p) && strcmp(pc_redis_server(r, p),
                                       apr_psprintf(p, "127.0.0.1:%d", mport)) == 0,
       "server named");

    r = client(mport, NULL, "wrong-password-xyz");
    ok(pc_redis_ping(r) == APR_EGENERAL, "wrong password fails");
    is_int(klass(r), PC_REDIS_E_AUTH, "classified AUTH");
    m = errmsg(r);
    ok(strstr(m, "AUTH failed") && strstr(m, "WRONGPASS") &&
           !strstr(m, "wrong-password-xyz"),
       "message says AUTH failed, without the password: %s", m);
    is_int(pc_redis_ping(r), APR_EGENERAL, "again at once");
    is_int(klass(r), PC_REDIS_E_BACKOFF, "backing off (no new connect)");
    ok(strstr(errmsg(r), "AUTH failed") != NULL,
       "back-off message carries the cause: %s", errmsg(r));

    r = client(mport, NULL, NULL);
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_AUTH &&
           strstr(errmsg(r), "NOAUTH"),
       "no password configured: NOAUTH classified AUTH (%s)", errmsg(r));

    r = client(mport, "pcmod", USER_PW);
    ok(pc_redis_set(r, K("pc:acl"), K("v"), 10000) == APR_SUCCESS,
       "ACL user: AUTH user pass, SET in its key space");
    {
        unsigned char *v;
        apr_size_t n;
        ok(pc_redis_get(r, &v, &n, K("other:key"), p) == APR_EGENERAL &&
               klass(r) == PC_REDIS_E_AUTH && strstr(errmsg(r), "NOPERM"),
           "ACL denies a key outside pc:*: classified AUTH (%s)", errmsg(r));
    }
    r = client(mport, "pcmod", "not-the-pw");
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_AUTH, "ACL user, wrong password");
    m = errmsg(r);
    ok(strstr(m, "ACL user 'pcmod'") && strstr(m, "WRONGPASS") &&
           !strstr(m, "not-the-pw"),
       "message names the user, not the password: %s", m);
    r = client(mport, "nosuchuser", USER_PW);
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_AUTH,
       "unknown ACL user: AUTH failed");
}

static void test_db(void)
{
    pc_redis_t *r3 = client_full(mport, 3, NULL, PW, 3000, 1000);
    pc_redis_t *r0 = client(mport, NULL, PW);
    unsigned char *v;
    apr_size_t n;

    ok(pc_redis_set(r3, K("pc:db"), K("three"), 10000) == APR_SUCCESS,
       "SET in db 3");
    ok(pc_redis_get(r3, &v, &n, K("pc:db"), p) == APR_SUCCESS &&
           n == 5 && memcmp(v, "three", 5) == 0,
       "GET in db 3");
    is_int(pc_redis_get(r0, &v, &n, K("pc:db"), p), APR_NOTFOUND,
           "not in db 0 (SELECT ran)");
    ok(h_reply_has(h_cmd(mport, PW, "EVAL %s 0", "redis.call('SELECT', 3) "
                                                "return redis.call('GET', 'pc:db')"),
                   "three"),
       "the server has it in db 3");
    r3 = client_full(mport, 99, NULL, PW, 3000, 1000);
    ok(pc_redis_ping(r3) == APR_EGENERAL && strstr(errmsg(r3), "SELECT") &&
           strstr(errmsg(r3), "out of range"),
       "db 99 (server has 16): SELECT error (%s)", errmsg(r3));
}

static void test_kv(void)
{
    pc_redis_t *r = client(mport, NULL, PW);
    static const char bin[] = "a\0b\r\n\xff";
    const void *keys[3] = {"pc:k1", "pc:k2", "pc:missing"};
    apr_size_t lens[3] = {5, 5, 10};
    unsigned char *v;
    apr_size_t n;
    apr_int64_t removed = -1;
    redisReply *ttl;

    ok(pc_redis_set(r, K("pc:k1"), bin, sizeof(bin) - 1, 60000) == APR_SUCCESS,
       "SET PX binary value");
    ok(pc_redis_get(r, &v, &n, K("pc:k1"), p) == APR_SUCCESS &&
           n == sizeof(bin) - 1 && memcmp(v, bin, n) == 0 && v[n] == '\0',
       "GET returns the bytes (NUL-terminated copy)");
    ttl = h_cmd(mport, PW, "PTTL pc:k1");
    ok(ttl && ttl->type == REDIS_REPLY_INTEGER && ttl->integer > 50000 &&
           ttl->integer <= 60000,
       "PX expiry set (%lld ms)", ttl ? ttl->integer : -1LL);
    if (ttl)
        freeReplyObject(ttl);
    ok(pc_redis_set(r, K("pc:k2"), K("2"), 60000) == APR_SUCCESS, "SET k2");
    ok(pc_redis_set(r, K("pc:k3"), K("x"), 0) == APR_EGENERAL &&
           klass(r) == PC_REDIS_E_USAGE,
       "SET without expiry refused");
    ok(pc_redis_del(r, &removed, 3, keys, lens) == APR_SUCCESS && removed == 2,
       "DEL of three keys, two existed");
    is_int(pc_redis_get(r, &v, &n, K("pc:k1"), p), APR_NOTFOUND, "gone");
    ok(pc_redis_del(r, NULL, 0, keys, lens) == APR_EGENERAL, "DEL of 0 keys refused");
    ok(pc_redis_set(r, K("pc:short"), K("v"), 1) == APR_SUCCESS &&
           H_WAIT(5000, pc_redis_get(r, &v, &n, K("pc:short"), p) == APR_NOTFOUND),
       "PX 1 ms: expires");
    is_int(pc_redis_connects(r), 1, "all on one connection");
}

static void test_lease_epoch(void)
{
    pc_redis_t *r = client(mport, NULL, PW);
    pc_redis_t *o = client(mport, NULL, PW);
    int released = -1;
    apr_int64_t e = -1;
    apr_uint64_t conns;

    ok(pc_redis_lease(r, K("pc:lease"), K("me"), 30000) == APR_SUCCESS, "lease taken");
    is_int(pc_redis_lease(o, K("pc:lease"), K("other"), 30000), APR_EEXIST,
           "second taker: held");
    ok(pc_redis_release(o, &released, K("pc:lease"), K("other")) == APR_SUCCESS &&
           released == 0,
       "release by a non-holder leaves it");
    ok(pc_redis_release(r, &released, K("pc:lease"), K("me")) == APR_SUCCESS &&
           released == 1,
       "holder releases");
    ok(pc_redis_lease(o, K("pc:lease"), K("other"), 30000) == APR_SUCCESS,
       "then another can take it");

    ok(pc_redis_hold(r, K("pc:hold"), K("me"), 30000) == APR_SUCCESS,
       "hold: a free lease is taken");
    is_int(pc_redis_hold(o, K("pc:hold"), K("other"), 30000), APR_EEXIST,
           "hold: another holder is refused");
    ok(h_int(mport, PW, "PEXPIRE pc:hold 500") == 1 &&
           pc_redis_hold(r, K("pc:hold"), K("me"), 30000) == APR_SUCCESS &&
           h_int(mport, PW, "PTTL pc:hold") > 20000,
       "hold: the holder extends its lease");
    ok(h_int(mport, PW, "PEXPIRE pc:hold 1") == 1 &&
           H_WAIT(2000, h_int(mport, PW, "EXISTS pc:hold") == 0) &&
           pc_redis_hold(o, K("pc:hold"), K("other"), 30000) == APR_SUCCESS,
       "hold: a lapsed lease goes to the next taker");
    is_int(pc_redis_hold(r, K("pc:hold"), K("me"), 0), APR_EGENERAL,
           "hold: a lease of 0 ms is a usage error");

    is_int(pc_redis_get_int(r, &e, K("pc:epoch")), APR_NOTFOUND, "no epoch yet");
    {
        apr_int64_t n = -1;
        ok(pc_redis_presence(r, &n, K("pc:subs"), "s1", 60000) == APR_SUCCESS &&
               n == 1,
           "presence: one member");
        ok(pc_redis_presence(o, &n, K("pc:subs"), "s2", 300) == APR_SUCCESS &&
               n == 2,
           "presence: two members");
        ok(pc_redis_presence(r, &n, K("pc:subs"), "s1", 60000) == APR_SUCCESS &&
               n == 2,
           "presence: a renewal counts once");
        ok(H_WAIT(3000, pc_redis_presence(r, &n, K("pc:subs"), NULL, 0) ==
                                APR_SUCCESS && n == 1),
           "presence: a member that is not renewed drops out");
        ok(pc_redis_presence(r, &n, K("pc:subs"), "s1", 0) == APR_SUCCESS &&
               n == 0,
           "presence: a member leaves");
        pc_redis_presence(r, &n, K("pc:subs"), "a", 60000);
        pc_redis_presence(r, &n, K("pc:subs"), "b", 60000);
        ok(pc_redis_missing(r, &n, "pc:acks", "pc:subs") == APR_SUCCESS && n == 2,
           "missing: nobody confirmed yet (2)");
        ok(pc_redis_sadd_px(o, "pc:acks", "a", 5000) == APR_SUCCESS &&
               pc_redis_sadd_px(o, "pc:acks", "a", 5000) == APR_SUCCESS &&
               pc_redis_sadd_px(o, "pc:acks", "zz", 5000) == APR_SUCCESS &&
               pc_redis_missing(r, &n, "pc:acks", "pc:subs") == APR_SUCCESS &&
               n == 1,
           "missing: a confirmed, twice; zz is not present; b is missing");
        ok(h_int(mport, PW, "PTTL pc:acks") > 1000, "the confirmations expire");
        ok(pc_redis_sadd_px(o, "pc:acks", "b", 5000) == APR_SUCCESS &&
               pc_redis_missing(r, &n, "pc:acks", "pc:subs") == APR_SUCCESS &&
               n == 0,
           "missing: none once b confirmed");
    }
    is_int(pc_redis_pexpire(r, K("pc:none"), 5000), APR_NOTFOUND,
           "PEXPIRE of an absent key: not found");
    ok(pc_redis_incr(r, &e, K("pc:ack:x")) == APR_SUCCESS &&
           pc_redis_pexpire(r, K("pc:ack:x"), 5000) == APR_SUCCESS &&
           h_int(mport, PW, "PTTL pc:ack:x") > 1000,
       "PEXPIRE sets an expiry");
    ok(pc_redis_incr(r, &e, K("pc:epoch")) == APR_SUCCESS && e == 1, "INCR -> 1");
    ok(pc_redis_incr(o, &e, K("pc:epoch")) == APR_SUCCESS && e == 2, "INCR -> 2");
    ok(pc_redis_get_int(r, &e, K("pc:epoch")) == APR_SUCCESS && e == 2, "GET epoch 2");
    pc_redis_set(r, K("pc:notint"), K("12x"), 10000);
    conns = pc_redis_connects(r);
    ok(pc_redis_get_int(r, &e, K("pc:notint")) == APR_EGENERAL &&
           klass(r) == PC_REDIS_E_REPLY,
       "a value that is no integer: REPLY error");
    ok(pc_redis_ping(r) == APR_SUCCESS && pc_redis_connects(r) == conns,
       "a REPLY error keeps the connection");
    pc_redis_set(r, K("pc:hash"), K("x"), 10000);
    ok(pc_redis_incr(r, &e, K("pc:notint")) == APR_EGENERAL &&
           klass(r) == PC_REDIS_E_REPLY && strstr(errmsg(r), "INCR"),
       "INCR of a non-integer: error reply (%s)", errmsg(r));
}

static void test_bucket(void)
{
    pc_redis_t *a = client(mport, "pcmod", USER_PW), *b = client(mport, NULL, PW);
    int allowed = -1, i, n_ok = 0;
    apr_int64_t wait = -1;
    redisReply *ttl;
    apr_status_t rv;

    for (i = 0; i < 3; i++) {
        if (pc_redis_bucket(i % 2 ? a : b, &allowed, &wait, K("pc:bucket:1"), 0.5,
                            3) == APR_SUCCESS &&
            allowed && wait == 0)
            n_ok++;
    }
    is_int(n_ok, 3, "burst 3: three calls allowed (two clients share it)");
    rv = pc_redis_bucket(a, &allowed, &wait, K("pc:bucket:1"), 0.5, 3);
    ok(rv == APR_SUCCESS && !allowed && wait > 0 && wait <= 2000,
       "fourth denied, wait %lld ms (<= 1/rate)", (long long)wait);
    ok(pc_redis_bucket(b, &allowed, &wait, K("pc:bucket:1"), 0.5, 3) ==
               APR_SUCCESS &&
           !allowed,
       "denied for the other client too: one farm-wide budget");
    ttl = h_cmd(mport, PW, "PTTL pc:bucket:1");
    ok(ttl && ttl->type == REDIS_REPLY_INTEGER && ttl->integer > 0 &&
           ttl->integer <= 7000,
       "bucket key expires (when it would be full: %lld ms)",
       ttl ? ttl->integer : -1LL);
    if (ttl)
        freeReplyObject(ttl);

    /* Refill: 20 per second, burst 1. */
    ok(pc_redis_bucket(a, &allowed, &wait, K("pc:bucket:2"), 20, 1) ==
               APR_SUCCESS && allowed,
       "fresh bucket allows");
    rv = pc_redis_bucket(a, &allowed, &wait, K("pc:bucket:2"), 20, 1);
    ok(rv == APR_SUCCESS && !allowed && wait > 0 && wait <= 50,
       "empty: wait <= 50 ms (%lld)", (long long)wait);
    h_sleep_ms((int)wait + 20);
    ok(pc_redis_bucket(a, &allowed, &wait, K("pc:bucket:2"), 20, 1) ==
               APR_SUCCESS && allowed,
       "after the wait it allows again");

    ok(h_reply_has(h_cmd(mport, PW, "SCRIPT FLUSH"), "OK"), "SCRIPT FLUSH");
    ok(pc_redis_bucket(b, &allowed, &wait, K("pc:bucket:3"), 5, 2) ==
               APR_SUCCESS && allowed,
       "after SCRIPT FLUSH: NOSCRIPT -> EVAL");
    ok(pc_redis_bucket(b, &allowed, &wait, K("pc:bucket:3"), 5, 2) ==
               APR_SUCCESS && allowed,
       "and EVALSHA works again");
    ok(pc_redis_bucket(b, &allowed, &wait, K("pc:bucket:3"), 0, 2) == APR_EGENERAL &&
           klass(b) == PC_REDIS_E_USAGE,
       "rate 0 refused");
    pc_redis_set(b, K("pc:bucket:4"), K("string"), 10000);
    ok(pc_redis_bucket(b, &allowed, &wait, K("pc:bucket:4"), 5, 2) == APR_EGENERAL &&
           klass(b) == PC_REDIS_E_REPLY,
       "bucket key of the wrong type: error, not a silent allow");
}

static void test_pubsub(void)
{
    pc_redis_t *s = client(mport, "pcmod", USER_PW), *pub = client(mport, NULL, PW);
    pc_redis_msg_t msg;
    apr_int64_t recv = -1;
    long long t0;
    apr_status_t rv;
    int i, lost = 0;

    ok(pc_redis_subscribe(s, "pc:purge") == APR_SUCCESS, "SUBSCRIBE");
    ok(pc_redis_ping(s) == APR_EGENERAL && klass(s) == PC_REDIS_E_USAGE,
       "no other command on a subscriber");
    ok(pc_redis_publish(pub, &recv, "pc:purge", "p1\0x", 4) == APR_SUCCESS &&
           recv == 1,
       "PUBLISH reaches one subscriber");
    memset(&msg, 0, sizeof(msg));
    ok(pc_redis_read_message(s, &msg, 5000, p) == APR_SUCCESS && msg.len == 4 &&
           memcmp(msg.data, "p1\0x", 4) == 0 &&
           strcmp(msg.channel, "pc:purge") == 0,
       "message delivered, binary-safe");

    t0 = h_now_ms();
    rv = pc_redis_read_message(s, &msg, 200, p);
    is_int(rv, APR_TIMEUP, "nothing: wakes up with APR_TIMEUP");
    ok(h_now_ms() - t0 < 3000, "... after about the wait asked for (%lld ms)",
       h_now_ms() - t0);

    /* Over 1.5 s (5 PING intervals) the subscription stays up. */
    for (t0 = h_now_ms(); h_now_ms() - t0 < 1500;) {
        if (pc_redis_read_message(s, &msg, 100, p) == APR_EOF)
            lost = 1;
    }
    ok(!lost, "idle subscription with PINGs stays up");

    /* Two messages in one burst are both delivered. */
    pc_redis_publish(pub, NULL, "pc:purge", "a", 1);
    pc_redis_publish(pub, NULL, "pc:purge", "b", 1);
    ok(pc_redis_read_message(s, &msg, 5000, p) == APR_SUCCESS && msg.data[0] == 'a' &&
           pc_redis_read_message(s, &msg, 5000, p) == APR_SUCCESS &&
           msg.data[0] == 'b',
       "two messages in a row, in order");

    /* CLIENT KILL of the subscriber: noticed, re-subscribed. */
    ok(h_int(mport, PW, "CLIENT KILL TYPE pubsub") == 1,
       "CLIENT KILL TYPE pubsub killed the subscriber");
    rv = APR_TIMEUP;
    for (i = 0; i < 50 && rv == APR_TIMEUP; i++)
        rv = pc_redis_read_message(s, &msg, 100, p);
    is_int(rv, APR_EOF, "subscription loss reported (APR_EOF)");
    is_int(klass(s), PC_REDIS_E_CONNECT, "... as a lost connection (%s)", errmsg(s));
    ok(H_WAIT(5000, pc_redis_subscribe(s, "pc:purge") == APR_SUCCESS),
       "re-subscribed (after the back-off)");
    pc_redis_publish(pub, NULL, "pc:purge", "again", 5);
    ok(pc_redis_read_message(s, &msg, 5000, p) == APR_SUCCESS && msg.len == 5,
       "messages flow again");

    /* A hung server (SIGSTOP): PING unanswered -> lost within ping +
     * command timeout, not never. */
    h_signal(m_idx, SIGSTOP);
    t0 = h_now_ms();
    rv = APR_TIMEUP;
    while (rv == APR_TIMEUP && h_now_ms() - t0 < 20000)
        rv = pc_redis_read_message(s, &msg, 100, p);
    is_int(rv, APR_EOF, "hung server: subscription reported lost");
    is_int(klass(s), PC_REDIS_E_TIMEOUT, "... as a timeout (%s)", errmsg(s));
    h_signal(m_idx, SIGCONT);
}

static void test_kill_and_timeouts(void)
{
    pc_redis_t *r = client_full(mport, 0, NULL, PW, 600, 300);
    long long t0;
    apr_status_t rv;

    ok(pc_redis_ping(r) == APR_SUCCESS, "connected");
    ok(h_int(mport, PW, "CLIENT KILL TYPE normal SKIPME yes") >= 1,
       "CLIENT KILL TYPE normal");
    ok(pc_redis_set(r, K("pc:after-kill"), K("v"), 10000) == APR_SUCCESS,
       "next command succeeds: dead idle connection replaced transparently");
    is_int(pc_redis_connects(r), 2, "... on a new connection");

    h_signal(m_idx, SIGSTOP);
    t0 = h_now_ms();
    rv = pc_redis_set(r, K("pc:stopped"), K("v"), 10000);
    ok(rv == APR_EGENERAL && klass(r) == PC_REDIS_E_TIMEOUT,
       "SIGSTOPped server: command fails as a timeout (%s)", errmsg(r));
    ok(h_now_ms() - t0 < 5000, "... within the command timeout, no hang (%lld ms)",
       h_now_ms() - t0);
    t0 = h_now_ms();
    ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_BACKOFF &&
           h_now_ms() - t0 < 100,
       "next call fails fast while backing off (%s)", errmsg(r));
    h_signal(m_idx, SIGCONT);
    ok(H_WAIT(10000, pc_redis_ping(r) == APR_SUCCESS),
       "server back: reconnects after the back-off");

    {
        int dead = h_free_port();
        pc_redis_t *d = client_full(dead, 0, NULL, PW, 600, 60000);
        ok(pc_redis_connect(d) == APR_EGENERAL && klass(d) == PC_REDIS_E_CONNECT &&
               strstr(errmsg(d), "cannot connect"),
           "nobody listening: CONNECT (%s)", errmsg(d));
        t0 = h_now_ms();
        ok(pc_redis_get_int(d, NULL, K("x")) == APR_EGENERAL &&
               klass(d) == PC_REDIS_E_BACKOFF && h_now_ms() - t0 < 100,
           "then BACKOFF without a connect attempt");
        pc_redis_disconnect(d);
    }
}

static void test_replica(void)
{
    pc_redis_t *r = client(rport, NULL, PW);
    unsigned char *v;
    apr_size_t n;

    ok(H_WAIT(10000, h_link_up(rport, PW)), "replica linked");
    ok(pc_redis_get(r, &v, &n, K("pc:nothing"), p) == APR_NOTFOUND,
       "replica answers reads");
    ok(pc_redis_set(r, K("pc:w"), K("v"), 10000) == APR_EGENERAL &&
           klass(r) == PC_REDIS_E_READONLY,
       "a write to a replica: READONLY (%s)", errmsg(r));
    is_int(h_int(rport, PW, "EXISTS pc:w"), 0, "nothing was written");
}

#ifdef PC_HAVE_HIREDIS_SSL
/* rediss:// (builds with hiredis_ssl only): a TLS port with a test CA;
 * the certificate must chain to the configured CA and name the host. */
static void test_tls(void)
{
    char cmd[2048], crt[128], key[128], ca[128], ca2[128];
    int tport = h_free_port(), idx;
    char ports[16];
    char *argv[] = {"/usr/bin/redis-server", "--port", "0", "--tls-port", ports,
                    "--bind", "127.0.0.1", "--tls-cert-file", crt,
                    "--tls-key-file", key, "--tls-ca-cert-file", ca,
                    "--tls-auth-clients", "no", "--requirepass", PW,
                    "--save", "", "--logfile", "", NULL};
    pc_rurl_t *u;
    pc_redis_conf_t c;
    pc_redis_t *r;
    const char *urls[] = {"rediss://127.0.0.1:%d", "rediss://localhost:%d"};
    int i;

    snprintf(ports, sizeof(ports), "%d", tport);
    snprintf(crt, sizeof(crt), "%s/srv.crt", h_dir);
    snprintf(key, sizeof(key), "%s/srv.key", h_dir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", h_dir);
    snprintf(ca2, sizeof(ca2), "%s/ca2.crt", h_dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=test-ca -keyout ca.key -out ca.crt 2>/dev/null && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=other-ca -keyout ca2.key -out ca2.crt 2>/dev/null && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
             "-keyout srv.key -out srv.csr 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key "
             "-CAcreateserial -days 2 -extfile ext -out srv.crt 2>/dev/null",
             h_dir);
    if (!ok(system(cmd) == 0, "test CA and server certificate"))
        return;
    idx = h_spawn("redis-tls", argv);
    ok(idx >= 0, "TLS server on port %d", tport);
    memset(&c, 0, sizeof(c));
    c.password = PW;
    c.connect_timeout_ms = c.command_timeout_ms = 3000;
    c.backoff_ms = 0;
    for (i = 0; i < 2; i++) {
        pc_rurl_parse(p, apr_psprintf(p, urls[i], tport), &u);
        c.url = u;
        c.tls_ca_file = ca;
        pc_redis_create(&r, &c, p);
        ok(H_WAIT(10000, pc_redis_ping(r) == APR_SUCCESS),
           "TLS with the right CA, %s", pc_rurl_unparse(p, u));
        c.tls_ca_file = ca2;
        pc_redis_create(&r, &c, p);
        ok(pc_redis_ping(r) == APR_EGENERAL && klass(r) == PC_REDIS_E_CONNECT &&
               strstr(errmsg(r), "TLS handshake"),
           "another CA: refused (%s)", errmsg(r));
    }
    h_kill(idx);

    /* Same CA, but a certificate for another name: refused by name. */
    snprintf(crt, sizeof(crt), "%s/bad.crt", h_dir);
    snprintf(key, sizeof(key), "%s/bad.key", h_dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -newkey rsa:2048 -nodes -subj /CN=other "
             "-keyout bad.key -out bad.csr 2>/dev/null && "
             "printf 'subjectAltName=DNS:other.example' > ext2 && "
             "openssl x509 -req -in bad.csr -CA ca.crt -CAkey ca.key "
             "-CAcreateserial -days 2 -extfile ext2 -out bad.crt 2>/dev/null",
             h_dir);
    ok(system(cmd) == 0, "certificate for other.example");
    tport = h_free_port();
    snprintf(ports, sizeof(ports), "%d", tport);
    idx = h_spawn("redis-tls-bad", argv);
    c.tls_ca_file = ca;
    for (i = 0; i < 2; i++) {
        pc_rurl_parse(p, apr_psprintf(p, urls[i], tport), &u);
        c.url = u;
        pc_redis_create(&r, &c, p);
        ok(H_WAIT(10000, pc_redis_ping(r) == APR_EGENERAL &&
                             strstr(errmsg(r), "TLS handshake") != NULL),
           "certificate not for %s refused (%s)", pc_rurl_unparse(p, u),
           errmsg(r));
    }
    h_kill(idx);
}
#endif

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    if (h_init(120) != 0) {
        printf("1..0 # SKIP redis-server not installed\n");
        return 0;
    }
    mport = h_free_port();
    m_idx = h_redis(mport, PW, 0, users);
    ok(m_idx >= 0, "master started on port %d", mport);
    rport = h_free_port();
    ok(h_redis(rport, PW, mport, NULL) >= 0, "replica started on port %d", rport);
    if (m_idx < 0)
        return done_testing();

    test_auth();
    test_db();
    test_kv();
    test_lease_epoch();
    test_bucket();
    test_pubsub();
    test_kill_and_timeouts();
    test_replica();
#ifdef PC_HAVE_HIREDIS_SSL
    test_tls();
#endif
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

/*
 * pc_redis.c - synchronous Redis client on hiredis (see pc_redis.h).
 */
#include "pc_redis.h"

#include <apr_strings.h>

#include <hiredis.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef PC_HAVE_HIREDIS_SSL
#include <hiredis_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

/* Farm-wide token bucket.  State: a hash {tokens, ts} (ts in microseconds
 * of the Redis server's clock).  A denied call writes nothing: the refill
 * is a function of the stored state and the time, so the next call
 * computes the same.  The key expires when the bucket would be full anyway.
 * TIME before a write needs effects replication: the default from Redis 5,
 * asked for explicitly on older servers. */
const char PC_REDIS_BUCKET_LUA[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local rate = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "if rate == nil or rate <= 0 or burst == nil or burst < 1 then\n"
    "  return redis.error_reply('ERR pc bucket: bad rate or burst')\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(s[1])\n"
    "local ts = tonumber(s[2])\n"
    "if tokens == nil or ts == nil then\n"
    "  tokens = burst\n"
    "elseif now > ts then\n"
    "  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)\n"
    "end\n"
    "if tokens < 1 then\n"
    "  return {0, math.ceil((1 - tokens) * 1000 / rate)}\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1),\n"
    "           'ts', tostring(now))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
    "return {1, 0}\n";

/* Delete a lease only while it is still ours. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* Take a lease that is free, or extend one that is ours. */
static const char hold_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return 1\n"
    "elseif v == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* Presence: members with an expiry (ms, the server's clock) as score. */
static const char presence_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[2])\n"
    "if ARGV[1] ~= '' then\n"
    "  if ttl > 0 then\n"
    "    redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "  end\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "return redis.call('ZCARD', KEYS[1])\n";

/* Present members (pc_redis_presence) not in a set. */
static const char missing_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local n = 0\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')) do\n"
    "  if redis.call('SISMEMBER', KEYS[1], m) == 0 then n = n + 1 end\n"
    "end\n"
    "return n\n";

/* SADD with an expiry for the set. */
static const char sadd_px_lua[] =
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n";

#define MSG_MAX 400

struct pc_redis_t {
    pc_redis_conf_t conf;
    int *order;             /* sentinels, the last one that worked first */
    redisContext *c;        /* the master (data or subscription) */
    redisContext *sc;       /* subscriber with Sentinel: +switch-master */
    char server[300];       /* "host:port" of c */
    int reused;             /* c has answered a command */
    int sub_mode;           /* pc_redis_subscribe() was called */
    int subscribed;         /* ... and the subscription is up */
    char channel[257];
    apr_int64_t fail_until; /* back-off end (monotonic ms) */
    apr_int64_t ping_at, pong_deadline;
    int pongs_due;
    pc_redis_err_e err;
    char code[16];          /* first word of the last error reply */
    char msg[MSG_MAX], cause[MSG_MAX];
    apr_uint64_t connects;
    apr_uint64_t gen, conn_gen; /* master generation: told, at connect */
    char bucket_sha[41], release_sha[41], hold_sha[41], presence_sha[41];
    char missing_sha[41], sadd_px_sha[41];
#ifdef PC_HAVE_HIREDIS_SSL
    SSL_CTX *ssl_ctx;
#endif
};

static apr_int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void fail(pc_redis_t *r, pc_redis_err_e e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a failure.  The message is made printable: server replies and
 * errno texts end up in it. */
static void fail(pc_redis_t *r, pc_redis_err_e e, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    for (s = r->msg; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
    }
    r->err = e;
}

static void succeed(pc_redis_t *r)
{
    r->err = PC_REDIS_E_NONE;
    r->msg[0] = '\0';
    r->code[0] = '\0';
}

static void drop(pc_redis_t *r)
{
    if (r->c != NULL)
        redisFree(r->c);
    if (r->sc != NULL)
        redisFree(r->sc);
    r->c = r->sc = NULL;
    r->server[0] = '\0';
    r->subscribed = 0;
    r->pongs_due = 0;
}

/* Connection unusable: drop it and fail fast for a while. */
static void drop_and_back_off(pc_redis_t *r)
{
    drop(r);
    if (r->conf.backoff_ms > 0) {
        r->fail_until = now_ms() + r->conf.backoff_ms;
        memcpy(r->cause, r->msg, sizeof(r->cause));
    }
}

static pc_redis_err_e ctx_class(const redisContext *c, int saved_errno)
{
    if (c->err == REDIS_ERR_IO &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
         saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS))
        return PC_REDIS_E_TIMEOUT;
    if (strstr(c->errstr, "timed out") != NULL ||
        strstr(c->errstr, "temporarily unavailable") != NULL)
        return PC_REDIS_E_TIMEOUT;
    return PC_REDIS_E_CONNECT;
}

static pc_redis_err_e reply_class(const char *s)
{
    static const struct {
        const char *prefix;
        pc_redis_err_e e;
    } codes[] = {{"WRONGPASS", PC_REDIS_E_AUTH},   {"NOAUTH", PC_REDIS_E_AUTH},
                 {"NOPERM", PC_REDIS_E_AUTH},      {"READONLY", PC_REDIS_E_READONLY},
                 {"LOADING", PC_REDIS_E_SERVER},   {"BUSY ", PC_REDIS_E_SERVER},
                 {"MASTERDOWN", PC_REDIS_E_SERVER}, {"TRYAGAIN", PC_REDIS_E_SERVER}};
    apr_size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strncmp(s, codes[i].prefix, strlen(codes[i].prefix)) == 0)
            return codes[i].e;
    }
    return PC_REDIS_E_REPLY;
}

static void set_code(pc_redis_t *r, const char *s)
{
    apr_size_t n = strcspn(s, " ");
    if (n >= sizeof(r->code))
        n = sizeof(r->code) - 1;
    memcpy(r->code, s, n);
    r->code[n] = '\0';
}

/* One command on a context during connection set-up (AUTH, ROLE, SELECT,
 * SENTINEL).  NULL on failure, with the error recorded (class from the
 * reply; AUTH replies always count as AUTH failures). */
static redisReply *setup_cmd(pc_redis_t *r, redisContext *c, const char *where,
                             int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);

    if (rep == NULL) {
        int e = errno;
        fail(r, ctx_class(c, e), "%s at %s: %s", argv[0], where, c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        int auth = strcasecmp(argv[0], "AUTH") == 0;
        set_code(r, rep->str);
        fail(r, auth ? PC_REDIS_E_AUTH : reply_class(rep->str),
             "%s%s at %s: %.200s", argv[0], auth ? " failed" : "", where,
             rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

#ifdef PC_HAVE_HIREDIS_SSL
static apr_status_t free_ssl_ctx(void *data)
{
    SSL_CTX_free(data);
    return APR_SUCCESS;
}

static apr_status_t tls_init(pc_redis_t *r, apr_pool_t *p)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok;

    if (ctx == NULL)
        return APR_EGENERAL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ok = r->conf.tls_ca_file != NULL
             ? SSL_CTX_load_verify_locations(ctx, r->conf.tls_ca_file, NULL)
             : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        SSL_CTX_free(ctx);
        return APR_EINVAL;
    }
    r->ssl_ctx = ctx;
    apr_pool_cleanup_register(p, ctx, free_ssl_ctx, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* TLS with the certificate checked against the host we connect to (a
 * name, or an address: with Sentinel the master is known by address). */
static apr_status_t tls_start(pc_redis_t *r, redisContext *c,
                              const char *host, int port)
{
    SSL *ssl = SSL_new(r->ssl_ctx);
    unsigned char a[16];
    int ip = inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;

    if (ssl == NULL ||
        (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
            : (SSL_set_tlsext_host_name(ssl, host) != 1 ||
               SSL_set1_host(ssl, host) != 1))) {
        SSL_free(ssl);
        fail(r, PC_REDIS_E_CONNECT, "TLS set-up for %s:%d failed", host, port);
        return APR_EGENERAL;
    }
    if (redisInitiateSSL(c, ssl) != REDIS_OK) {
        SSL_free(ssl); /* not owned by hiredis when the handshake failed */
        fail(r, PC_REDIS_E_CONNECT, "TLS handshake with %s:%d failed: %s",
             host, port, c->errstr);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
#endif

/* TCP (+ TLS) connection with both timeouts and keepalive. */
static redisContext *open_ctx(pc_redis_t *r, const char *host, int port)
{
    redisContext *c =
        redisConnectWithTimeout(host, port, ms_tv(r->conf.connect_timeout_ms));

    if (c == NULL) {
        fail(r, PC_REDIS_E_CONNECT, "cannot connect to %s:%d: out of memory",
             host, port);
        return NULL;
    }
    if (c->err) {
        int e = errno;
        fail(r, ctx_class(c, e), "cannot connect to %s:%d: %s", host, port,
             c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, ms_tv(r->conf.command_timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(c) != REDIS_OK) {
        fail(r, PC_REDIS_E_CONNECT, "cannot set timeouts on %s:%d: %s", host,
             port, c->errstr);
        redisFree(c);
        return NULL;
    }
#ifdef PC_HAVE_HIREDIS_SSL
    if (r->conf.url->tls && tls_start(r, c, host, port) != APR_SUCCESS) {
        redisFree(c);
        return NULL;
    }
#endif
    return c;
}

static apr_status_t auth(pc_redis_t *r, redisContext *c, const char *where,
                         const char *user, const char *password)
{
    const char *argv[3];
    redisReply *rep;

    if (password == NULL)
        return APR_SUCCESS;
    argv[0] = "AUTH";
    argv[1] = user ? user : password;
    argv[2] = password;
    if ((rep = setup_cmd(r, c, where, user ? 3 : 2, argv)) == NULL) {
        /* Name the user (never the password) to help the admin. */
        if (r->err == PC_REDIS_E_AUTH && user != NULL) {
            char m[MSG_MAX];
            memcpy(m, r->msg, sizeof(m));
            fail(r, PC_REDIS_E_AUTH, "%.300s (ACL user '%.60s')", m, user);
        }
        return APR_EGENERAL;
    }
    freeReplyObject(rep);
    return APR_SUCCESS;
}

/* A master named by a sentinel must say so itself. */
static apr_status_t check_role(pc_redis_t *r, redisContext *c,
                               const char *where)
{
    const char *argv[] = {"ROLE"};
    redisReply *rep = setup_cmd(r, c, where, 1, argv);
    int master;

    if (rep == NULL) {
        /* An ACL user without +role: READONLY replies still protect. */
        return strcmp(r->code, "NOPERM") == 0 ? APR_SUCCESS : APR_EGENERAL;
    }
    master = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
             rep->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(rep->element[0]->str, "master") == 0;
    if (!master)
        fail(r, PC_REDIS_E_READONLY,
             "%s was named master of '%s' by a sentinel but is a %.20s", where,
             r->conf.url->master,
             rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                     rep->element[0]->type == REDIS_REPLY_STRING
                 ? rep->element[0]->str
                 : "server that gave an unexpected ROLE reply");
    freeReplyObject(rep);
    return master ? APR_SUCCESS : APR_EGENERAL;
}

/* Connect to a server, log in, check the role, select the database. */
static apr_status_t connect_server(pc_redis_t *r, const char *host, int port,
                                   int need_master)
{
    char where[300];
    redisContext *c;

    snprintf(where, sizeof(where), "%s%s%s:%d", strchr(host, ':') ? "[" : "",
             host, strchr(host, ':') ? "]" : "", port);
    if ((c = open_ctx(r, host, port)) == NULL)
        return APR_EGENERAL;
    if (auth(r, c, where, r->conf.user, r->conf.password) != APR_SUCCESS ||
        (need_master && check_role(r, c, where) != APR_SUCCESS)) {
        redisFree(c);
        return APR_EGENERAL;
    }
    if (r->conf.url->db != 0) {
        char db[16];
        const char *argv[] = {"SELECT", db};
        redisReply *rep;
        snprintf(db, sizeof(db), "%d", r->conf.url->db);
        if ((rep = setup_cmd(r, c, where, 2, argv)) == NULL) {
            redisFree(c);
            return APR_EGENERAL;
        }
        freeReplyObject(rep);
    }
    r->c = c;
    memcpy(r->server, where, sizeof(r->server));
    return APR_SUCCESS;
}

/* Ask one sentinel for the master and connect to it.  *sc is the sentinel
 * connection (left open: the subscriber keeps it). */
static apr_status_t via_sentinel(pc_redis_t *r, const pc_rurl_host_t *s,
                                 redisContext **sc, char tried[300])
{
    char addr[300];
    char where[300], host[128];
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name",
                          r->conf.url->master};
    redisReply *rep;
    int port = 0, named;

    snprintf(where, sizeof(where), "sentinel %s%s%s:%d",
             strchr(s->host, ':') ? "[" : "", s->host,
             strchr(s->host, ':') ? "]" : "", s->port);
    if ((*sc = open_ctx(r, s->host, s->port)) == NULL)
        return APR_EGENERAL;
    if (auth(r, *sc, where, r->conf.sentinel_user,
             r->conf.sentinel_password) != APR_SUCCESS ||
        (rep = setup_cmd(r, *sc, where, 3, argv)) == NULL)
        return APR_EGENERAL;
    named = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[0]->type == REDIS_REPLY_STRING &&
            rep->element[1]->type == REDIS_REPLY_STRING &&
            rep->element[0]->len < sizeof(host);
    if (named) {
        memcpy(host, rep->element[0]->str, rep->element[0]->len + 1);
        port = atoi(rep->element[1]->str);
    }
    freeReplyObject(rep);
    if (!named || port < 1 || port > 65535) {
        fail(r, PC_REDIS_E_SENTINEL, "%s names no master '%s'", where,
             r->conf.url->master);
        return APR_EGENERAL;
    }
    /* Sentinels usually agree: a master that just failed is not tried
     * again (a partitioned one would cost a connect timeout each time). */
    snprintf(addr, sizeof(addr), "%s:%d", host, port);
    if (strcmp(addr, tried) == 0)
        return APR_EGENERAL; /* r->msg still says why it failed */
    memcpy(tried, addr, sizeof(addr));
    return connect_server(r, host, port, 1);
}

static apr_status_t connect_sentinel(pc_redis_t *r)
{
    const apr_array_header_t *hosts = r->conf.url->hosts;
    pc_redis_err_e worst = PC_REDIS_E_SENTINEL;
    char last[MSG_MAX] = "", tried[300] = "";
    int k;

    for (k = 0; k < hosts->nelts; k++) {
        int i = r->order[k];
        redisContext *sc = NULL;
        if (via_sentinel(r, &APR_ARRAY_IDX(hosts, i, pc_rurl_host_t), &sc,
                         tried) ==
            APR_SUCCESS) {
            memmove(r->order + 1, r->order, sizeof(int) * (apr_size_t)k);
            r->order[0] = i;
            if (r->sub_mode)
                r->sc = sc;
            else
                redisFree(sc);
            return APR_SUCCESS;
        }
        if (sc != NULL)
            redisFree(sc);
        if (r->err == PC_REDIS_E_AUTH)
            worst = PC_REDIS_E_AUTH; /* a configuration error: say so */
        memcpy(last, r->msg, sizeof(last));
    }
    fail(r, worst, "no sentinel of %d gave a usable master for '%s'; last "
                   "error: %.300s",
         hosts->nelts, r->conf.url->master, last);
    return APR_EGENERAL;
}

/* Connected, or connect now unless backing off. */
static apr_status_t ensure(pc_redis_t *r)
{
    apr_int64_t now = now_ms();
    const pc_rurl_host_t *h;
    apr_status_t rv;

    if (r->c != NULL)
        return APR_SUCCESS;
    if (now < r->fail_until) {
        fail(r, PC_REDIS_E_BACKOFF,
             "not trying Redis for another %d ms after: %.300s",
             (int)(r->fail_until - now), r->cause);
        return APR_EGENERAL;
    }
    h = &APR_ARRAY_IDX(r->conf.url->hosts, 0, pc_rurl_host_t);
    rv = r->conf.url->sentinel ? connect_sentinel(r)
                               : connect_server(r, h->host, h->port, 0);
    if (rv != APR_SUCCESS) {
        drop_and_back_off(r);
        return rv;
    }
    r->connects++;
    r->reused = 0;
    r->conn_gen = r->gen;
    succeed(r);
    return APR_SUCCESS;
}

/* Run one command: the reply (free it) or NULL with the error recorded. */
static redisReply *run(pc_redis_t *r, int argc, const char **argv,
                       const size_t *lens)
{
    int attempt;

    if (r->sub_mode) {
        fail(r, PC_REDIS_E_USAGE, "%s on a subscriber connection", argv[0]);
        return NULL;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *rep;
        pc_redis_err_e cls;
        int reused;

        if (ensure(r) != APR_SUCCESS)
            return NULL;
        reused = r->reused;
        if ((rep = redisCommandArgv(r->c, argc, argv, lens)) == NULL) {
            int e = errno;
            cls = ctx_class(r->c, e);
            if (cls == PC_REDIS_E_TIMEOUT)
                fail(r, cls, "%s to %s: no reply within %d ms", argv[0],
                     r->server, r->conf.command_timeout_ms);
            else
                fail(r, cls, "%s to %s: %s", argv[0], r->server, r->c->errstr);
            if (cls == PC_REDIS_E_CONNECT && reused && attempt == 0) {
                drop(r); /* closed while idle: once more, anew */
                continue;
            }
            drop_and_back_off(r);
            return NULL;
        }
        r->reused = 1;
        if (rep->type != REDIS_REPLY_ERROR) {
            succeed(r);
            return rep;
        }
        cls = reply_class(rep->str);
        set_code(r, rep->str);
        fail(r, cls, "%s to %s: %.200s", argv[0], r->server, rep->str);
        freeReplyObject(rep);
        if (cls == PC_REDIS_E_READONLY && r->conf.url->sentinel)
            drop(r); /* failover: ask the sentinels at once */
        else if (cls != PC_REDIS_E_REPLY)
            drop_and_back_off(r);
        return NULL;
    }
    return NULL;
}

static apr_status_t unexpected(pc_redis_t *r, redisReply *rep, const char *cmd)
{
    fail(r, PC_REDIS_E_REPLY, "%s to %s: unexpected reply type %d", cmd,
         r->server, rep->type);
    freeReplyObject(rep);
    return APR_EGENERAL;
}

static void sha1_hex(char out[41], const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
    for (i = 0; i < 20 && i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[40] = '\0';
}

static apr_status_t close_cleanup(void *data)
{
    drop(data);
    return APR_SUCCESS;
}

static const char *dup_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

apr_status_t pc_redis_create(pc_redis_t **out, const pc_redis_conf_t *conf,
                             apr_pool_t *p)
{
    pc_redis_t *r;
    int i;

    if (conf->url == NULL || conf->connect_timeout_ms <= 0 ||
        conf->command_timeout_ms <= 0 || conf->backoff_ms < 0)
        return APR_EINVAL;
    r = apr_pcalloc(p, sizeof(*r));
    r->conf = *conf;
    r->conf.user = dup_or_null(p, conf->user);
    r->conf.password = dup_or_null(p, conf->password);
    r->conf.sentinel_user = dup_or_null(p, conf->sentinel_user);
    r->conf.sentinel_password = dup_or_null(p, conf->sentinel_password);
    r->conf.tls_ca_file = dup_or_null(p, conf->tls_ca_file);
    if (r->conf.ping_ms <= 0)
        r->conf.ping_ms = 5000;
    r->order = apr_pcalloc(p, sizeof(int) * (apr_size_t)conf->url->hosts->nelts);
    for (i = 0; i < conf->url->hosts->nelts; i++)
        r->order[i] = i;
    sha1_hex(r->bucket_sha, PC_REDIS_BUCKET_LUA);
    sha1_hex(r->release_sha, release_lua);
    sha1_hex(r->hold_sha, hold_lua);
    sha1_hex(r->presence_sha, presence_lua);
    sha1_hex(r->missing_sha, missing_lua);
    sha1_hex(r->sadd_px_sha, sadd_px_lua);
#ifdef PC_HAVE_HIREDIS_SSL
    if (conf->url->tls && tls_init(r, p) != APR_SUCCESS)
        return APR_EINVAL;
#else
    if (conf->url->tls)
        return APR_ENOTIMPL;
#endif
    apr_pool_cleanup_register(p, r, close_cleanup, apr_pool_cleanup_null);
    *out = r;
    return APR_SUCCESS;
}

apr_status_t pc_redis_connect(pc_redis_t *r)
{
    if (r->sub_mode) {
        fail(r, PC_REDIS_E_USAGE, "connect on a subscriber: use subscribe");
        return APR_EGENERAL;
    }
    return ensure(r);
}

void pc_redis_disconnect(pc_redis_t *r)
{
    drop(r);
}

void pc_redis_master_generation(pc_redis_t *r, apr_uint64_t gen)
{
    r->gen = gen;
    if (r->c != NULL && r->conn_gen != gen && !r->sub_mode)
        drop(r);
}

pc_redis_err_e pc_redis_last_error(const pc_redis_t *r, const char **msg)
{
    if (msg != NULL)
        *msg = r->msg;
    return r->err;
}

const char *pc_redis_server(const pc_redis_t *r, apr_pool_t *p)
{
    return r->c ? apr_pstrdup(p, r->server) : NULL;
}

apr_uint64_t pc_redis_connects(const pc_redis_t *r)
{
    return r->connects;
}

/* --- commands ---------------------------------------------------------- */

apr_status_t pc_redis_ping(pc_redis_t *r)
{
    const char *argv[] = {"PING"};
    redisReply *rep = run(r, 1, argv, NULL);

    if (rep == NULL)
        return APR_EGENERAL;
    if (rep->type != REDIS_REPLY_STATUS)
        return unexpected(r, rep, "PING");
    freeReplyObject(rep);
    return APR_SUCCESS;
}

apr_status_t pc_redis_get(pc_redis_t *r, unsigned char **val, apr_size_t *len,
                          const void *key, apr_size_t key_len, apr_pool_t *p)
{
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, key_len};
    redisReply *rep = run(r, 2, argv, lens);

    if (rep == NULL)
        return APR_EGENERAL;
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return APR_NOTFOUND;
    }
    if (rep->type != REDIS_REPLY_STRING)
        return unexpected(r, rep, "GET");
    *val = apr_palloc(p, rep->len + 1);
    memcpy(*val, rep->str, rep->len);
    (*val)[rep->len] = '\0';
    *len = rep->len;
    freeReplyObject(rep);
    return APR_SUCCESS;
}

static apr_status_t set_px(pc_redis_t *r, int nx, const void *key,
                           apr_size_t key_len, const void *val,
                           apr_size_t val_len, apr_int64_t px_ms)
{
    char px[24];
    const char *argv[] = {"SET", key, val, "PX", px, "NX"};
    size_t lens[] = {3, key_len, val_len, 2, 0, 2};
    redisReply *rep;

    if (px_ms < 1) {
        fail(r, PC_REDIS_E_USAGE, "SET with an expiry of %" APR_INT64_T_FMT
                                  " ms", px_ms);
        return APR_EGENERAL;
    }
    lens[4] = (size_t)snprintf(px, sizeof(px), "%" APR_INT64_T_FMT, px_ms);
    if ((rep = run(r, nx ? 6 : 5, argv, lens)) == NULL)
        return APR_EGENERAL;
    if (nx && rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return APR_EEXIST;
    }
    if (rep->type != REDIS_REPLY_STATUS)
        return unexpected(r, rep, "SET");
    freeReplyObject(rep);
    return APR_SUCCESS;
}

apr_status_t pc_redis_set(pc_redis_t *r, const void *key, apr_size_t key_len,
                          const void *val, apr_size_t val_len,
                          apr_int64_t px_ms)
{
    return set_px(r, 0, key, key_len, val, val_len, px_ms);
}

apr_status_t pc_redis_lease(pc_redis_t *r, const void *key, apr_size_t key_len,
                            const void *val, apr_size_t val_len,
                            apr_int64_t px_ms)
{
    return set_px(r, 1, key, key_len, val, val_len, px_ms);
}

/* EVALSHA, then EVAL when the server does not have the script (first use,
 * SCRIPT FLUSH, restart, failover). */
static redisReply *eval(pc_redis_t *r, const char *script, const char *sha,
                        int nargs, const char **args, const size_t *lens)
{
    const char *argv[8] = {"EVALSHA", sha, "1"};
    size_t alen[8] = {7, 40, 1};
    redisReply *rep;
    int i;

    for (i = 0; i < nargs && i < 5; i++) {
        argv[3 + i] = args[i];
        alen[3 + i] = lens[i];
    }
    rep = run(r, 3 + nargs, argv, alen);
    if (rep == NULL && r->err == PC_REDIS_E_REPLY &&
        strcmp(r->code, "NOSCRIPT") == 0) {
        argv[0] = "EVAL";
        alen[0] = 4;
        argv[1] = script;
        alen[1] = strlen(script);
        rep = run(r, 3 + nargs, argv, alen);
    }
    return rep;
}

apr_status_t pc_redis_release(pc_redis_t *r, int *released, const void *key,
                              apr_size_t key_len, const void *val,
                              apr_size_t val_len)
{
    const char *args[] = {key, val};
    size_t lens[] = {key_len, val_len};
    redisReply *rep = eval(r, release_lua, r->release_sha, 2, args, lens);

    if (rep == NULL)
        return APR_EGENERAL;
    if (rep->type != REDIS_REPLY_INTEGER)
        return unexpected(r, rep, "EVALSHA (release)");
    *released = rep->integer == 1;
    freeReplyObject(rep);
    return APR_SUCCESS;
}

apr_status_t pc_redis_hold(pc_redis_t *r, const void *key, apr_size_t key_len,
                           const void *val, apr_size_t val_len,
                           apr_int64_t px_ms)
{
    char px[24];
    const char *args[] = {key, val, px};
    size_t lens[3] = {key_len, val_len, 0};
    redisReply *rep;
    int held;

    if (px_ms < 1) {
        fail(r, PC_REDIS_E_USAGE, "a lease of %" APR_INT64_T_FMT " ms", px_ms);
        return APR_EGENERAL;
    }
    lens[2] = (size_t)snprintf(px, sizeof(px), "%" APR_INT64_T_FMT, px_ms);
    if ((rep = eval(r, hold_lua, r->hold_sha, 3, args, lens)) == NULL)
        return APR_EGENERAL;
    if (rep->type != REDIS_REPLY_INTEGER)
        return unexpected(r, rep, "EVALSHA (hold)");
    held = rep->integer == 1;
    freeReplyObject(rep);
    return held ? APR_SUCCESS : APR_EEXIST;
}

static apr_status_t integer_reply(pc_redis_t *r, apr_int64_t *value,
                                  redisReply *rep, const char *cmd)
{
    if (rep == NULL)
        return APR_EGENERAL;
    if (rep->type != REDIS_REPLY_INTEGER)
        return unexpected(r, rep, cmd);
    if (value != NULL)
        *value = rep->integer;
    freeReplyObject(rep);
    return APR_SUCCESS;
}

apr_status_t pc_redis_del(pc_redis_t *r, apr_int64_t *removed, int n,
                          const void *const *keys, const apr_size_t *key_lens)
{
    const char *argv[65] = {"DEL"};
    size_t lens[65] = {3};
    int i;

    if (n < 1 || n > 64) {
        fail(r, PC_REDIS_E_USAGE, "DEL of %d keys (1..64)", n);
        return APR_EGENERAL;
    }
    for (i = 0; i < n; i++) {
        argv[i + 1] = keys[i];
        lens[i + 1] = key_lens[i];
    }
    return integer_reply(r, removed, run(r, n + 1, argv, lens), "DEL");
}

apr_status_t pc_redis_incr(pc_redis_t *r, apr_int64_t *value, const void *key,
                           apr_size_t key_len)
{
    const char *argv[] = {"INCR", key};
    size_t lens[] = {4, key_len};
    return integer_reply(r, value, run(r, 2, argv, lens), "INCR");
}

apr_status_t pc_redis_presence(pc_redis_t *r, apr_int64_t *present,
                               const void *key, apr_size_t key_len,
                               const char *member, apr_int64_t ttl_ms)
{
    char ttl[24];
    const char *args[] = {key, member ? member : "", ttl};
    size_t lens[3];

    if (ttl_ms < 0) {
        fail(r, PC_REDIS_E_USAGE, "presence for %" APR_INT64_T_FMT " ms",
             ttl_ms);
        return APR_EGENERAL;
    }
    lens[0] = key_len;
    lens[1] = strlen(args[1]);
    lens[2] = (size_t)snprintf(ttl, sizeof(ttl), "%" APR_INT64_T_FMT, ttl_ms);
    return integer_reply(r, present,
                         eval(r, presence_lua, r->presence_sha, 3, args, lens),
                         "EVALSHA (presence)");
}

/* EVALSHA of a script with two KEYS (eval() passes one). */
static redisReply *eval2(pc_redis_t *r, const char *script, const char *sha,
                         const char *k1, const char *k2)
{
    const char *argv[] = {"EVALSHA", sha, "2", k1, k2};
    redisReply *rep = run(r, 5, argv, NULL);

    if (rep == NULL && r->err == PC_REDIS_E_REPLY &&
        strcmp(r->code, "NOSCRIPT") == 0) {
        argv[0] = "EVAL";
        argv[1] = script;
        rep = run(r, 5, argv, NULL);
    }
    return rep;
}

apr_status_t pc_redis_missing(pc_redis_t *r, apr_int64_t *missing,
                              const char *set_key, const char *presence_key)
{
    return integer_reply(r, missing,
                         eval2(r, missing_lua, r->missing_sha, set_key,
                               presence_key),
                         "EVALSHA (missing)");
}

apr_status_t pc_redis_sadd_px(pc_redis_t *r, const char *key,
                              const char *member, apr_int64_t px_ms)
{
    char px[24];
    const char *args[] = {key, member, px};
    size_t lens[3];

    if (px_ms < 1) {
        fail(r, PC_REDIS_E_USAGE, "SADD with an expiry of %" APR_INT64_T_FMT
                                  " ms", px_ms);
        return APR_EGENERAL;
    }
    lens[0] = strlen(key);
    lens[1] = strlen(member);
    lens[2] = (size_t)snprintf(px, sizeof(px), "%" APR_INT64_T_FMT, px_ms);
    return integer_reply(r, NULL,
                         eval(r, sadd_px_lua, r->sadd_px_sha, 3, args, lens),
                         "EVALSHA (sadd)");
}

apr_status_t pc_redis_pexpire(pc_redis_t *r, const void *key,
                              apr_size_t key_len, apr_int64_t px_ms)
{
    char px[24];
    const char *argv[] = {"PEXPIRE", key, px};
    size_t lens[] = {7, key_len, 0};
    apr_int64_t set = 0;
    apr_status_t rv;

    if (px_ms < 1) {
        fail(r, PC_REDIS_E_USAGE, "PEXPIRE of %" APR_INT64_T_FMT " ms", px_ms);
        return APR_EGENERAL;
    }
    lens[2] = (size_t)snprintf(px, sizeof(px), "%" APR_INT64_T_FMT, px_ms);
    rv = integer_reply(r, &set, run(r, 3, argv, lens), "PEXPIRE");
    return rv == APR_SUCCESS && set == 0 ? APR_NOTFOUND : rv;
}

apr_status_t pc_redis_get_int(pc_redis_t *r, apr_int64_t *value,
                              const void *key, apr_size_t key_len)
{
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, key_len};
    redisReply *rep = run(r, 2, argv, lens);
    char *end;
    long long v;

    if (rep == NULL)
        return APR_EGENERAL;
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return APR_NOTFOUND;
    }
    if (rep->type != REDIS_REPLY_STRING)
        return unexpected(r, rep, "GET");
    errno = 0;
    v = strtoll(rep->str, &end, 10);
    if (rep->len == 0 || rep->len > 20 || errno != 0 ||
        end != rep->str + rep->len ||
        !(rep->str[0] == '-' || (rep->str[0] >= '0' && rep->str[0] <= '9'))) {
        fail(r, PC_REDIS_E_REPLY, "GET to %s: the value is not an integer",
             r->server);
        freeReplyObject(rep);
        return APR_EGENERAL;
    }
    *value = v;
    freeReplyObject(rep);
    return APR_SUCCESS;
}

apr_status_t pc_redis_publish(pc_redis_t *r, apr_int64_t *receivers,
                              const char *channel, const void *msg,
                              apr_size_t len)
{
    const char *argv[] = {"PUBLISH", channel, msg};
    size_t lens[] = {7, strlen(channel), len};
    return integer_reply(r, receivers, run(r, 3, argv, lens), "PUBLISH");
}

apr_status_t pc_redis_bucket(pc_redis_t *r, int *allowed, apr_int64_t *wait_ms,
                             const void *key, apr_size_t key_len, double rate,
                             double burst)
{
    char rs[32], bs[32];
    const char *args[] = {key, rs, bs};
    size_t lens[3];
    redisReply *rep;

    if (!(rate > 0) || !isfinite(rate) || !(burst >= 1) || !isfinite(burst)) {
        fail(r, PC_REDIS_E_USAGE, "token bucket needs rate > 0, burst >= 1");
        return APR_EGENERAL;
    }
    lens[0] = key_len;
    lens[1] = (size_t)snprintf(rs, sizeof(rs), "%.9g", rate);
    lens[2] = (size_t)snprintf(bs, sizeof(bs), "%.9g", burst);
    if ((rep = eval(r, PC_REDIS_BUCKET_LUA, r->bucket_sha, 3, args, lens)) ==
        NULL)
        return APR_EGENERAL;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER ||
        rep->element[1]->type != REDIS_REPLY_INTEGER)
        return unexpected(r, rep, "EVALSHA (bucket)");
    *allowed = rep->element[0]->integer == 1;
    *wait_ms = rep->element[1]->integer;
    freeReplyObject(rep);
    return APR_SUCCESS;
}

/* --- subscriber -------------------------------------------------------- */

static apr_status_t subscribe_on(pc_redis_t *r, redisContext *c,
                                 const char *channel)
{
    const char *argv[] = {"SUBSCRIBE", channel};
    redisReply *rep = setup_cmd(r, c, r->server, 2, argv);
    int ok;

    if (rep == NULL)
        return APR_EGENERAL;
    ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
         rep->element[0]->type == REDIS_REPLY_STRING &&
         strcmp(rep->element[0]->str, "subscribe") == 0;
    freeReplyObject(rep);
    if (!ok) {
        fail(r, PC_REDIS_E_REPLY, "SUBSCRIBE %.100s at %s: unexpected reply",
             channel, r->server);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pc_redis_subscribe(pc_redis_t *r, const char *channel)
{
    if (strlen(channel) >= sizeof(r->channel) || channel[0] == '\0') {
        fail(r, PC_REDIS_E_USAGE, "channel name must have 1..256 bytes");
        return APR_EGENERAL;
    }
    drop(r);
    r->sub_mode = 1;
    memcpy(r->channel, channel, strlen(channel) + 1);
    if (ensure(r) != APR_SUCCESS)
        return APR_EGENERAL;
    if (subscribe_on(r, r->c, channel) != APR_SUCCESS ||
        (r->sc != NULL && subscribe_on(r, r->sc, "+switch-master") != APR_SUCCESS)) {
        drop_and_back_off(r);
        return APR_EGENERAL;
    }
    r->subscribed = 1;
    r->pongs_due = 0;
    r->ping_at = now_ms() + r->conf.ping_ms;
    succeed(r);
    return APR_SUCCESS;
}

static apr_status_t lost(pc_redis_t *r, pc_redis_err_e e, const char *why,
                         redisContext *c)
{
    int err = errno;
    if (c != NULL)
        fail(r, ctx_class(c, err), "subscription at %s lost: %.200s", r->server,
             c->errstr);
    else
        fail(r, e, "subscription at %s lost: %.200s", r->server, why);
    drop_and_back_off(r);
    return APR_EOF;
}

static int is_str(const redisReply *e, const char *s)
{
    return e->type == REDIS_REPLY_STRING && strcmp(e->str, s) == 0;
}

/* One reply that was read: a message for us (APR_SUCCESS), nothing of
 * interest (APR_EAGAIN), or the end of the subscription (APR_EOF). */
static apr_status_t handle(pc_redis_t *r, redisReply *rep, int from_sentinel,
                           pc_redis_msg_t *msg, apr_pool_t *p)
{
    apr_status_t rv = APR_EAGAIN;

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
        is_str(rep->element[0], "pong")) {
        if (r->pongs_due > 0 && --r->pongs_due == 0)
            r->ping_at = now_ms() + r->conf.ping_ms;
    }
    else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
             is_str(rep->element[0], "message") &&
             rep->element[2]->type == REDIS_REPLY_STRING) {
        const redisReply *d = rep->element[2];
        const char *m = r->conf.url->master;
        if (from_sentinel && is_str(rep->element[1], "+switch-master") &&
            strncmp(d->str, m, strlen(m)) == 0 && d->str[strlen(m)] == ' ') {
            char why[200];
            snprintf(why, sizeof(why), "sentinel reports +switch-master %.150s",
                     d->str);
            freeReplyObject(rep);
            return lost(r, PC_REDIS_E_SWITCHED, why, NULL);
        }
        if (!from_sentinel && is_str(rep->element[1], r->channel)) {
            unsigned char *data = apr_palloc(p, d->len + 1);
            memcpy(data, d->str, d->len);
            data[d->len] = '\0';
            msg->channel = apr_pstrdup(p, r->channel);
            msg->data = data;
            msg->len = d->len;
            rv = APR_SUCCESS;
        }
    }
    freeReplyObject(rep);
    return rv;
}

/* A complete reply already buffered on either connection? */
static apr_status_t buffered(pc_redis_t *r, pc_redis_msg_t *msg, apr_pool_t *p)
{
    redisContext *cs[2];
    int i;

    cs[0] = r->c;
    cs[1] = r->sc;
    for (i = 0; i < 2; i++) {
        void *rep = NULL;
        apr_status_t rv;
        if (cs[i] == NULL)
            continue;
        if (redisGetReplyFromReader(cs[i], &rep) != REDIS_OK)
            return lost(r, PC_REDIS_E_CONNECT, NULL, cs[i]);
        if (rep != NULL && (rv = handle(r, rep, i == 1, msg, p)) != APR_EAGAIN)
            return rv;
        if (rep != NULL)
            return APR_EINTR; /* consumed one: look again */
    }
    return APR_EAGAIN;
}

static apr_status_t send_pings(pc_redis_t *r)
{
    redisContext *cs[2];
    int i, done;

    cs[0] = r->c;
    cs[1] = r->sc;
    for (i = 0; i < 2; i++) {
        if (cs[i] == NULL)
            continue;
        if (redisAppendCommand(cs[i], "PING") != REDIS_OK)
            return lost(r, PC_REDIS_E_CONNECT, NULL, cs[i]);
        do {
            if (redisBufferWrite(cs[i], &done) != REDIS_OK)
                return lost(r, PC_REDIS_E_CONNECT, NULL, cs[i]);
        } while (!done);
        r->pongs_due++;
    }
    r->pong_deadline = now_ms() + r->conf.command_timeout_ms;
    return APR_SUCCESS;
}

/* Wait for input on the connections until `until`; read what came. */
static apr_status_t wait_input(pc_redis_t *r, apr_int64_t until)
{
    struct pollfd fds[2];
    redisContext *cs[2];
    int n = 0, i, rc;
    apr_int64_t wait = until - now_ms();

    cs[n] = r->c;
    fds[n].fd = r->c->fd;
    fds[n++].events = POLLIN;
    if (r->sc != NULL) {
        cs[n] = r->sc;
        fds[n].fd = r->sc->fd;
        fds[n++].events = POLLIN;
    }
    rc = poll(fds, (nfds_t)n, wait > 0 ? (int)wait : 0);
    if (rc < 0 && errno != EINTR) {
        char why[100];
        snprintf(why, sizeof(why), "poll: %s", strerror(errno));
        return lost(r, PC_REDIS_E_CONNECT, why, NULL);
    }
    for (i = 0; rc > 0 && i < n; i++) {
        if (fds[i].revents != 0 && redisBufferRead(cs[i]) != REDIS_OK)
            return lost(r, PC_REDIS_E_CONNECT, NULL, cs[i]);
    }
    return APR_SUCCESS;
}

apr_status_t pc_redis_read_message(pc_redis_t *r, pc_redis_msg_t *msg,
                                   int wait_ms, apr_pool_t *p)
{
    apr_int64_t deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);

    if (!r->subscribed) {
        fail(r, PC_REDIS_E_USAGE, "not subscribed");
        return APR_EOF;
    }
    for (;;) {
        apr_status_t rv = buffered(r, msg, p);
        apr_int64_t now, until;

        if (rv == APR_EINTR)
            continue;
        if (rv != APR_EAGAIN)
            return rv;
        now = now_ms();
        if (r->pongs_due > 0 && now >= r->pong_deadline)
            return lost(r, PC_REDIS_E_TIMEOUT, "no answer to PING in time",
                        NULL);
        if (r->pongs_due == 0 && now >= r->ping_at &&
            send_pings(r) != APR_SUCCESS)
            return APR_EOF;
        if (now >= deadline) {
            succeed(r);
            return APR_TIMEUP;
        }
        until = deadline;
        if (r->pongs_due > 0 && r->pong_deadline < until)
            until = r->pong_deadline;
        if (r->pongs_due == 0 && r->ping_at < until)
            until = r->ping_at;
        if (wait_input(r, until) != APR_SUCCESS)
            return APR_EOF;
    }
}

/*
 * pc_redis.h - a small synchronous Redis client on hiredis (pure core).
 *
 * One pc_redis_t is one connection to the Redis master named by a
 * pc_rurl_t: directly (redis://, rediss://) or found through Sentinel
 * (redis-sentinel://).  It connects lazily, on the first command after
 * creation or after an error:
 *
 *   connect (connect timeout; TCP keepalive) -> TLS when the URL says so
 *   -> AUTH [user] password -> with Sentinel: ROLE must say "master"
 *   -> SELECT db (when db != 0).
 *
 * With Sentinel the sentinels are asked in order
 * (SENTINEL get-master-addr-by-name); the first that names a master which
 * accepts us and says it is a master wins and is asked first next time.  A
 * READONLY reply (the master was demoted to a replica), a lost connection or
 * a timeout drops the connection, and the next command asks the sentinels
 * again.  Nothing is ever written to a replica: ROLE is checked before the
 * first command (when the ACL user may not run ROLE, the check is skipped
 * and READONLY replies still protect), and READONLY is never retried.
 *
 * Errors.  Every function returns APR_SUCCESS, a documented outcome
 * (APR_NOTFOUND: no such key, APR_EEXIST: the lease is held, APR_TIMEUP:
 * no message yet), or APR_EGENERAL / APR_EOF for a failure, whose class and
 * message pc_redis_last_error() gives.  After a failure that makes the
 * connection suspect (anything but an error reply to one command) the
 * connection is dropped; the next call reconnects.  A connection found dead
 * when a command is sent on it (closed while idle: server timeout, CLIENT
 * KILL, restart) is re-established and the command sent once more, without
 * the caller seeing an error.  A failure to connect starts a back-off:
 * for conf->backoff_ms every call fails at once with PC_REDIS_E_BACKOFF
 * (no connect attempt), so a dead server costs one connect timeout per
 * back-off period, not one per request.  Messages never contain the
 * password (nor any value or key).
 *
 * Threads.  A pc_redis_t is not thread-safe: one thread at a time (one per
 * thread, or one per process under a mutex).  Its memory comes from the
 * pool given to pc_redis_create(); commands allocate only in the pool they
 * are given, so a long-lived client does not grow.  The process must
 * ignore SIGPIPE (httpd does; a test program must do it itself), because a
 * write to a connection the server closed raises it.  Host names are
 * resolved with getaddrinfo(), which the connect timeout does not bound.
 *
 * Subscriber mode.  pc_redis_subscribe() turns a pc_redis_t into a
 * subscriber (use a pc_redis_t of its own for it: no other command is
 * accepted afterwards).  pc_redis_read_message() then waits at most wait_ms
 * for a message, so the thread that loops on it can check a stop flag.
 * The subscriber PINGs an idle connection every conf->ping_ms and counts
 * the subscription as lost when no answer comes within the command
 * timeout: a hung server is noticed, not only a closed connection.  With
 * Sentinel it also subscribes to +switch-master on a sentinel; a switch of
 * its master ends the subscription (APR_EOF, PC_REDIS_E_SWITCHED).  After
 * APR_EOF the caller must assume it missed messages, and call
 * pc_redis_subscribe() again (the back-off applies).
 */
#ifndef PC_REDIS_H
#define PC_REDIS_H

#include "pc_rurl.h"

#include <apr_pools.h>

typedef struct pc_redis_t pc_redis_t;

typedef enum {
    PC_REDIS_E_NONE = 0,
    PC_REDIS_E_TIMEOUT,  /* connect or command timeout */
    PC_REDIS_E_CONNECT,  /* refused, reset, closed, unresolvable, TLS */
    PC_REDIS_E_AUTH,     /* AUTH refused (WRONGPASS, NOAUTH, no password
                            set on the server) or the ACL denies a command
                            (NOPERM) */
    PC_REDIS_E_READONLY, /* the server is a replica */
    PC_REDIS_E_SENTINEL, /* no sentinel named a master we could use */
    PC_REDIS_E_SERVER,   /* the server cannot serve now: LOADING, BUSY,
                            MASTERDOWN, TRYAGAIN */
    PC_REDIS_E_BACKOFF,  /* not tried: failing fast after a failure */
    PC_REDIS_E_REPLY,    /* an error reply or an unexpected reply to one
                            command (the connection stays) */
    PC_REDIS_E_SWITCHED, /* subscriber: Sentinel switched the master */
    PC_REDIS_E_USAGE     /* the call does not fit the client's mode */
} pc_redis_err_e;

typedef struct pc_redis_conf_t {
    const pc_rurl_t *url;
    const char *user;              /* ACL user; NULL: AUTH password only */
    const char *password;          /* NULL: no AUTH */
    const char *sentinel_user;     /* AUTH to the sentinels (their own */
    const char *sentinel_password; /* requirepass); NULL: none */
    int connect_timeout_ms;        /* each TCP connect (and TLS handshake) */
    int command_timeout_ms;        /* each command: send and reply */
    int backoff_ms;                /* fail fast after a failed connect */
    int ping_ms;                   /* subscriber: PING when idle this long */
    const char *tls_ca_file;       /* rediss: CA bundle; NULL: system's */
} pc_redis_conf_t;

/* One message read by a subscriber; data is allocated in the pool given to
 * pc_redis_read_message() (NUL-terminated for convenience). */
typedef struct pc_redis_msg_t {
    const char *channel;
    const unsigned char *data;
    apr_size_t len;
} pc_redis_msg_t;

/* Create a client (no connection yet).  conf and the strings it points to
 * are copied.  Closed when p is destroyed.  APR_EINVAL for a timeout <= 0
 * or a NULL url. */
apr_status_t pc_redis_create(pc_redis_t **r, const pc_redis_conf_t *conf,
                             apr_pool_t *p);

/* Connect now (at start-up, or to test a configuration); a no-op when
 * connected.  Commands connect by themselves. */
apr_status_t pc_redis_connect(pc_redis_t *r);

/* Drop the connection (the next command reconnects, no back-off). */
void pc_redis_disconnect(pc_redis_t *r);

/* The class of the last failure (PC_REDIS_E_NONE after a success) and, when
 * msg is not NULL, a message for the log (valid until the next call). */
pc_redis_err_e pc_redis_last_error(const pc_redis_t *r, const char **msg);

/* "host:port" of the server connected to, NULL when not connected. */
const char *pc_redis_server(const pc_redis_t *r, apr_pool_t *p);

/* Connections established so far (for the status page and tests). */
apr_uint64_t pc_redis_connects(const pc_redis_t *r);

/* Sentinel: the farm's master generation.  Between the moment Sentinel
 * promotes a replica and the moment it turns the old master into a replica,
 * the old master still accepts writes, which are then lost - a purge among
 * them would not reach the new master.  The subscriber hears of the switch
 * at once (+switch-master: pc_redis_read_message() fails with
 * PC_REDIS_E_SWITCHED); the glue then bumps a counter in shared memory,
 * and passes the counter to every client before it sends a command.  A
 * connection made under another generation is dropped (no back-off), so
 * the next command asks the sentinels again.  Cheap: an integer compare. */
void pc_redis_master_generation(pc_redis_t *r, apr_uint64_t gen);

/* --- commands (keys and values are binary-safe) -------------------------- */

apr_status_t pc_redis_ping(pc_redis_t *r);

/* GET: APR_SUCCESS and *val (allocated in p, with a NUL after the last byte
 * that *len does not count), or APR_NOTFOUND. */
apr_status_t pc_redis_get(pc_redis_t *r, unsigned char **val, apr_size_t *len,
                          const void *key, apr_size_t key_len, apr_pool_t *p);

/* SET key val PX px_ms (px_ms >= 1). */
apr_status_t pc_redis_set(pc_redis_t *r, const void *key, apr_size_t key_len,
                          const void *val, apr_size_t val_len,
                          apr_int64_t px_ms);

/* A lease: SET key val NX PX px_ms.  APR_SUCCESS: taken; APR_EEXIST: held
 * by someone else.  Use a value unique to the taker (for release). */
apr_status_t pc_redis_lease(pc_redis_t *r, const void *key, apr_size_t key_len,
                            const void *val, apr_size_t val_len,
                            apr_int64_t px_ms);

/* Give a lease back: delete key only while it still holds val (a lease that
 * expired and was taken by another is left alone).  *released 1 or 0. */
apr_status_t pc_redis_release(pc_redis_t *r, int *released, const void *key,
                              apr_size_t key_len, const void *val,
                              apr_size_t val_len);

/* Take or keep a lease in one step: when key is absent, SET key val PX
 * px_ms; when it holds val (ours), extend it to px_ms; otherwise leave it.
 * APR_SUCCESS: held by val now; APR_EEXIST: held by someone else.  Atomic
 * (a Lua script), so two takers never both think they hold it. */
apr_status_t pc_redis_hold(pc_redis_t *r, const void *key, apr_size_t key_len,
                           const void *val, apr_size_t val_len,
                           apr_int64_t px_ms);

/* DEL of n keys (1..64); *removed (may be NULL): how many existed. */
apr_status_t pc_redis_del(pc_redis_t *r, apr_int64_t *removed, int n,
                          const void *const *keys, const apr_size_t *key_lens);

/* INCR: *value is the new value. */
apr_status_t pc_redis_incr(pc_redis_t *r, apr_int64_t *value, const void *key,
                           apr_size_t key_len);

/* Who is present: a sorted set of members, each until an expiry in the
 * Redis server's clock (so the clients' clocks do not matter).  With
 * member non-NULL and ttl_ms > 0: member is present for ttl_ms from now;
 * with member non-NULL and ttl_ms == 0: member leaves.  Members whose time
 * has passed are dropped, and *present (may be NULL) is how many are left.
 * One Lua script (ZADD/ZREM, ZREMRANGEBYSCORE, ZCARD). */
apr_status_t pc_redis_presence(pc_redis_t *r, apr_int64_t *present,
                               const void *key, apr_size_t key_len,
                               const char *member, apr_int64_t ttl_ms);

/* How many members present in presence_key (see pc_redis_presence) are
 * not (yet) in the set set_key: *missing.  One Lua script
 * (ZRANGEBYSCORE, SISMEMBER). */
apr_status_t pc_redis_missing(pc_redis_t *r, apr_int64_t *missing,
                              const char *set_key, const char *presence_key);

/* SADD key member, and the set expires px_ms from now (px_ms >= 1). */
apr_status_t pc_redis_sadd_px(pc_redis_t *r, const char *key,
                              const char *member, apr_int64_t px_ms);

/* PEXPIRE key px_ms (px_ms >= 1); APR_NOTFOUND when the key is absent. */
apr_status_t pc_redis_pexpire(pc_redis_t *r, const void *key,
                              apr_size_t key_len, apr_int64_t px_ms);

/* GET of an integer (an epoch): APR_NOTFOUND when absent; an error
 * (PC_REDIS_E_REPLY) when the value is not a decimal integer. */
apr_status_t pc_redis_get_int(pc_redis_t *r, apr_int64_t *value,
                              const void *key, apr_size_t key_len);

/* PUBLISH; *receivers (may be NULL): subscribers that got it. */
apr_status_t pc_redis_publish(pc_redis_t *r, apr_int64_t *receivers,
                              const char *channel, const void *msg,
                              apr_size_t len);

/* A token bucket shared by every client of the server: `rate` tokens per
 * second (> 0), at most `burst` (>= 1) saved up; a full bucket at first
 * use.  Takes one token: *allowed = 1, *wait_ms = 0; or, when empty,
 * *allowed = 0 and *wait_ms = how long until a token is there.  Time is
 * the Redis server's (TIME), so the clocks of the web servers do not
 * matter.  Runs the Lua script PC_REDIS_BUCKET_LUA (EVALSHA, EVAL when the
 * server does not have it yet). */
apr_status_t pc_redis_bucket(pc_redis_t *r, int *allowed, apr_int64_t *wait_ms,
                             const void *key, apr_size_t key_len, double rate,
                             double burst);

/* The bucket script (for the docs and tests).  KEYS[1] a hash
 * {tokens, ts}; ARGV: rate per second, burst.  Returns {allowed, wait_ms}. */
extern const char PC_REDIS_BUCKET_LUA[];

/* --- subscriber -------------------------------------------------------- */

/* Connect (if needed) and SUBSCRIBE to channel; with Sentinel also
 * SUBSCRIBE +switch-master on a sentinel.  Afterwards only
 * pc_redis_read_message() may be used on r. */
apr_status_t pc_redis_subscribe(pc_redis_t *r, const char *channel);

/* Wait at most wait_ms for a message on the channel:
 *   APR_SUCCESS  *msg filled
 *   APR_TIMEUP   nothing yet (check the stop flag, call again)
 *   APR_EOF      the subscription is lost (connection lost, PING not
 *                answered, master switched): call pc_redis_subscribe() */
apr_status_t pc_redis_read_message(pc_redis_t *r, pc_redis_msg_t *msg,
                                   int wait_ms, apr_pool_t *p);

#endif

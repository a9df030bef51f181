/*
 * pc_farm_redis.h - the farm cache on the module's own Redis client
 * (PingOneConsentCache redis://, redis-sentinel://, rediss://): per-child
 * connections, sealed values, and the commands the decision cache
 * (pc_dcache.c), the farm-wide budget (pc_ratelimit.c) and the purge
 * subscriber (pc_subscriber.c) need.  Key names and formats: src/pc_farm.h.
 *
 * Connections.  Each child keeps a small pool of clients (src/pc_redis.h),
 * made in child_init and connected on first use: one per thread that calls
 * Redis at the same moment, at most the MPM's threads per child plus
 * PC_FR_SPARE for background work.  A thread takes a client for one call
 * and gives it back; the call runs in the caller's thread with the
 * client's own timeouts (connect and command PC_FR_TIMEOUT_MS each): no
 * helper threads.  A client whose connection broke reconnects on its next
 * call.  After a failure to reach Redis (refused, timeout, login refused,
 * no master), every client of the child fails at once for PC_FR_DOWN_MS,
 * so a dead or hung server costs one timeout per second per child, not one
 * per request.  With Sentinel, clients are given the farm's master
 * generation before each command (pc_farm_state.h).
 *
 * Values.  Entries are framed (fresh_until, expires) and sealed
 * (pc_farm_state.h) under their Redis key; an entry whose seal fails reads
 * as absent.  kv values, lease holders and the epoch are sealed too.  The
 * budget's token bucket is a Lua hash and is not.
 *
 * Errors.  Functions return APR_SUCCESS, the outcome documented, or a
 * failure with *why (allocated in c->p): what failed and where, from
 * pc_redis_last_error - never a key, a value or a secret.
 */
#ifndef PC_FARM_REDIS_H
#define PC_FARM_REDIS_H

#include "httpd.h"

#include "pc_farm.h"
#include "pc_farm_state.h"
#include "pc_log.h"
#include "pc_redis.h"

#define PC_FR_TIMEOUT_MS 500
#define PC_FR_DOWN_MS 1000
#define PC_FR_SPARE 4
#define PC_FR_PRESENT_MS 2000
#define PC_FR_PRESENCE_KEY "pc:subs"

/* post_config (parent): use Redis as configured (fc->redis non-NULL), or
 * not at all (NULL). */
void pc_farm_redis_configure(apr_pool_t *pconf, const pc_farm_conf_t *fc);
int pc_farm_redis_on(void);

/* The client configuration (for the subscriber's own client) and the
 * purge channel's name. */
const pc_redis_conf_t *pc_farm_redis_client_conf(void);
const char *pc_farm_redis_channel(void);

/* child_init: the pool of clients (no connection yet). */
void pc_farm_redis_child_init(apr_pool_t *p, server_rec *s);

/* ---- entries under their 20-byte cache key -------------------------------- */

/* APR_SUCCESS (*val allocated in c->p), or APR_NOTFOUND (absent, or the
 * seal or frame did not verify). */
apr_status_t pc_farm_redis_get(const unsigned char *key,
                               const unsigned char **val, apr_size_t *len,
                               apr_time_t *fresh_until, apr_time_t *expires,
                               const pc_ctx_t *c, const char **why);

/* SET ... PX until expires (already expired: nothing is stored). */
apr_status_t pc_farm_redis_put(const unsigned char *key,
                               const unsigned char *val, apr_size_t len,
                               apr_time_t fresh_until, apr_time_t expires,
                               const pc_ctx_t *c, const char **why);

/* DEL of n keys (1..64, PC_FARM_KEY_BYTES each, one after the other);
 * *removed (may be NULL): how many existed. */
apr_status_t pc_farm_redis_del(const unsigned char *keys, int n,
                               apr_int64_t *removed, const pc_ctx_t *c,
                               const char **why);

/* ---- the purge-all epoch and the purge channel --------------------------- */

/* APR_SUCCESS (0 when never purged), or a failure (also for a value whose
 * seal fails: the epoch must not silently fall back to 0). */
apr_status_t pc_farm_redis_epoch_read(apr_uint32_t *epoch, const pc_ctx_t *c,
                                      const char **why);
apr_status_t pc_farm_redis_epoch_write(apr_uint32_t epoch, const pc_ctx_t *c,
                                       const char **why);

/* Tell every server of the farm to drop these keys (n of
 * PC_FARM_KEY_BYTES each) from its local tier, or to flush it (purge-all:
 * keys NULL), and wait until each server present in the farm has done so
 * (its subscriber adds the server's id to the message's ack set), at most
 * PC_FARM_ALIVE_WINDOW (+ a margin): a server that has not answered by
 * then has stopped trusting its local tier anyway (pc_farm_state.h).  So
 * when this returns APR_SUCCESS, no server of the farm answers from a copy
 * the purge removed.  A failure: the PUBLISH itself failed. */
apr_status_t pc_farm_redis_purge(const unsigned char *keys, int n,
                                 const pc_ctx_t *c, const char **why);

/* The subscriber: message id applied here. */
void pc_farm_redis_ack(const char *id, const pc_ctx_t *c);

/* The subscriber: this server is present in the farm's presence set (and
 * so every purge will wait for its confirmation) for the next
 * PC_FR_PRESENT_MS, or leaves it (here 0).  APR_SUCCESS or a failure. */
apr_status_t pc_farm_redis_present(int here, const pc_ctx_t *c,
                                   const char **why);

/* ---- small values, leases, the budget ------------------------------------- */

apr_status_t pc_farm_redis_kv_get(const char *name, const unsigned char **val,
                                  apr_size_t *len, const pc_ctx_t *c,
                                  const char **why);
apr_status_t pc_farm_redis_kv_put(const char *name, const unsigned char *val,
                                  apr_size_t len, apr_interval_time_t ttl,
                                  const pc_ctx_t *c, const char **why);

/* Take the lease `name` for holder, or extend it when holder has it:
 * APR_SUCCESS, APR_EEXIST (another holds it), or a failure. */
apr_status_t pc_farm_redis_hold(const char *name, const char *holder,
                                apr_interval_time_t ttl, const pc_ctx_t *c,
                                const char **why);

/* One call from the farm's token bucket (rate per second, burst). */
apr_status_t pc_farm_redis_bucket(int rate, int burst, int *allowed,
                                  apr_int64_t *wait_ms, const pc_ctx_t *c,
                                  const char **why);

#endif

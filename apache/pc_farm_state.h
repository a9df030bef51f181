/*
 * pc_farm_state.h - what a farm cache needs besides the entries themselves.
 *
 * Seals.  Every value the module stores in a farm cache (the module's own
 * Redis client, or a socache provider: memcache, mod_socache_redis) is
 * sealed with the farm's key (PingOneConsentCacheKey, src/pc_hmac.h) over
 * its cache key and value.  A value whose seal does not verify is ignored
 * like a miss, counted (cache_seal_failures) and logged at most once a
 * minute (PC00030).
 *
 * The local tier (Redis URL only).  Each server keeps its own table
 * (pc_local.h) in front of Redis.  Its state lives in an area of the
 * shared segment:
 *   - alive: the purge subscriber (pc_subscriber.c) is subscribed and has
 *     applied every message it received up to a moment less than
 *     PC_FARM_ALIVE_WINDOW ago.  Only then is the table read; otherwise
 *     reads go to Redis (the table may miss a purge).
 *   - generation: bumped before every removal from the table that a purge
 *     makes.  A request that copies an entry from Redis into the table
 *     reads the generation before its Redis read and again after the copy;
 *     when it moved, it takes the copy out again (a purge may have removed
 *     the entry from the table between the read and the copy).  Removers
 *     go in the opposite order: remove from Redis, bump, remove from the
 *     table.
 *   - epoch: the farm's purge-all epoch as the subscriber last read it
 *     from Redis (used while alive; otherwise each lookup reads Redis).
 *   - master generation: bumped when Sentinel switches the master, so
 *     every connection leaves the old master at once.
 *
 * Why a missed purge cannot leave a stale allow: a purge is published
 * after the entries are gone from Redis, and its publisher returns only
 * when every server present in the farm (a presence set in Redis, renewed
 * by each subscriber while it is alive) has confirmed it, or after
 * PC_FARM_ALIVE_WINDOW.  A subscriber marks the tier alive only after a
 * wait on a live subscription in which nothing arrived, so a server that
 * did not get the message (its subscription was dropped before the
 * publish) was last alive before the publish, and has stopped using its
 * table by the time the publisher returns.
 */
#ifndef PC_FARM_STATE_H
#define PC_FARM_STATE_H

#include "httpd.h"

#include "pc_hmac.h"
#include "pc_log.h"
#include "pc_rurl.h"
#include "pc_segment.h"

/* The local tier is used while the subscriber has been alive within this. */
#define PC_FARM_ALIVE_WINDOW apr_time_from_sec(1)
/* Hex digits of a server's id in the farm (random, kept across graceful
 * restarts). */
#define PC_FARM_SERVER_ID 16

/* The farm settings (main server only), from the directives. */
typedef struct pc_farm_conf_t {
    const char *name;              /* PingOneConsentCache as written */
    const pc_rurl_t *redis;        /* the module's Redis client; NULL: none */
    int socache;                   /* a socache provider is the farm cache */
    const char *user, *password;   /* PingOneConsentCacheAuth */
    const char *sentinel_user, *sentinel_password; /* ...SentinelAuth */
    const pc_hmac_t *hmac;         /* PingOneConsentCacheKey */
} pc_farm_conf_t;

/* The directives that belong together, checked once the configuration is
 * read: a farm cache needs a key; Auth needs a Redis URL.  NULL or an
 * error naming the directive. */
const char *pc_farm_check(apr_pool_t *p, const pc_farm_conf_t *fc);

pc_seg_area_t pc_farm_area(void);

/* post_config: the key to seal with (NULL: no farm cache). */
void pc_farm_set_key(const pc_hmac_t *hmac);

/* ---- seals ----------------------------------------------------------- */

/* Seal val, stored under key: *out allocated in p. */
apr_status_t pc_farm_seal(unsigned char **out, apr_size_t *out_len,
                          const void *key, apr_size_t key_len,
                          const unsigned char *val, apr_size_t val_len,
                          apr_pool_t *p);

/* Open a value read under key: APR_SUCCESS (*val points into sealed;
 * *old, when not NULL, is 1 when the second key of PingOneConsentCacheKey
 * opened it: a value to seal again with the first), or APR_NOTFOUND when
 * the seal does not verify (counted and logged: the caller treats it as a
 * miss). */
apr_status_t pc_farm_open(const unsigned char **val, apr_size_t *val_len,
                          int *old, const void *key, apr_size_t key_len,
                          const unsigned char *sealed, apr_size_t sealed_len,
                          const pc_ctx_t *c);

/* ---- the local tier ---------------------------------------------------- */

/* Microseconds of a monotonic clock (the same for every process of the
 * machine): the alive window and the publisher's wait use it. */
apr_time_t pc_farm_mono_now(void);

int pc_farm_tier_alive(void);
apr_uint32_t pc_farm_tier_gen(void);
void pc_farm_tier_bump(void);
apr_uint32_t pc_farm_tier_epoch(void);

/* The subscriber: applied everything up to now (owner: its pid); down
 * (only the owner's word counts, so a stopping subscriber of an old
 * generation does not take down the new one's: 1 when it did); the epoch
 * it read. */
void pc_farm_tier_set_alive(pid_t owner);
int pc_farm_tier_set_down(pid_t owner);
void pc_farm_tier_set_epoch(apr_uint32_t epoch);

/* This server's id in the farm's presence set (pc_farm_redis.h). */
const char *pc_farm_server_id(void);

apr_uint64_t pc_farm_master_gen(void);
void pc_farm_master_switched(void);

#endif

/*
 * pc_dcache.h - the decision cache: decisions stored in this server's own
 * lock-free table (pc_local.h, the default), in Redis through the module's
 * own client with that table in front as a local tier (pc_farm_redis.h,
 * pc_subscriber.h), or in a farm cache reached through an Apache socache
 * provider (memcache, mod_socache_redis); with purge tombstones that keep a
 * lookup racing a purge from undoing it, and "purge all" (a new epoch of
 * the local table; a new key epoch in a farm cache).
 *
 * Every value stored in a farm cache is sealed (pc_farm_state.h).  Every
 * call into a socache provider runs with a deadline (pc_rcall.h); Redis
 * calls have the client's own timeouts.  A failing cache never fails a
 * request: it counts as a miss (logged once a minute) and PingOne decides.
 */
#ifndef PC_DCACHE_H
#define PC_DCACHE_H

#include "httpd.h"

#include "pc_cache.h"
#include "pc_farm_state.h"
#include "pc_lookup.h"
#include "pc_log.h"
#include "pc_segment.h"

#define PC_DEFAULT_CACHE "shm"

/* PingOneConsentCache and PingOneConsentCacheSize, resolved. */
typedef struct pc_cache_setting_t {
    const char *name;            /* as configured, for status output */
    const char *farm_provider;   /* a socache provider, NULL: none */
    const char *farm_args;
    apr_uint64_t local_entries;  /* the local table's decisions */
    pc_farm_conf_t farm;         /* Redis URL, credentials, key */
} pc_cache_setting_t;

typedef struct pc_dcache_stats_t {
    long entries;                /* -1: unknown (a farm cache) */
    apr_uint64_t capacity;       /* decisions; 0: unknown */
    apr_uint64_t evictions, evictions_fresh;
} pc_dcache_stats_t;

/* An entry's identity with its cache key.  The purge-all epoch is read
 * once, by pc_cache_ref_init, so a lookup stores under the epoch it began
 * in (a purge-all meanwhile hides what it stores).  The SHA-1 key is
 * computed on first use only: a per-process copy is found without it. */
typedef struct pc_cache_ref_t {
    pc_entry_id_t id;
    apr_uint32_t epoch;
    int usable;                /* 0: the farm's epoch could not be read */
    unsigned char key[PC_CACHE_KEY_LEN];
    int have_key;
} pc_cache_ref_t;

void pc_cache_ref_init(pc_cache_ref_t *ref, const pc_entry_id_t *id,
                       const pc_ctx_t *c);
const unsigned char *pc_cache_ref_key(pc_cache_ref_t *ref);

/* ---- lifecycle ------------------------------------------------------------ */

/* The segment area (generation, epoch, error-log throttle). */
pc_seg_area_t pc_dcache_area(void);

/* post_config: create the cache, or find the previous generation's local
 * table again.  NULL or an error naming the directive. */
const char *pc_dcache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const pc_cache_setting_t *cs);
void pc_dcache_child_init(apr_pool_t *p, server_rec *s);

/* Where purges must look: every environment and application configured
 * (set once at start-up, in the parent). */
void pc_dcache_set_targets(apr_array_header_t *envs, apr_array_header_t *apps);
/* The longest PingOneTimeout (ms): bounds a tombstone's life. */
void pc_dcache_note_timeout(int timeout_ms);

int pc_dcache_ready(void);
/* The cache setting in use, for status output. */
const char *pc_dcache_name(void);
void pc_dcache_stats(pc_dcache_stats_t *out);

/* ---- entries ------------------------------------------------------------- */

/* The entry stored for ref, checked to be for exactly ref->id. */
pc_get_e pc_dcache_get(pc_cache_entry_t *e, pc_cache_ref_t *ref,
                       const pc_ctx_t *c);

/* Store e until store_until.  asked_at: when the PingOne call that made e
 * started (0: not from PingOne); when a purge of the same user and
 * application came since, e is taken out again (PC_PUT_RACED). */
pc_put_e pc_dcache_put(pc_cache_ref_t *ref, const pc_cache_entry_t *e,
                       apr_time_t store_until, apr_time_t asked_at,
                       const pc_ctx_t *c);

/* Drop a user's decisions (one application, or all when app is NULL) and
 * the username mapped to the user, here and, with a farm cache, on every
 * server.  APR_SUCCESS when every tombstone and removal took effect
 * (*removed: the entries the cache held); else the cache failed and the
 * purge may not be effective: the caller must say so (a webhook answers
 * 503, so PingOne retries). */
apr_status_t pc_dcache_purge_user(int *removed, const char *user_id,
                                  const char *app, const pc_ctx_t *c);

/* Drop every decision.  APR_SUCCESS, or the farm cache failed and the
 * purge is not effective. */
apr_status_t pc_dcache_purge_all(const pc_ctx_t *c);

/* ---- small values shared by the farm ------------------------------------ */

/* Background work that must happen once per farm, or continue where
 * another server stopped (the activity feed's cursor and lease), keeps
 * small values here: in the farm cache when there is one, else in the
 * local table.  get: APR_SUCCESS (*len: the buffer's size in, the
 * value's length out), APR_NOTFOUND, or a failure. */
apr_status_t pc_dcache_kv_get(const char *name, char *buf, apr_size_t *len,
                              const pc_ctx_t *c);
apr_status_t pc_dcache_kv_put(const char *name, const char *val,
                              apr_size_t len, apr_interval_time_t ttl,
                              const pc_ctx_t *c);

/* Take or renew the lease `name` for `holder` (a name unique to this
 * server) for ttl: APR_SUCCESS when this holder has it now, APR_EEXIST
 * when another holds it, else the cache failed. */
apr_status_t pc_dcache_lease(const char *name, const char *holder,
                             apr_interval_time_t ttl, const pc_ctx_t *c);

#endif

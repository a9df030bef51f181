/*
 * pc_dcache.h - the decision cache: decisions stored in an Apache socache
 * (shmcb on this server by default; redis or memcache for a farm), with
 * per-process copies in front of a local one (pc_l1.h), purge tombstones
 * that keep a lookup racing a purge from undoing it, and "purge all" by
 * moving every key to a new epoch.
 *
 * Every call into a remote provider runs with a deadline (pc_rcall.h);
 * shmcb runs under the global mutex.  A failing cache never fails a
 * request: it counts as a miss (logged once a minute) and PingOne decides.
 */
#ifndef PC_DCACHE_H
#define PC_DCACHE_H

#include "httpd.h"

#include "pc_cache.h"
#include "pc_lookup.h"
#include "pc_segment.h"

#define PC_DEFAULT_CACHE "shmcb"

/* An entry's identity with its cache key.  The purge-all epoch is read
 * once, by pc_cache_ref_init, so a lookup stores under the epoch it began
 * in (a purge-all meanwhile hides what it stores).  The SHA-1 key is
 * computed on first use only: a per-process copy is found without it. */
typedef struct pc_cache_ref_t {
    pc_entry_id_t id;
    apr_uint32_t epoch;
    unsigned char key[PC_CACHE_KEY_LEN];
    int have_key;
} pc_cache_ref_t;

void pc_cache_ref_init(pc_cache_ref_t *ref, const pc_entry_id_t *id,
                       request_rec *r);
const unsigned char *pc_cache_ref_key(pc_cache_ref_t *ref);

/* ---- lifecycle ------------------------------------------------------------ */

/* The segment area (generation, epoch, error-log throttle). */
pc_seg_area_t pc_dcache_area(void);

/* post_config: find the provider, create the cache or find the previous
 * generation's again (shmcb survives a graceful restart).  NULL or an
 * error naming the directive. */
const char *pc_dcache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const char *provider,
                                  const char *args);
void pc_dcache_child_init(apr_pool_t *p, server_rec *s);

/* Where purges must look: every environment and application configured
 * (set once at start-up, in the parent). */
void pc_dcache_set_targets(apr_array_header_t *envs, apr_array_header_t *apps);
/* The longest PingOneTimeout (ms): bounds a tombstone's life. */
void pc_dcache_note_timeout(int timeout_ms);
/* The largest PingOneConsentStaleIfError (s): how long copies are kept
 * past freshness. */
void pc_dcache_note_stale_window(int seconds);

int pc_dcache_ready(void);
/* The cache setting in use, for status output. */
const char *pc_dcache_name(void);
/* Entries stored (-1 when the provider cannot iterate: redis, memcache). */
long pc_dcache_entries(request_rec *r);

/* ---- entries ------------------------------------------------------------- */

/* The entry stored for ref, checked to be for exactly ref->id. */
pc_get_e pc_dcache_get(pc_cache_entry_t *e, pc_cache_ref_t *ref,
                       request_rec *r);

/* Store e until store_until.  asked_at: when the PingOne call that made e
 * started (0: not from PingOne); when a purge of the same user and
 * application came since, e is taken out again (PC_PUT_RACED). */
pc_put_e pc_dcache_put(pc_cache_ref_t *ref, const pc_cache_entry_t *e,
                       apr_time_t store_until, apr_time_t asked_at,
                       request_rec *r);

/* Drop a user's decisions (one application, or all when app is NULL),
 * here and, with a farm cache, on every server.  Returns the number of
 * entries the cache removed. */
int pc_dcache_purge_user(const char *user_id, const char *app,
                         request_rec *r);

/* Drop every decision: moves every key to a new epoch. */
void pc_dcache_purge_all(request_rec *r);

#endif

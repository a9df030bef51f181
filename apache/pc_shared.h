/*
 * pc_shared.h - state shared by all httpd processes: the decision cache
 * (an Apache socache), and a small shared-memory segment holding the
 * worker tokens, the in-flight lookup table (single flight), the 429
 * back-off and the counters.  One global mutex (`Mutex pingone-consent`)
 * guards the segment and, for providers that need it (shmcb), the cache;
 * it is never held across a network call.
 */
#ifndef PC_SHARED_H
#define PC_SHARED_H

#include "httpd.h"
#include "http_config.h"

#include "pc_cache.h"
#include "pc_client.h"

#define PC_MUTEX_TYPE "pingone-consent"
#define PC_DEFAULT_CACHE "shmcb"
#define PC_DEFAULT_ALLOW_TTL 60
#define PC_DEFAULT_DENY_TTL 10

/* Start-up, in the parent: find the provider, create or re-attach the
 * cache and the shared segment (both survive a graceful restart), create
 * the mutex.  Returns NULL or an error message naming the directive. */
const char *pc_shared_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const char *cache_spec);
void pc_shared_pre_config(apr_pool_t *pconf);
void pc_shared_child_init(apr_pool_t *p, server_rec *s);

/* The token store shared by all processes for one worker app (identified
 * by auth base, environment and client ID). */
pc_token_store_t *pc_shared_token_store(apr_pool_t *p, const char *identity);

/* What a cache entry is for.  The SHA-1 cache key is computed only when
 * the shared cache is asked (pc_cache_id_key); the per-process copies are
 * found by the identity itself, so a warm hit costs no hashing beyond a
 * cheap index. */
typedef struct pc_cache_id_t {
    pc_cache_kind_e kind;
    const char *env, *user, *app;
    unsigned char key[PC_CACHE_KEY_LEN];
    int have_key;
    apr_uint32_t epoch;         /* purge-all counter folded into the key */
} pc_cache_id_t;

void pc_cache_id_init(pc_cache_id_t *id, pc_cache_kind_e kind,
                      const char *env, const char *user, const char *app,
                      request_rec *r);
const unsigned char *pc_cache_id_key(pc_cache_id_t *id);

/* Cache access.  get: APR_SUCCESS with *e filled, APR_NOTFOUND, or an
 * error (the cache itself failed; logged, throttled). */
apr_status_t pc_shared_get(pc_cache_entry_t *e, pc_cache_id_t *id,
                           const char *expect_user, const char *expect_app,
                           request_rec *r);
/* put: stores e until store_until.  asked_at: when the PingOne call that
 * produced e started (0 when not from PingOne); if a purge of the same
 * user+app happened since, the entry is taken out again and -1 returned
 * (see the tombstones in pc_shared.c).  1 when it stays cached, 0 when it
 * could not be stored (no cache, encode or store failure). */
int pc_shared_put(pc_cache_id_t *id, const pc_cache_entry_t *e,
                  apr_time_t store_until, apr_time_t asked_at, request_rec *r);
/* The longest PingOneTimeout in use (ms): bounds a tombstone's life. */
void pc_shared_note_timeout(int timeout_ms);

/* Single flight.  pc_flight_begin: 1 = the caller leads (asks PingOne and
 * must call pc_flight_end), 0 = another process/thread asked and finished
 * within wait_ms (*ok tells whether it succeeded; on failure
 * err_tag/retry_after carry its error), -1 = no slot / timed out (the
 * caller asks PingOne itself).  The leader hands its answer over in the
 * slot (the encoded cache value, at most PC_FLIGHT_VALUE bytes): a
 * follower gets it in value/value_len (0 when there is none, e.g. the
 * answer was not to be cached), so followers do not depend on the cache
 * provider being reachable. */
#define PC_FLIGHT_VALUE 512
int pc_flight_begin(const unsigned char *key, int wait_ms, int *ok,
                    const char **err_tag, const char **retry_after,
                    unsigned char *value, unsigned int *value_len,
                    request_rec *r);
void pc_flight_end(const unsigned char *key, int ok, const char *err_tag,
                   const char *retry_after, const unsigned char *value,
                   unsigned int value_len);

/* 429 back-off, shared: seconds left (0: none), and setting it. */
int pc_backoff_left(apr_time_t now);
void pc_backoff_set(apr_time_t until);

/* Counters, updated under the mutex. */
typedef enum {
    PC_CNT_HIT, PC_CNT_MISS, PC_CNT_STALE, PC_CNT_ERROR, PC_CNT_COALESCED,
    PC_CNT_FAIL_OPEN, PC_CNT_PINGONE, PC_CNT_TOKEN, PC_CNT_CACHE_ERROR,
    PC_CNT_WEBHOOK_OK, PC_CNT_WEBHOOK_REFUSED, PC_CNT_WEBHOOK_DROPPED,
    PC_CNT_MAX
} pc_counter_e;

typedef struct pc_counters_t {
    apr_uint64_t v[PC_CNT_MAX];
} pc_counters_t;

void pc_count(pc_counter_e which);
extern const char *const pc_counter_names[PC_CNT_MAX];

/* PingOne call latency: record one, and read percentiles (ms, upper bound
 * of the histogram bucket; -1 when there were no calls). */
void pc_latency_record(apr_interval_time_t elapsed);
void pc_latency_percentiles(int *p50, int *p90, int *p99, apr_uint64_t *n);

/* Seconds until the stored worker tokens expire (-1: none), for status. */
int pc_token_seconds_left(void);
void pc_counters_read(pc_counters_t *out);

/* Where a user's decisions may be: every environment and application
 * configured (set once at start-up, in the parent). */
void pc_shared_set_targets(apr_array_header_t *envs,
                           apr_array_header_t *apps);
/* Drop a user's cached decisions (for one application, or all when app is
 * NULL), here and, with redis/memcache, on every server sharing the cache.
 * Returns how many entries the cache removed. */
int pc_shared_purge_user(const char *user_id, const char *app,
                         request_rec *r);
/* Drop every cached decision: moves every key to a new epoch. */
void pc_shared_purge_all(request_rec *r);
/* The largest PingOneConsentStaleIfError of any host (first-level copies
 * are kept that long past freshness). */
void pc_shared_set_stale_window(int seconds);

/* Whether the cache is usable (post_config ran and found the provider). */
int pc_shared_ready(void);
const char *pc_shared_cache_name(void);
/* Entries in the cache (epoch markers included), -1 when the provider
 * cannot iterate (redis and memcache cannot). */
long pc_shared_entries(request_rec *r);

#endif

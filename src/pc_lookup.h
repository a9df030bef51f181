/*
 * pc_lookup.h - the lookup policy: how one request learns the consent that
 * counts (pure core, no httpd).
 *
 * This is the heart of the module.  For one (environment, user,
 * application) it decides, in order:
 *
 *   1. cache      a fresh entry decides at once; a stale one is kept aside
 *                 (an allow is fresh for the allow TTL, or for the feed
 *                 TTL while the activity feed is healthy)
 *   2. back-off   while PingOne's 429 back-off runs, nobody asks PingOne
 *   3. flight     when another thread or process is asking the same
 *                 question right now, wait for its answer (single flight)
 *   4. budget     take one call from the PingOne call budget; over budget
 *                 a stale entry decides, else wait for budget (bounded)
 *   5. PingOne    ask, select the consent that counts, cache the answer
 *                 (allow and deny TTLs, an allow the feed TTL when there
 *                 is an activity feed; not at all when a purge raced it)
 *                 and hand it to the followers
 *   6. failure    PingOne failed (or no budget): a stale entry within the
 *                 stale window decides, else fail open if configured, else
 *                 an error (the glue answers 503 with Retry-After)
 *
 * It touches the world only through pc_lookup_ops_t: the cache, the
 * single-flight table, the back-off, the clock, the counters, the PingOne
 * client and the log.  The Apache glue (apache/pc_lookup_glue.c) provides
 * them over shared memory and libcurl; the unit tests provide fakes.
 */
#ifndef PC_LOOKUP_H
#define PC_LOOKUP_H

#include "pc_cache.h"
#include "pc_client.h"
#include "pc_stats.h"

/* ---- the world, as the policy sees it ------------------------------------ */

typedef enum {
    PC_GET_HIT = 0,        /* *e filled: an entry for exactly this id */
    PC_GET_MISS,           /* nothing (or nothing usable) stored */
    PC_GET_ERROR           /* the cache failed (the ops logged it) */
} pc_get_e;

typedef enum {
    PC_PUT_KEPT = 0,       /* stored */
    PC_PUT_NOT_STORED,     /* no cache, or the store failed */
    PC_PUT_RACED           /* stored, but a purge of this user and
                              application came after asked_at: the entry
                              was taken out again */
} pc_put_e;

typedef enum {
    PC_FLIGHT_LEAD = 0,    /* the caller asks PingOne and must end the
                              flight with flight_end */
    PC_FLIGHT_FOLLOWED,    /* another caller asked; *answer holds the end */
    PC_FLIGHT_ALONE        /* no flight (table full, or the wait timed
                              out): the caller asks, flight_end not called */
} pc_flight_e;

/* How a flight ended, handed from its leader to the followers. */
typedef struct pc_flight_answer_t {
    int ok;                          /* PingOne answered (any verdict) */
    const char *err_tag;             /* !ok: the leader's error tag */
    const char *retry_after;         /* !ok: its Retry-After, or NULL */
    /* ok: the leader's answer (the answer to the question the followers
     * asked, whatever its TTL), NULL when it handed none over (a purge
     * raced it, or it did not fit). */
    const pc_cache_entry_t *entry;
} pc_flight_answer_t;

typedef struct pc_lookup_ops_t {
    void *baton;
    apr_time_t (*now)(void *baton);
    /* The entry stored for id, checked to be for exactly that id. */
    pc_get_e (*cache_get)(void *baton, const pc_entry_id_t *id,
                          pc_cache_entry_t *e, apr_pool_t *p);
    /* Store e until store_until.  asked_at: when the PingOne call that
     * produced it started (0: not from PingOne, no purge check). */
    pc_put_e (*cache_put)(void *baton, const pc_entry_id_t *id,
                          const pc_cache_entry_t *e, apr_time_t store_until,
                          apr_time_t asked_at, apr_pool_t *p);
    /* Single flight for id; a follower waits at most wait_ms. */
    pc_flight_e (*flight_begin)(void *baton, const pc_entry_id_t *id,
                                int wait_ms, pc_flight_answer_t *answer,
                                apr_pool_t *p);
    void (*flight_end)(void *baton, const pc_entry_id_t *id,
                       const pc_flight_answer_t *answer, apr_pool_t *p);
    /* PingOne's 429 back-off shared by all processes: seconds left. */
    int (*backoff_left)(void *baton, apr_time_t now);
    void (*backoff_set)(void *baton, apr_time_t until);
    /* Take one call from the PingOne call budget, waiting at most wait_ms
     * for one: 1 taken, 0 not (then *retry_after: seconds until one). */
    int (*budget_take)(void *baton, int wait_ms, int *retry_after);
    void (*count)(void *baton, pc_counter_e which);
    void (*latency)(void *baton, apr_interval_time_t elapsed);
    /* The PingOne client (pc_client_get_consents / pc_client_find_user). */
    apr_status_t (*get_consents)(void *baton, const char *user_id,
                                 const char *app_id, const char *app_name,
                                 apr_array_header_t **consents,
                                 pc_error_t *err, apr_pool_t *p);
    apr_status_t (*find_user)(void *baton, const char *username,
                              const char **user_id, pc_error_t *err,
                              apr_pool_t *p);
    /* level as syslog (3 error .. 7 debug); msg starts with its PC tag. */
    void (*log)(void *baton, int level, const char *msg);
    /* The activity feed of env_id (pc_activity.h), when it is healthy at
     * `now`: the time from which it has seen every event, so an entry
     * fetched since then would have been dropped by a revocation; 0 when
     * the feed is not healthy (or there is none).  May be NULL: no feed. */
    apr_time_t (*feed_since)(void *baton, const char *env_id, apr_time_t now);
} pc_lookup_ops_t;

/* ---- settings and results --------------------------------------------- */

typedef struct pc_lookup_policy_t {
    int allow_ttl;             /* seconds an ACCEPTED answer stays fresh */
    int deny_ttl;              /* seconds any other answer stays fresh */
    int stale_window;          /* seconds past freshness usable on error */
    int fail_open;             /* PingOneConsentFailMode open */
    int wait_ms;               /* a follower's longest wait (PingOneTimeout) */
    int default_retry_after;   /* seconds, when PingOne sent none */
    /* PingOneConsentFeedTTL: seconds an allow (and a username mapping)
     * may stay fresh while the activity feed is healthy and has seen
     * every event since the entry was fetched; 0: no feed.  Entries are
     * stored that long; whenever the feed is not healthy they are fresh
     * only allow_ttl from when they were fetched, so a broken feed never
     * stretches a revocation beyond allow_ttl.  Unused when allow_ttl is
     * 0 (allows are not cached at all). */
    int feed_ttl;
} pc_lookup_policy_t;

typedef struct pc_lookup_key_t {
    const char *env_id;
    const char *user_id;       /* a PingOne user ID (validated UUID) */
    const char *app_id;        /* exactly one of app_id / app_name */
    const char *app_name;
    const char *user_label;    /* the user as authenticated, for logs */
} pc_lookup_key_t;

typedef enum {
    PC_LK_FOUND = 0,           /* consent known; NULL consent: none */
    PC_LK_UNKNOWN_USER,        /* PingOne does not know the user */
    PC_LK_ERROR,               /* PingOne failed, nothing could decide */
    PC_LK_FAIL_OPEN            /* PingOne failed, fail-open allows */
} pc_lookup_result_e;

typedef enum {
    PC_SRC_CACHE = 0,
    PC_SRC_PINGONE,
    PC_SRC_STALE,
    PC_SRC_FAIL_OPEN
} pc_source_e;

typedef struct pc_outcome_t {
    pc_lookup_result_e result;
    pc_source_e source;
    const pc_consent_t *consent;   /* PC_LK_FOUND: the one that counts */
    const char *user_id;           /* pc_lookup_user: the resolved ID */
    pc_error_t err;                /* what failed (ERROR, FAIL_OPEN, stale) */
    int retry_after;               /* PC_LK_ERROR: seconds for Retry-After */
} pc_outcome_t;

/* "cache", "pingone", "stale", "fail-open". */
const char *pc_source_name(pc_source_e source);

/* The consent that counts for key->user_id and the application. */
void pc_lookup_consent(pc_outcome_t *out, const pc_lookup_ops_t *ops,
                       const pc_lookup_policy_t *policy,
                       const pc_lookup_key_t *key, apr_pool_t *p);

/* Username -> PingOne user ID (cached like a consent).  PC_LK_FOUND with
 * out->user_id set; PC_LK_UNKNOWN_USER when PingOne has no (unique) user
 * of that name; PC_LK_ERROR / PC_LK_FAIL_OPEN (user_id NULL) when PingOne
 * failed. */
void pc_lookup_user(pc_outcome_t *out, const pc_lookup_ops_t *ops,
                    const pc_lookup_policy_t *policy, const char *env_id,
                    const char *username, apr_pool_t *p);

#endif

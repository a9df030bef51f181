/*
 * pc_cache.h - cache keys, cache values and TTL arithmetic (pure core).
 *
 * The Apache glue stores decisions in an Apache socache (shmcb by default,
 * redis or memcache for farms).  This unit decides what goes in:
 *
 *  - Keys are a fixed-length hash of (kind, environment, user, application)
 *    so shmcb's sharding by the first byte spreads well and untrusted input
 *    never shapes the key.  A hash collision cannot cause a wrong decision:
 *    the value carries the user and application it was stored for, and
 *    pc_cache_decode() is asked to check them.
 *  - Values are compact binary, versioned by their first byte
 *    (PC_CACHE_FORMAT); any other version, a truncation, or a length that
 *    does not add up is rejected, never guessed at.
 *
 * Binary layout of a value (all integers big-endian):
 *   u8  format (PC_CACHE_FORMAT)
 *   u8  kind (pc_cache_kind_e)
 *   u8  consent status (pc_cache_status_e)
 *   u8  number of scopes (0..255)
 *   u32 fetched_at   (seconds since the epoch)
 *   u32 fresh_until  (seconds since the epoch)
 *   u32 consent expires_at (seconds, 0 = none)
 *   str user id
 *   str application  (ID or name as configured)
 *   str consent id   (empty when none)
 *   str app name     (may be empty)
 *   str scope * n
 * Every str is one of:
 *   u8 0xFF + 16 bytes  a canonical lowercase UUID (36 chars, '-' at 8, 13,
 *                       18 and 23, [0-9a-f] elsewhere), the 16 raw bytes
 *                       in text order; decodes to the lowercase text form
 *   u8 length (0..254) + bytes   any other text
 * The encoding is canonical: a canonical lowercase UUID is always written
 * in the 0xFF form, and a text string whose bytes are one is rejected.
 * UUID-looking strings that are not canonical (uppercase, braces, ...) are
 * stored as text, unchanged.  Text strings longer than 254 bytes are not
 * storable (encode fails).
 */
#ifndef PC_CACHE_H
#define PC_CACHE_H

#include "pc_consent.h"

#define PC_CACHE_FORMAT 2
#define PC_CACHE_KEY_LEN 20 /* SHA-1 */
#define PC_CACHE_MAX_VALUE 4096

typedef enum {
    PC_CK_CONSENT = 1, /* the consent that counts for user+app (or none) */
    PC_CK_USER = 2,    /* username -> user ID (app = "", consent fields empty;
                          user_id holds the ID, app_name the username) */
    PC_CK_PURGED = 3,  /* key only: the tombstone a purge leaves for a
                          user+app (value: pc_cache_tombstone_encode) */
    PC_CK_NAME_OF = 4  /* user ID -> the username mapped to it (user_id
                          holds the ID, app the username; keyed by env and
                          ID), so a purge of the ID finds the mapping */
} pc_cache_kind_e;

typedef enum {
    PC_CS_NONE = 0,     /* no consent at all / unknown user */
    PC_CS_ACCEPTED = 1,
    PC_CS_REVOKED = 2,
    PC_CS_DECLINED = 3,
    PC_CS_OTHER = 4     /* any other status string */
} pc_cache_status_e;

/* What an entry is for.  For PC_CK_CONSENT: (env, user ID, application ID
 * or name); for PC_CK_USER: (env, username, ""). */
typedef struct pc_entry_id_t {
    pc_cache_kind_e kind;
    const char *env, *user, *app;
} pc_entry_id_t;

typedef struct pc_cache_entry_t {
    pc_cache_kind_e kind;
    apr_time_t fetched_at;   /* second resolution after a round trip */
    apr_time_t fresh_until;  /* after this the entry is stale */
    const char *user_id;     /* PC_CK_CONSENT: the user the entry is for */
    const char *app;         /* PC_CK_CONSENT: app ID or name it is for */
    /* PC_CK_CONSENT: the consent that counts, NULL when none.  On decode,
     * status is "ACCEPTED", "REVOKED", "DECLINED" or "OTHER". */
    pc_consent_t *consent;
    int unknown_user;        /* PC_CK_CONSENT, consent NULL: PingOne 404 */
} pc_cache_entry_t;

/* key = SHA-1 of kind byte, env, NUL, user, NUL, app.  Always succeeds. */
void pc_cache_key(unsigned char key[PC_CACHE_KEY_LEN], pc_cache_kind_e kind,
                  const char *env_id, const char *user, const char *app);

/* Encode; APR_EINVAL when a text string is over 254 bytes or there are
 * more than 255 scopes (the caller then simply does not cache). */
apr_status_t pc_cache_encode(unsigned char **buf, unsigned int *len,
                             const pc_cache_entry_t *e, apr_pool_t *p);

/* Decode and verify.  expect_user / expect_app: when non-NULL the entry
 * must be for exactly these (else APR_EMISMATCH).  APR_EINVAL for a wrong
 * format byte, truncation, trailing bytes, or bad kind/status values. */
apr_status_t pc_cache_decode(pc_cache_entry_t *e, const unsigned char *buf,
                             unsigned int len, const char *expect_user,
                             const char *expect_app, apr_pool_t *p);

/* How long a freshly fetched consent entry stays fresh: allow_ttl seconds
 * when the consent is ACCEPTED (but never past the consent's own
 * expires_at), deny_ttl seconds otherwise.  0 means "do not cache"
 * (returns 0). */
apr_time_t pc_cache_fresh_until(apr_time_t now, const pc_consent_t *consent,
                                int allow_ttl, int deny_ttl);

/* When the cache itself may drop the entry: fresh_until plus the
 * stale-if-error window (seconds). */
apr_time_t pc_cache_store_expiry(apr_time_t fresh_until, int stale_window);

/* How usable an entry is at `now`: PC_FRESH before fresh_until;
 * PC_STALE within stale_window seconds after it (usable only when PingOne
 * fails); PC_EXPIRED after that. */
typedef enum {
    PC_EXPIRED = -1,
    PC_STALE = 0,
    PC_FRESH = 1
} pc_freshness_e;

pc_freshness_e pc_cache_freshness(const pc_cache_entry_t *e, apr_time_t now,
                                  int stale_window);

/* Purge tombstones.  A purge leaves, next to the removed entry, a small
 * value saying when it happened, so that a lookup that was already asking
 * PingOne when the purge ran (its answer may predate the revoke) can see,
 * right after storing that answer, that it must take it out again.
 *
 * Value: "PCT1 " followed by the purge time in microseconds since the epoch
 * (decimal, 1..19 digits, no sign, no leading zero), nothing else.
 * encode writes at most PC_TOMBSTONE_MAX bytes (no NUL) and returns the
 * length; decode returns APR_EINVAL for anything else. */
#define PC_TOMBSTONE_MAX 32
unsigned int pc_cache_tombstone_encode(char buf[PC_TOMBSTONE_MAX],
                                       apr_time_t purged_at);
apr_status_t pc_cache_tombstone_decode(apr_time_t *purged_at,
                                       const unsigned char *buf,
                                       unsigned int len);

/* 1 when an answer whose PingOne call started at asked_at must not stay
 * cached because a purge happened at purged_at: the purge came after the
 * call started, or less than `slack` before it (clock skew between the
 * servers of a farm).  0 otherwise. */
int pc_cache_purge_raced(apr_time_t purged_at, apr_time_t asked_at,
                         apr_interval_time_t slack);

#endif

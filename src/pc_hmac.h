/*
 * pc_hmac.h - integrity of entries in a shared (remote) cache (pure core).
 *
 * Whoever can write to a remote cache (Redis, memcache) could otherwise
 * store a permanent "allow" for any user.  Every value the module stores
 * there is sealed with an HMAC-SHA256 under a secret the farm shares
 * (PingOneConsentCacheKey), and a value whose seal does not verify is
 * treated as absent.
 *
 * Sealed value (what is stored in the cache):
 *
 *   value || key-id (1 byte) || tag (32 bytes)
 *
 *   tag = HMAC-SHA256(secret, "PCH1" || u32 len(cache key) || cache key
 *                             || u32 len(value) || value || key-id)
 *
 * (u32 big-endian).  The cache key is covered, with explicit lengths, so a
 * value copied under another key (another user's) fails, and no choice of
 * (key, value) can be shifted into another pair with the same MAC input.
 * The key-id is derived from the secret (first byte of
 * HMAC-SHA256(secret, "pc-key-id")): it only tells which of the two
 * configured secrets to try, it is no secret, and it needs no numbering by
 * the admin.
 *
 * Rotation: a context holds the current secret (seals and opens) and
 * optionally a previous one (opens only).  Procedure, each step rolled out
 * to every server of the farm before the next:
 *   1. current = old, previous = new  (everyone can read the new key)
 *   2. current = new, previous = old  (everyone writes the new key)
 *   3. after the longest entry lifetime (TTL + stale window): current = new.
 *
 * Thread rules: a pc_hmac_t is read-only after pc_hmac_create() and may be
 * shared by all threads.  Secrets are wiped (OPENSSL_cleanse) when the pool
 * that holds the context is destroyed; no function here ever puts a secret
 * into a message.
 */
#ifndef PC_HMAC_H
#define PC_HMAC_H

#include <apr_pools.h>

#define PC_HMAC_MIN_SECRET 32   /* bytes */
#define PC_HMAC_MAX_SECRET 4096 /* bytes */
#define PC_HMAC_TAG_LEN 32
#define PC_HMAC_OVERHEAD (1 + PC_HMAC_TAG_LEN) /* key-id + tag */

typedef struct pc_hmac_t pc_hmac_t;

/* Read a secret from "file:/path" or "env:NAME" (a secret written in the
 * configuration itself is refused: it would show in config dumps).
 *
 * A file is read whole (at most PC_HMAC_MAX_SECRET bytes).  When every byte
 * is printable ASCII (a hex or base64 key, as `openssl rand -hex 32`
 * writes), trailing CR/LF are dropped; otherwise (a binary key, as
 * `head -c 32 /dev/urandom` writes) the bytes are used as they are.  The
 * result must be at least PC_HMAC_MIN_SECRET bytes.  An environment
 * variable's value is used as it is, with the same minimum.
 *
 * NULL and *secret / *len set (allocated in p) on success; otherwise an
 * error message that never contains the secret. */
const char *pc_hmac_read_secret(apr_pool_t *p, const char *arg,
                                const unsigned char **secret, apr_size_t *len);

/* A context with the current secret and, when prev is non-NULL, the
 * previous one (accepted for reading only).  Secrets are copied into p.
 * NULL on success, or an error message: a secret shorter than
 * PC_HMAC_MIN_SECRET, or the previous secret equal to the current one. */
const char *pc_hmac_create(pc_hmac_t **h, apr_pool_t *p,
                           const unsigned char *cur, apr_size_t cur_len,
                           const unsigned char *prev, apr_size_t prev_len);

/* The key-id byte of the current secret (for the status page, to check
 * that all servers of a farm seal with the same secret). */
unsigned char pc_hmac_key_id(const pc_hmac_t *h);

/* Seal `val` stored under cache key `key`: *out (allocated in p) holds
 * val_len + PC_HMAC_OVERHEAD bytes.  APR_EGENERAL only if libcrypto
 * fails. */
apr_status_t pc_hmac_seal(unsigned char **out, apr_size_t *out_len,
                          const pc_hmac_t *h, const void *key,
                          apr_size_t key_len, const unsigned char *val,
                          apr_size_t val_len, apr_pool_t *p);

/* Verify a sealed value read under cache key `key`.  On APR_SUCCESS *val
 * points into `sealed` (no copy) and *val_len is the value's length;
 * *used_previous (may be NULL) is 1 when the previous secret verified it.
 * Otherwise the value must be ignored:
 *   APR_EINVAL    shorter than PC_HMAC_OVERHEAD (not sealed at all)
 *   APR_NOTFOUND  sealed with a secret that is neither current nor previous
 *   APR_EMISMATCH the tag does not verify (tampered, moved to another key,
 *                 or written by someone without the secret)
 * Tags are compared in constant time. */
apr_status_t pc_hmac_open(const unsigned char **val, apr_size_t *val_len,
                          int *used_previous, const pc_hmac_t *h,
                          const void *key, apr_size_t key_len,
                          const unsigned char *sealed, apr_size_t sealed_len);

/* A short reason for a status of pc_hmac_open(), for a log line. */
const char *pc_hmac_reason(apr_status_t rv);

#endif

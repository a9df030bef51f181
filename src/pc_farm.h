/*
 * pc_farm.h - what the servers of a farm write to Redis and to each other
 * (pure core): key names, the frame around an entry, the purge-all epoch's
 * value, and the purge messages on the purge channel.
 *
 * Keys (all under the prefix "pc:", so an ACL user can be limited to
 * `~pc:*` and `&pc:*`):
 *   pc:<40 hex>        an entry: the hex form of its 20-byte cache key
 *                      (pc_cache_key: kind, environment, user, application,
 *                      and the purge-all epoch)
 *   pc:epoch           the farm's purge-all epoch
 *   pc:kv:<name>       a small value shared by the farm (pc_dcache_kv_*)
 *   pc:budget          the farm-wide PingOne call budget (token bucket)
 *   pc:ack:<id>        the servers that applied purge message <id> (a set
 *                      of server ids, expires after a few seconds)
 *   pc:subs            the servers present in the farm (a sorted set of
 *                      server ids, each with its expiry)
 *   pc:purge:<db>      the purge channel (channels are not per database in
 *                      Redis, so the database is in the name)
 *
 * Entry frame (what is sealed, pc_hmac.h, and stored under pc:<hex>):
 *   u8  PC_FARM_FRAME_VERSION
 *   u64 fresh_until  (microseconds since the epoch, big-endian)
 *   u64 expires      (microseconds since the epoch, big-endian)
 *   the value (pc_cache.h encoding, a tombstone, or a kv value)
 * A server that copies an entry into its own table (the local tier) gives
 * the copy exactly these two times.
 *
 * Purge messages (text, at most PC_FARM_MSG_MAX_KEYS keys):
 *   "PCP1 <id> A"                    every decision: re-read the epoch,
 *                                    flush
 *   "PCP1 <id> K <hex40>[ <hex40>]"  drop these keys from the local tier
 * <id> is PC_FARM_ID_LEN lowercase hex digits chosen by the publisher;
 * each subscriber that applied the message adds its server id to
 * pc:ack:<id>, so the publisher can wait until every server present has.  Anything else is
 * PC_FARM_MSG_OTHER, which a subscriber must treat as "flush everything"
 * (a newer format, or garbage: never a stale allow).  Messages are not
 * sealed: whoever can publish can only make servers drop entries, never
 * keep or add one.
 */
#ifndef PC_FARM_H
#define PC_FARM_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define PC_FARM_PREFIX "pc:"
#define PC_FARM_EPOCH_KEY "pc:epoch"
#define PC_FARM_BUDGET_KEY "pc:budget"
#define PC_FARM_KEY_BYTES 20
#define PC_FARM_ENTRY_KEY_LEN (3 + 2 * PC_FARM_KEY_BYTES) /* "pc:" + hex */
#define PC_FARM_FRAME_VERSION 1
#define PC_FARM_FRAME_HEAD 17
#define PC_FARM_MSG_MAX_KEYS 1024
#define PC_FARM_EPOCH_MAX 12 /* "4294967295" and a NUL, rounded */
#define PC_FARM_ID_LEN 16

/* "pc:" + 40 lowercase hex digits, NUL-terminated. */
void pc_farm_entry_key(char out[PC_FARM_ENTRY_KEY_LEN + 1],
                       const unsigned char key[PC_FARM_KEY_BYTES]);

/* "pc:kv:<name>" (name as given; the caller keeps names simple). */
const char *pc_farm_kv_key(apr_pool_t *p, const char *name);

/* "pc:purge:<db>". */
const char *pc_farm_channel(apr_pool_t *p, int db);

/* "pc:ack:<id>". */
const char *pc_farm_ack_key(apr_pool_t *p, const char *id);

/* A message id from PC_FARM_ID_LEN / 2 random bytes: PC_FARM_ID_LEN
 * lowercase hex digits (allocated in p). */
const char *pc_farm_msg_id(apr_pool_t *p, const unsigned char *random);

/* Frame a value (see above); *out allocated in p. */
void pc_farm_frame(unsigned char **out, apr_size_t *out_len,
                   const unsigned char *val, apr_size_t len,
                   apr_time_t fresh_until, apr_time_t expires, apr_pool_t *p);

/* Read a frame: *val points into buf.  APR_EINVAL for a short buffer or
 * another version. */
apr_status_t pc_farm_unframe(const unsigned char **val, apr_size_t *len,
                             apr_time_t *fresh_until, apr_time_t *expires,
                             const unsigned char *buf, apr_size_t n);

/* The epoch as stored: decimal, no sign, no leading zero.  encode returns
 * the length written to buf (PC_FARM_EPOCH_MAX bytes). */
apr_size_t pc_farm_epoch_encode(char buf[PC_FARM_EPOCH_MAX], apr_uint32_t e);
/* APR_SUCCESS, or APR_EINVAL for anything but 1..10 digits that fit. */
apr_status_t pc_farm_epoch_decode(apr_uint32_t *e, const unsigned char *buf,
                                  apr_size_t n);

typedef enum {
    PC_FARM_MSG_ALL,   /* purge-all */
    PC_FARM_MSG_KEYS,  /* drop the listed keys */
    PC_FARM_MSG_OTHER  /* not understood: flush everything */
} pc_farm_msg_e;

/* "PCP1 <id> A" (id from pc_farm_msg_id). */
const char *pc_farm_msg_all(apr_pool_t *p, const char *id);

/* "PCP1 <id> K ..." for nkeys keys of PC_FARM_KEY_BYTES bytes each, one
 * after the other in keys (1..PC_FARM_MSG_MAX_KEYS); NULL for another
 * count. */
const char *pc_farm_msg_keys(apr_pool_t *p, const char *id,
                             const unsigned char *keys, int nkeys);

/* Parse a message.  *id: its id (NULL for PC_FARM_MSG_OTHER).  For
 * PC_FARM_MSG_KEYS, *keys (allocated in p) holds *nkeys keys of
 * PC_FARM_KEY_BYTES bytes, one after the other. */
pc_farm_msg_e pc_farm_msg_parse(const unsigned char *data, apr_size_t len,
                                const char **id, unsigned char **keys,
                                int *nkeys, apr_pool_t *p);

#endif

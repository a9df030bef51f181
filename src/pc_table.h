/*
 * pc_table.h - the local decision table: a fixed-size, set-associative hash
 * table in a block of shared memory, read without any lock (pure core; the
 * glue provides the memory, apache/pc_local.c).
 *
 * Why not shmcb: every shmcb lookup takes the global mutex, so under many
 * threads hits queue on it (convoys), and shmcb cannot say how many entries
 * it holds or evicts.  This table gives:
 *   - lock-free reads: each bucket has a sequence counter (a seqlock); a
 *     reader copies what it needs and retries if a writer was in between;
 *   - short writes under a per-bucket spin lock (the miss path only);
 *   - exact counts: entries, evictions of entries that were still fresh
 *     (capacity pressure), stores;
 *   - memory touched only as used: the block must be zero-filled (fresh
 *     anonymous shared memory is) and nothing but the header is written at
 *     start-up;
 *   - O(1) "purge everything": a table-wide epoch; entries of an older
 *     epoch read as empty and are reused.
 *
 * Layout: a header, then 2^n buckets of PC_TABLE_WAYS slots of
 * PC_TABLE_SLOT bytes.  Keys are PC_TABLE_KEY_LEN bytes of a cryptographic
 * hash (the cache key), which picks two buckets; an entry goes to the one
 * holding fewer entries (so buckets fill evenly and the table keeps every
 * key up to about 75 % of its slots), and a read looks in the first, then
 * the second.  An entry takes 1 slot
 * when its value is at most PC_TABLE_VALUE_MAX bytes (a typical decision:
 * about 100 bytes), else 2, 4 or 8 adjacent slots aligned to that size (a
 * consent with many scopes), up to PC_TABLE_BIG_MAX bytes.
 *
 * Processes may die at any point: a writer that dies holding a bucket's
 * lock is found out (its pid no longer exists) by the next writer, which
 * empties the bucket and takes the lock; readers never wait for a writer
 * for more than a few microseconds (they report a miss instead).
 */
#ifndef PC_TABLE_H
#define PC_TABLE_H

#include <apr.h>
#include <apr_errno.h>
#include <apr_time.h>

#define PC_TABLE_KEY_LEN 20
#define PC_TABLE_WAYS 8
#define PC_TABLE_SLOT 256
#define PC_TABLE_SLOT_HEAD 48
#define PC_TABLE_VALUE_MAX (PC_TABLE_SLOT - PC_TABLE_SLOT_HEAD)
#define PC_TABLE_BIG_MAX (PC_TABLE_WAYS * PC_TABLE_SLOT - PC_TABLE_SLOT_HEAD)

typedef struct pc_table_t pc_table_t;

typedef struct pc_table_stats_t {
    apr_uint64_t capacity;        /* slots (= one-slot decisions) */
    apr_uint64_t entries;         /* entries of this epoch, expired ones
                                     included until their slots are reused */
    apr_uint64_t stores;
    apr_uint64_t evictions;       /* unexpired entries pushed out for room */
    apr_uint64_t evictions_fresh; /* ... of them, still fresh */
    apr_uint64_t removals;        /* entries removed (purges) */
    apr_uint64_t stuck;           /* locks taken back from dead writers */
} pc_table_stats_t;

typedef enum {
    PC_TABLE_STORED = 0,
    PC_TABLE_TOO_BIG,             /* value over PC_TABLE_BIG_MAX */
    PC_TABLE_BUSY                 /* the bucket stayed locked: not stored */
} pc_table_put_e;

typedef enum {
    PC_TABLE_REMOVED = 0,
    PC_TABLE_ABSENT,
    PC_TABLE_REMOVE_BUSY          /* the bucket stayed locked: not removed */
} pc_table_remove_e;

/* Bytes of memory for at least `entries` slots (buckets rounded up to a
 * power of two); *slots (may be NULL) gets the slots that gives. */
apr_size_t pc_table_size(apr_uint64_t entries, apr_uint64_t *slots);

/* The table in `mem` (`size` bytes from pc_table_size, 64-byte aligned).
 * fresh: the memory is new and zero-filled (only the header is written);
 * else it must already hold a table of that size (a graceful restart):
 * NULL when it does not. */
pc_table_t *pc_table_attach(void *mem, apr_size_t size, int fresh);

/* The value stored for key and not expired at now: APR_SUCCESS with the
 * value in val (*len: the buffer's size in, the value's length out) and
 * its fresh_until / expires (either may be NULL); APR_NOTFOUND; APR_EAGAIN
 * when writers kept the bucket busy (a miss, for the caller). */
apr_status_t pc_table_get(pc_table_t *t, const unsigned char *key,
                          apr_time_t now, unsigned char *val,
                          unsigned int *len, apr_time_t *fresh_until,
                          apr_time_t *expires);

/* Store (or replace) key's value, fresh until fresh_until, kept until
 * expires.  When room must be made, entries that expired go first, then
 * those that expire first; *evicted_fresh (may be NULL) becomes the number
 * of entries pushed out while still fresh at now. */
pc_table_put_e pc_table_put(pc_table_t *t, const unsigned char *key,
                            const unsigned char *val, unsigned int len,
                            apr_time_t fresh_until, apr_time_t expires,
                            apr_time_t now, int *evicted_fresh);

pc_table_remove_e pc_table_remove(pc_table_t *t, const unsigned char *key);

/* Forget every entry: a new epoch (O(1)). */
void pc_table_clear(pc_table_t *t);

void pc_table_stats(pc_table_t *t, pc_table_stats_t *out);

#endif

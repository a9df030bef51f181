/*
 * pc_table.c - the local decision table (see pc_table.h).
 *
 * A bucket:
 *
 *   +--------------------------+ 64 bytes: seq (even: stable, odd: a
 *   | seq | lock (writer pid)   |            writer is in), lock
 *   +--------------------------+
 *   | slot 0: head (48) value  | 256 bytes each
 *   | slot 1 ...               |
 *   | slot 7                   |
 *   +--------------------------+
 *
 * An entry of span k (1, 2, 4 or 8) starts at a slot index divisible by k
 * and its value runs on over the next k-1 slots (their heads included), so
 * heads are only ever read by walking from slot 0 entry by entry.  When an
 * entry goes, the heads of all its slots are marked unused, so the slots it
 * covered read as free again.
 *
 * Readers follow the seqlock protocol: read seq (even), copy, re-read seq;
 * anything read in between is trusted only when seq did not change, and
 * lengths are bounded before any copy, so a torn read can never overrun.
 */
#include "pc_table.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define TB_MAGIC 0x50435442u
#define TB_HEAD 128
#define TB_READ_TRIES 64
#define TB_SPIN 200            /* quick spins, then ... */
#define TB_YIELDS 64           /* ... yields, then ... */
#define TB_NAPS 50             /* ... 1 ms naps (checking the writer lives)
                                  before giving up: a write takes
                                  microseconds */

typedef struct slot_head_t {
    unsigned char key[PC_TABLE_KEY_LEN];
    apr_uint16_t len;          /* value bytes */
    unsigned char span;        /* 1, 2, 4 or 8 on an entry's first slot */
    unsigned char used;        /* 1 on an entry's first slot */
    apr_uint32_t epoch;
    apr_uint32_t pad;
    apr_time_t fresh_until;
    apr_time_t expires;
} slot_head_t;

typedef union slot_t {
    slot_head_t head;
    unsigned char bytes[PC_TABLE_SLOT];
} slot_t;

typedef struct bucket_t {
    apr_uint32_t seq;
    apr_uint32_t lock;         /* 0, or the pid of the writer */
    unsigned char pad[56];
    slot_t slots[PC_TABLE_WAYS];
} bucket_t;

struct pc_table_t {
    apr_uint32_t magic;
    apr_uint32_t epoch;
    apr_uint64_t nbuckets;     /* a power of two */
    apr_uint64_t size;
    apr_uint64_t entries, stores, evictions, evictions_fresh, removals,
        stuck;
};

typedef char slot_head_is_48[sizeof(slot_head_t) == PC_TABLE_SLOT_HEAD ? 1
                                                                        : -1];
typedef char head_fits[sizeof(struct pc_table_t) <= TB_HEAD ? 1 : -1];

/* The unit test widens the window in which a write is half done, so a
 * reader that ignored the seqlock would be caught. */
#ifdef PC_TABLE_TEST_WINDOW
#define HALF_WRITTEN() usleep(20)
#else
#define HALF_WRITTEN()
#endif

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ADD(p, n) __atomic_fetch_add((p), (n), __ATOMIC_RELAXED)

/* A key's two buckets: its first 8 bytes pick one, the next 8 the other
 * (they may be the same).  An entry lives in the one holding fewer entries
 * (the power of two choices): buckets fill evenly, so the table keeps
 * every key up to about three quarters of its slots, where one choice of
 * 8 slots loses a few keys in a thousand already at 40 %. */
static bucket_t *bucket_of(pc_table_t *t, const unsigned char *key,
                           int which)
{
    apr_uint64_t h;

    memcpy(&h, key + (which ? 8 : 0), sizeof(h));
    return (bucket_t *)((char *)t + TB_HEAD) + (h & (t->nbuckets - 1));
}

static int valid_span(unsigned span, int at)
{
    return (span == 1 || span == 2 || span == 4 || span == 8) &&
           at % (int)span == 0 && at + (int)span <= PC_TABLE_WAYS;
}

static unsigned int span_for(unsigned int len)
{
    unsigned int k = 1;

    while (k < PC_TABLE_WAYS && len + PC_TABLE_SLOT_HEAD > k * PC_TABLE_SLOT)
        k *= 2;
    return k;
}

apr_size_t pc_table_size(apr_uint64_t entries, apr_uint64_t *slots)
{
    apr_uint64_t nb = 1;

    while (nb * PC_TABLE_WAYS < entries)
        nb *= 2;
    if (slots)
        *slots = nb * PC_TABLE_WAYS;
    return TB_HEAD + (apr_size_t)nb * sizeof(bucket_t);
}

pc_table_t *pc_table_attach(void *mem, apr_size_t size, int fresh)
{
    pc_table_t *t = mem;
    apr_uint64_t nb = 1;

    while (TB_HEAD + nb * 2 * sizeof(bucket_t) <= size)
        nb *= 2;
    if (size < TB_HEAD + sizeof(bucket_t))
        return NULL;
    if (!fresh)
        return t->magic == TB_MAGIC && t->size == size && t->nbuckets == nb
                   ? t
                   : NULL;
    t->nbuckets = nb;
    t->size = size;
    t->epoch = 1;   /* zero-filled slots (epoch 0) read as empty */
    __atomic_store_n(&t->magic, TB_MAGIC, __ATOMIC_RELEASE);
    return t;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct found_t {
    unsigned int len;
    apr_time_t fresh_until, expires;
} found_t;

/* One pass over the bucket (no lock): 1 and *f when key is there, with
 * its value copied (bounded) to val. */
static int scan(const bucket_t *b, const unsigned char *key,
                apr_uint32_t epoch, unsigned char *val, unsigned int cap,
                found_t *f)
{
    int i = 0;

    while (i < PC_TABLE_WAYS) {
        const slot_head_t *h = &b->slots[i].head;
        unsigned span = h->span;
        if (!h->used || !valid_span(span, i)) {
            i++;
            continue;
        }
        if (h->epoch == epoch &&
            memcmp(h->key, key, PC_TABLE_KEY_LEN) == 0) {
            f->len = h->len;
            f->fresh_until = h->fresh_until;
            f->expires = h->expires;
            if (f->len > span * PC_TABLE_SLOT - PC_TABLE_SLOT_HEAD ||
                f->len > cap)
                return -1;   /* torn or too big: checked after seq */
            memcpy(val, b->slots[i].bytes + PC_TABLE_SLOT_HEAD, f->len);
            return 1;
        }
        i += (int)span;
    }
    return 0;
}

/* The key in one bucket, under the seqlock protocol. */
static apr_status_t get_in(const bucket_t *b, const unsigned char *key,
                           apr_uint32_t epoch, apr_time_t now,
                           unsigned char *val, unsigned int *len,
                           apr_time_t *fresh_until, apr_time_t *expires)
{
    int tries, r;
    found_t f;

    for (tries = 0; tries < TB_READ_TRIES; tries++) {
        apr_uint32_t s1 = LOAD(&b->seq);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        r = scan(b, key, epoch, val, *len, &f);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) != s1)
            continue;
        if (r <= 0 || f.expires <= now)
            return APR_NOTFOUND;
        *len = f.len;
        if (fresh_until)
            *fresh_until = f.fresh_until;
        if (expires)
            *expires = f.expires;
        return APR_SUCCESS;
    }
    return APR_EAGAIN;
}

apr_status_t pc_table_get(pc_table_t *t, const unsigned char *key,
                          apr_time_t now, unsigned char *val,
                          unsigned int *len, apr_time_t *fresh_until,
                          apr_time_t *expires)
{
    const bucket_t *b0 = bucket_of(t, key, 0), *b1 = bucket_of(t, key, 1);
    apr_uint32_t epoch = LOAD(&t->epoch);
    apr_status_t s0, s1 = APR_NOTFOUND;

    s0 = get_in(b0, key, epoch, now, val, len, fresh_until, expires);
    if (s0 == APR_SUCCESS)
        return s0;
    if (b1 != b0)
        s1 = get_in(b1, key, epoch, now, val, len, fresh_until, expires);
    if (s1 == APR_SUCCESS)
        return s1;
    return s0 == APR_EAGAIN || s1 == APR_EAGAIN ? APR_EAGAIN : APR_NOTFOUND;
}

/* ---- the bucket lock ---------------------------------------------------- */

static void write_begin(bucket_t *b)
{
    __atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(bucket_t *b)
{
    __atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
}

/* The entries of this epoch in b, walking entry by entry. */
static int live_entries(const bucket_t *b, apr_uint32_t epoch)
{
    int i = 0, n = 0;

    while (i < PC_TABLE_WAYS) {
        const slot_head_t *h = &b->slots[i].head;
        if (h->used && valid_span(h->span, i)) {
            n += h->epoch == epoch;
            i += h->span;
        }
        else {
            i++;
        }
    }
    return n;
}

/* The writer that held b's lock died (maybe halfway through a write): the
 * bucket's content cannot be trusted, so it is emptied. */
static void take_from_dead(pc_table_t *t, bucket_t *b)
{
    int i, lost = live_entries(b, LOAD(&t->epoch));

    if (b->seq & 1)
        __atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
    write_begin(b);
    for (i = 0; i < PC_TABLE_WAYS; i++)
        b->slots[i].head.used = 0;
    write_end(b);
    ADD(&t->entries, (apr_uint64_t)-(apr_int64_t)lost);
    ADD(&t->stuck, 1);
}

static int owner_dead(apr_uint32_t owner)
{
    return owner && kill((pid_t)owner, 0) != 0 && errno == ESRCH;
}

/* 1 with b locked by this process, 0 when it stayed busy. */
static int lock_bucket(pc_table_t *t, bucket_t *b)
{
    apr_uint32_t me = (apr_uint32_t)getpid(), cur;
    int tries;

    for (tries = 0; tries < TB_SPIN + TB_YIELDS + TB_NAPS; tries++) {
        cur = 0;
        if (__atomic_compare_exchange_n(&b->lock, &cur, me, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 1;
        if (tries < TB_SPIN)
            continue;
        if (tries < TB_SPIN + TB_YIELDS) {
            sched_yield();
            continue;
        }
        if (cur != me && owner_dead(cur) &&
            __atomic_compare_exchange_n(&b->lock, &cur, me, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            take_from_dead(t, b);
            return 1;
        }
        usleep(1000);
    }
    return 0;
}

static void unlock_bucket(bucket_t *b)
{
    __atomic_store_n(&b->lock, 0, __ATOMIC_RELEASE);
}

/* A key's buckets, both locked (in address order: two writers never wait
 * for each other in a circle); b[1] is NULL when both choices are the same
 * bucket.  0 when one stayed busy (nothing is left locked). */
static int lock_pair(pc_table_t *t, const unsigned char *key, bucket_t *b[2])
{
    bucket_t *lo, *hi;

    b[0] = bucket_of(t, key, 0);
    b[1] = bucket_of(t, key, 1);
    if (b[1] == b[0])
        b[1] = NULL;
    lo = b[1] && b[1] < b[0] ? b[1] : b[0];
    hi = b[1] == NULL ? NULL : lo == b[0] ? b[1] : b[0];
    if (!lock_bucket(t, lo))
        return 0;
    if (hi && !lock_bucket(t, hi)) {
        unlock_bucket(lo);
        return 0;
    }
    return 1;
}

static void unlock_pair(bucket_t *b[2])
{
    unlock_bucket(b[0]);
    if (b[1])
        unlock_bucket(b[1]);
}

/* ---- writing ------------------------------------------------------------ */

/* Under the lock: which entry covers each slot (its first slot), -1 for a
 * free slot. */
static void map_slots(const bucket_t *b, int first[PC_TABLE_WAYS])
{
    int i = 0, j;

    while (i < PC_TABLE_WAYS) {
        const slot_head_t *h = &b->slots[i].head;
        if (h->used && valid_span(h->span, i)) {
            for (j = 0; j < h->span; j++)
                first[i + j] = i;
            i += h->span;
        }
        else {
            first[i++] = -1;
        }
    }
}

/* Take an entry out (its slots read as free again). */
static void drop_entry(bucket_t *b, int at)
{
    int j, span = b->slots[at].head.span;

    for (j = 0; j < span; j++)
        b->slots[at + j].head.used = 0;
}

/* What evicting the entries of a group would cost: 0 nothing (free,
 * another epoch, expired, or the key itself), else 1 + the number of
 * fresh entries, then the latest expiry among them as a tie-break. */
typedef struct cost_t {
    int level;
    apr_time_t latest;
} cost_t;

static cost_t group_cost(const bucket_t *b, const int first[], int g, int k,
                         const unsigned char *key, apr_uint32_t epoch,
                         apr_time_t now)
{
    cost_t c = {0, 0};
    int j, last = -1;

    for (j = g; j < g + k; j++) {
        const slot_head_t *h;
        if (first[j] < 0 || first[j] == last)
            continue;
        last = first[j];
        h = &b->slots[last].head;
        if (h->epoch != epoch || h->expires <= now ||
            memcmp(h->key, key, PC_TABLE_KEY_LEN) == 0)
            continue;
        c.level += c.level == 0 ? 1 : 0;
        c.level += h->fresh_until > now;
        if (h->expires > c.latest)
            c.latest = h->expires;
    }
    return c;
}

static int cheaper(cost_t a, cost_t b)
{
    return a.level < b.level || (a.level == b.level && a.latest < b.latest);
}

/* Empty the group [g, g+k), counting what goes. */
static int clear_group(pc_table_t *t, bucket_t *b, const int first[], int g,
                       int k, const unsigned char *key, apr_uint32_t epoch,
                       apr_time_t now)
{
    int j, last = -1, fresh = 0;

    for (j = g; j < g + k; j++) {
        const slot_head_t *h;
        if (first[j] < 0 || first[j] == last)
            continue;
        last = first[j];
        h = &b->slots[last].head;
        if (h->epoch == epoch) {
            ADD(&t->entries, (apr_uint64_t)-1);
            if (h->expires > now &&
                memcmp(h->key, key, PC_TABLE_KEY_LEN) != 0) {
                ADD(&t->evictions, 1);
                if (h->fresh_until > now) {
                    ADD(&t->evictions_fresh, 1);
                    fresh++;
                }
            }
        }
        drop_entry(b, last);
    }
    return fresh;
}

/* Under the lock: remove the key's current entry wherever it is (a new
 * value may need another span). */
static void drop_key(pc_table_t *t, bucket_t *b, const int first[],
                     const unsigned char *key, apr_uint32_t epoch)
{
    int i;

    for (i = 0; i < PC_TABLE_WAYS; i++) {
        const slot_head_t *h = &b->slots[i].head;
        if (first[i] == i && h->epoch == epoch &&
            memcmp(h->key, key, PC_TABLE_KEY_LEN) == 0) {
            drop_entry(b, i);
            ADD(&t->entries, (apr_uint64_t)-1);
            return;
        }
    }
}

/* Under the lock: the cheapest group of k slots in b for key. */
static cost_t best_group(const bucket_t *b, const int first[], int k,
                         const unsigned char *key, apr_uint32_t epoch,
                         apr_time_t now, int *at)
{
    cost_t c, best_c = {1 << 30, 0};
    int g;

    for (g = 0; g < PC_TABLE_WAYS; g += k) {
        c = group_cost(b, first, g, k, key, epoch, now);
        if (cheaper(c, best_c)) {
            best_c = c;
            *at = g;
        }
    }
    return best_c;
}

/* Under the lock: the entry written at slot `at` of b. */
static void write_entry(bucket_t *b, int at, int k, const unsigned char *key,
                        const unsigned char *val, unsigned int len,
                        apr_time_t fresh_until, apr_time_t expires,
                        apr_uint32_t epoch)
{
    slot_head_t *h = &b->slots[at].head;

    memcpy(h->key, key, PC_TABLE_KEY_LEN);
    h->len = (apr_uint16_t)len;
    h->span = (unsigned char)k;
    h->epoch = epoch;
    h->fresh_until = fresh_until;
    h->expires = expires;
    memcpy(b->slots[at].bytes + PC_TABLE_SLOT_HEAD, val, len / 2);
    HALF_WRITTEN();
    memcpy(b->slots[at].bytes + PC_TABLE_SLOT_HEAD + len / 2, val + len / 2,
           len - len / 2);
    h->used = 1;
}

pc_table_put_e pc_table_put(pc_table_t *t, const unsigned char *key,
                            const unsigned char *val, unsigned int len,
                            apr_time_t fresh_until, apr_time_t expires,
                            apr_time_t now, int *evicted_fresh)
{
    bucket_t *b[2];
    int first[2][PC_TABLE_WAYS], k, at[2] = {0, 0}, n, i, w = 0, fresh;
    apr_uint32_t epoch = LOAD(&t->epoch);
    cost_t c[2];

    if (evicted_fresh)
        *evicted_fresh = 0;
    if (len > PC_TABLE_BIG_MAX)
        return PC_TABLE_TOO_BIG;
    k = (int)span_for(len);
    if (!lock_pair(t, key, b))
        return PC_TABLE_BUSY;
    n = b[1] ? 2 : 1;
    for (i = 0; i < n; i++) {
        write_begin(b[i]);
        map_slots(b[i], first[i]);
        drop_key(t, b[i], first[i], key, epoch);
        map_slots(b[i], first[i]);
        c[i] = best_group(b[i], first[i], k, key, epoch, now, &at[i]);
    }
    /* With room in both, the one holding fewer entries (the first on a
     * tie, where a read looks first); else the cheaper eviction. */
    if (n == 2)
        w = c[0].level == 0 && c[1].level == 0
                ? live_entries(b[1], epoch) < live_entries(b[0], epoch)
                : cheaper(c[1], c[0]);
    fresh = clear_group(t, b[w], first[w], at[w], k, key, epoch, now);
    write_entry(b[w], at[w], k, key, val, len, fresh_until, expires, epoch);
    for (i = 0; i < n; i++)
        write_end(b[i]);
    unlock_pair(b);
    ADD(&t->entries, 1);
    ADD(&t->stores, 1);
    if (evicted_fresh)
        *evicted_fresh = fresh;
    return PC_TABLE_STORED;
}

/* Under the lock: key's entry taken out of b; 1 when there was one. */
static int remove_in(pc_table_t *t, bucket_t *b, const unsigned char *key,
                     apr_uint32_t epoch)
{
    int first[PC_TABLE_WAYS], i;

    map_slots(b, first);
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        const slot_head_t *h = &b->slots[i].head;
        if (first[i] == i && h->epoch == epoch &&
            memcmp(h->key, key, PC_TABLE_KEY_LEN) == 0)
            break;
    }
    if (i == PC_TABLE_WAYS)
        return 0;
    write_begin(b);
    drop_entry(b, i);
    write_end(b);
    ADD(&t->entries, (apr_uint64_t)-1);
    return 1;
}

pc_table_remove_e pc_table_remove(pc_table_t *t, const unsigned char *key)
{
    bucket_t *b[2];
    apr_uint32_t epoch = LOAD(&t->epoch);
    int gone;

    if (!lock_pair(t, key, b))
        return PC_TABLE_REMOVE_BUSY;
    /* Both buckets: a key is only ever in one, but a purge must not trust
     * that. */
    gone = remove_in(t, b[0], key, epoch);
    if (b[1])
        gone += remove_in(t, b[1], key, epoch);
    unlock_pair(b);
    if (!gone)
        return PC_TABLE_ABSENT;
    ADD(&t->removals, 1);
    return PC_TABLE_REMOVED;
}

void pc_table_clear(pc_table_t *t)
{
    __atomic_fetch_add(&t->epoch, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&t->entries, 0, __ATOMIC_RELAXED);
}

void pc_table_stats(pc_table_t *t, pc_table_stats_t *out)
{
    apr_int64_t entries = (apr_int64_t)LOAD(&t->entries);

    out->capacity = t->nbuckets * PC_TABLE_WAYS;
    /* A clear racing a store can leave the count a little off: clamp. */
    out->entries = entries < 0 ? 0
                   : (apr_uint64_t)entries > out->capacity
                       ? out->capacity
                       : (apr_uint64_t)entries;
    out->stores = LOAD(&t->stores);
    out->evictions = LOAD(&t->evictions);
    out->evictions_fresh = LOAD(&t->evictions_fresh);
    out->removals = LOAD(&t->removals);
    out->stuck = LOAD(&t->stuck);
}

/* Unit tests: the local decision table (src/pc_table.c): storing, reading,
 * expiry, eviction counts, two bucket choices, a table at 75 % load,
 * multi-slot entries, purge-all, attach across a
 * restart, a writer that died holding a lock, and readers racing writers
 * in threads and processes. */
#include "pc_table.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC(n) apr_time_from_sec(n)
#define NOW ((apr_time_t)1700000000 * APR_USEC_PER_SEC)
#define BUCKET_BYTES (64 + PC_TABLE_WAYS * PC_TABLE_SLOT)

static apr_pool_t *p;

/* Zero-filled shared memory, as the glue gets it from apr_shm. */
static void *shared_block(apr_size_t size)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* A key whose two buckets are b0 (the first 8 bytes pick it) and b1 (the
 * next 8), told apart by n. */
static void key_in2(unsigned char key[PC_TABLE_KEY_LEN], apr_uint64_t b0,
                    apr_uint64_t b1, unsigned int n)
{
    memset(key, 0, PC_TABLE_KEY_LEN);
    memcpy(key, &b0, sizeof(b0));
    memcpy(key + 8, &b1, sizeof(b1));
    memcpy(key + 16, &n, sizeof(n));
}

/* A key whose both choices are `bucket`: one bucket to fill. */
static void key_in(unsigned char key[PC_TABLE_KEY_LEN], apr_uint64_t bucket,
                   unsigned int n)
{
    key_in2(key, bucket, bucket, n);
}

/* A value whose every byte is derived from its key and length, so a torn
 * read shows. */
static void value_for(unsigned char *v, unsigned int len,
                      const unsigned char *key)
{
    unsigned int i;
    for (i = 0; i < len; i++)
        v[i] = (unsigned char)(key[16] * 31 + key[17] * 7 + key[0] + i + len);
}

static int value_ok(const unsigned char *v, unsigned int len,
                    const unsigned char *key)
{
    unsigned char want[PC_TABLE_BIG_MAX];
    value_for(want, len, key);
    return memcmp(v, want, len) == 0;
}

static pc_table_t *new_table(apr_uint64_t entries, void **mem,
                             apr_size_t *size)
{
    *size = pc_table_size(entries, NULL);
    *mem = shared_block(*size);
    return *mem ? pc_table_attach(*mem, *size, 1) : NULL;
}

static void test_sizes(void)
{
    apr_uint64_t slots;
    apr_size_t size = pc_table_size(200000, &slots);

    ok(slots >= 200000 && slots < 400000, "200,000 entries: %lu slots",
       (unsigned long)slots);
    ok(size == 128 + (slots / PC_TABLE_WAYS) * BUCKET_BYTES,
       "size is the header plus the buckets");
    pc_table_size(1, &slots);
    ok(slots == PC_TABLE_WAYS, "at least one bucket");
    ok(PC_TABLE_VALUE_MAX >= 160, "a typical decision fits one slot");
}

static void test_basic(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(1024, &mem, &size);
    unsigned char k[PC_TABLE_KEY_LEN], v[100], out[PC_TABLE_BIG_MAX];
    unsigned int len = sizeof(out);
    apr_time_t fresh = 0, exp = 0;
    pc_table_stats_t st;

    ok(t != NULL, "a table in fresh shared memory");
    key_in(k, 3, 1);
    value_for(v, sizeof(v), k);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "empty: not found");
    ok(pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(90), NOW,
                    NULL) == PC_TABLE_STORED, "stored");
    ok(pc_table_get(t, k, NOW, out, &len, &fresh, &exp) == APR_SUCCESS &&
       len == sizeof(v) && value_ok(out, len, k), "read back");
    ok(fresh == NOW + SEC(60) && exp == NOW + SEC(90), "with its times");
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW + SEC(90), out, &len, NULL, NULL) ==
       APR_NOTFOUND, "gone once it expires");
    len = 10;
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "a buffer too small never overflows");
    pc_table_stats(t, &st);
    ok(st.entries == 1 && st.stores == 1 && st.evictions == 0,
       "one entry, one store");

    v[0] ^= 1;
    pc_table_put(t, k, v, 50, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS &&
       len == 50 && out[0] == v[0], "a second store replaces the value");
    pc_table_stats(t, &st);
    ok(st.entries == 1 && st.evictions == 0, "a replacement is no eviction");

    ok(pc_table_remove(t, k) == PC_TABLE_REMOVED, "removed");
    ok(pc_table_remove(t, k) == PC_TABLE_ABSENT, "removed once");
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "not found after removal");
    pc_table_stats(t, &st);
    ok(st.entries == 0 && st.removals == 1, "counted");

    pc_table_put(t, k, v, 50, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    pc_table_clear(t);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "purge all: every entry gone at once");
    pc_table_stats(t, &st);
    ok(st.entries == 0, "and no longer counted");
    pc_table_put(t, k, v, 50, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS,
       "the slot is used again after a purge");
    pc_table_stats(t, &st);
    ok(st.entries == 1 && st.evictions == 0,
       "reusing a purged slot is no eviction");

    ok(pc_table_attach(mem, size, 0) == t, "found again (graceful restart)");
    ok(pc_table_attach(mem, size / 2, 0) == NULL,
       "a table of another size is not taken for this one");
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS,
       "its entries are still there");
    munmap(mem, size);
}

static void test_evictions(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(64, &mem, &size);
    unsigned char k[PC_TABLE_KEY_LEN], v[64], out[PC_TABLE_BIG_MAX];
    unsigned int i, len;
    int fresh = 0, total_fresh = 0;
    pc_table_stats_t st;

    /* Fill bucket 5: entry i expires at NOW + 100 + i. */
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        key_in(k, 5, i);
        value_for(v, sizeof(v), k);
        pc_table_put(t, k, v, sizeof(v), NOW + SEC(50 + i), NOW + SEC(100 + i),
                     NOW, &fresh);
        total_fresh += fresh;
    }
    pc_table_stats(t, &st);
    ok(st.entries == PC_TABLE_WAYS && st.evictions == 0 && total_fresh == 0,
       "a full bucket, nothing evicted");
    key_in(k, 5, 100);
    value_for(v, sizeof(v), k);
    pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW, &fresh);
    pc_table_stats(t, &st);
    ok(fresh == 1 && st.evictions == 1 && st.evictions_fresh == 1,
       "one more: a fresh entry evicted, counted");
    key_in(k, 5, 0);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "the one that expires first went");
    key_in(k, 5, 1);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS,
       "the others stayed");
    ok(st.entries == PC_TABLE_WAYS, "entries stay at capacity of the bucket");

    /* At NOW + 55 the first entries are stale (past fresh_until) but not
     * expired: evicting one is an eviction, not a fresh one. */
    key_in(k, 5, 101);
    pc_table_put(t, k, v, sizeof(v), NOW + SEC(200), NOW + SEC(200),
                 NOW + SEC(55), &fresh);
    pc_table_stats(t, &st);
    ok(fresh == 0 && st.evictions == 2 && st.evictions_fresh == 1,
       "a stale entry evicted: not counted as fresh");

    /* At NOW + 150 everything of the first fill expired: no evictions. */
    key_in(k, 5, 102);
    pc_table_put(t, k, v, sizeof(v), NOW + SEC(300), NOW + SEC(300),
                 NOW + SEC(150), &fresh);
    pc_table_stats(t, &st);
    ok(fresh == 0 && st.evictions == 2, "an expired entry's slot is free");
    munmap(mem, size);
}

/* Two choices: a key whose first bucket is full goes to its second, not
 * over a fresh entry; it is found there, replaced there or moved back
 * without a second copy, and a removal reaches it wherever it is. */
static void test_two_choices(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(64, &mem, &size);
    unsigned char k[PC_TABLE_KEY_LEN], v[64], out[PC_TABLE_BIG_MAX];
    unsigned int i, len, found = 0;
    int fresh = 0, total_fresh = 0;
    pc_table_stats_t st;

    /* Bucket 1 full of keys whose second choice is bucket 6. */
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        key_in2(k, 1, 6, i);
        value_for(v, sizeof(v), k);
        pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                     &fresh);
    }
    /* Eight more with first choice 1: their second choices take them. */
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        key_in2(k, 1, 2 + i % 4, 100 + i);
        value_for(v, sizeof(v), k);
        pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                     &fresh);
        total_fresh += fresh;
    }
    pc_table_stats(t, &st);
    ok(st.entries == 2 * PC_TABLE_WAYS && st.evictions == 0 &&
       total_fresh == 0, "a full first bucket: the second takes the key");
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        key_in2(k, 1, 6, i);
        len = sizeof(out);
        found += pc_table_get(t, k, NOW, out, &len, NULL, NULL) ==
                     APR_SUCCESS && value_ok(out, len, k);
        key_in2(k, 1, 2 + i % 4, 100 + i);
        len = sizeof(out);
        found += pc_table_get(t, k, NOW, out, &len, NULL, NULL) ==
                     APR_SUCCESS && value_ok(out, len, k);
    }
    ok(found == 2 * PC_TABLE_WAYS, "every key found, in either bucket");

    /* Room in the first bucket again; storing a key that lives in its
     * second bucket leaves one copy only (a removal then finds none). */
    key_in2(k, 1, 6, 0);
    ok(pc_table_remove(t, k) == PC_TABLE_REMOVED, "one removed from bucket 1");
    key_in2(k, 1, 2, 100);
    value_for(v, sizeof(v), k);
    pc_table_put(t, k, v, 40, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS &&
       len == 40, "a replaced value is read back");
    pc_table_stats(t, &st);
    ok(st.entries == 2 * PC_TABLE_WAYS - 1, "and counted once");
    ok(pc_table_remove(t, k) == PC_TABLE_REMOVED &&
       pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND &&
       pc_table_remove(t, k) == PC_TABLE_ABSENT,
       "removed, nothing left behind in the other bucket");
    key_in2(k, 1, 3, 101);
    ok(pc_table_remove(t, k) == PC_TABLE_REMOVED,
       "a removal reaches a key in its second bucket");
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "gone from there too");

    /* Both choices full of fresh entries: one is evicted, counted. */
    for (i = 0; i < 2 * PC_TABLE_WAYS; i++) {
        key_in2(k, 7, 8, 200 + i);
        pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                     NULL);
    }
    key_in2(k, 7, 8, 300);
    pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                 &fresh);
    ok(fresh == 1, "both buckets full: a fresh entry evicted, counted");
    munmap(mem, size);
}

/* A loaded table: distinct keys hashed at random for 75 % of the slots
 * (the default size holds 200,000 decisions in 262,144 slots): kept, but
 * for a few in ten thousand at most (one choice of 8 slots loses about
 * one in a hundred there, and a few in a thousand at 40 %). */
static void test_load(void)
{
    void *mem;
    apr_size_t size;
    apr_uint64_t slots;
    pc_table_t *t;
    unsigned char k[PC_TABLE_KEY_LEN], v[100], out[PC_TABLE_BIG_MAX];
    unsigned int i, n, len, kept = 0, j;
    apr_uint64_t x = 88172645463325252ULL;
    pc_table_stats_t st;

    pc_table_size(65536, &slots);
    t = new_table(65536, &mem, &size);
    n = (unsigned int)(slots * 3 / 4);
    for (i = 0; i < n; i++) {
        for (j = 0; j < PC_TABLE_KEY_LEN; j += 4) {   /* xorshift64 */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            memcpy(k + j, &x, 4);
        }
        value_for(v, sizeof(v), k);
        pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                     NULL);
        len = sizeof(out);
        kept += pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS;
    }
    pc_table_stats(t, &st);
    ok(st.evictions * 2000 <= n && kept == n,
       "%u random keys in %lu slots: %lu evicted", n, (unsigned long)slots,
       (unsigned long)st.evictions);
    munmap(mem, size);
}

static void test_spans(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(64, &mem, &size);
    unsigned char k[PC_TABLE_KEY_LEN], big[PC_TABLE_BIG_MAX],
        out[PC_TABLE_BIG_MAX];
    unsigned int i, len, sizes[] = {PC_TABLE_VALUE_MAX,
                                    PC_TABLE_VALUE_MAX + 1, 600, 1200,
                                    PC_TABLE_BIG_MAX};
    int all = 1, fresh;
    pc_table_stats_t st;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        key_in(k, 9, i);
        value_for(big, sizes[i], k);
        if (pc_table_put(t, k, big, sizes[i], NOW + SEC(60), NOW + SEC(60),
                         NOW, NULL) != PC_TABLE_STORED)
            all = 0;
        len = sizeof(out);
        if (pc_table_get(t, k, NOW, out, &len, NULL, NULL) != APR_SUCCESS ||
            len != sizes[i] || !value_ok(out, len, k))
            all = 0;
    }
    ok(all, "values of 1 to 8 slots read back whole");
    key_in(k, 9, 99);
    ok(pc_table_put(t, k, big, PC_TABLE_BIG_MAX + 1, NOW + SEC(60),
                    NOW + SEC(60), NOW, NULL) == PC_TABLE_TOO_BIG,
       "larger than a bucket: refused");

    /* Small entries around a big one, then the big one shrinks: its old
     * slots must read as free, never as garbage heads. */
    key_in(k, 11, 0);
    value_for(big, 1000, k);
    pc_table_put(t, k, big, 1000, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    value_for(big, 20, k);
    pc_table_put(t, k, big, 20, NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    for (i = 1; i < PC_TABLE_WAYS; i++) {
        unsigned char k2[PC_TABLE_KEY_LEN];
        key_in(k2, 11, i);
        value_for(big, 30, k2);
        pc_table_put(t, k2, big, 30, NOW + SEC(60), NOW + SEC(60), NOW,
                     &fresh);
    }
    pc_table_stats(t, &st);
    all = 1;
    for (i = 0; i < PC_TABLE_WAYS; i++) {
        unsigned char k2[PC_TABLE_KEY_LEN];
        key_in(k2, 11, i);
        len = sizeof(out);
        if (pc_table_get(t, k2, NOW, out, &len, NULL, NULL) != APR_SUCCESS ||
            !value_ok(out, len, k2))
            all = 0;
    }
    ok(all, "a shrunk entry freed its slots: 8 one-slot entries fit");

    /* A big entry pushes small ones out, counted one by one. */
    key_in(k, 11, 50);
    value_for(big, 1500, k);
    pc_table_put(t, k, big, 1500, NOW + SEC(90), NOW + SEC(90), NOW, &fresh);
    ok(fresh == 8, "an 8-slot entry evicts the 8 fresh ones (%d)", fresh);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS &&
       len == 1500 && value_ok(out, len, k), "and reads back whole");
    munmap(mem, size);
}

static void test_dead_writer(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(64, &mem, &size);
    unsigned char k[PC_TABLE_KEY_LEN], v[40], out[64];
    unsigned int len = sizeof(out);
    apr_uint32_t *seq, *lock;
    pc_table_stats_t st;
    pid_t dead = fork();

    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    key_in(k, 2, 1);
    value_for(v, sizeof(v), k);
    pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW, NULL);
    /* White box: bucket 2's seq and lock words, as a writer that died in
     * the middle of a write leaves them. */
    seq = (apr_uint32_t *)((char *)mem + 128 + 2 * BUCKET_BYTES);
    lock = seq + 1;
    *seq |= 1;
    *lock = (apr_uint32_t)dead;
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_EAGAIN,
       "a reader does not wait for a writer that died");
    key_in(k, 2, 2);
    ok(pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                    NULL) == PC_TABLE_STORED,
       "the next writer takes the dead writer's lock");
    pc_table_stats(t, &st);
    ok(st.stuck == 1, "counted");
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_SUCCESS,
       "the bucket works again");
    key_in(k, 2, 1);
    len = sizeof(out);
    ok(pc_table_get(t, k, NOW, out, &len, NULL, NULL) == APR_NOTFOUND,
       "what the dead writer may have half-written is gone");
    *lock = (apr_uint32_t)getppid();   /* alive, never lets go */
    ok(pc_table_put(t, k, v, sizeof(v), NOW + SEC(60), NOW + SEC(60), NOW,
                    NULL) == PC_TABLE_BUSY,
       "a live writer that hangs: busy after a bounded wait, not stolen");
    *lock = 0;
    munmap(mem, size);
}

/* Readers and writers at once: every value read must be whole.  Each
 * write carries a generation number in its first bytes, and its length
 * and every other byte follow from it, so a value mixed from two writes
 * shows. */
typedef struct race_t {
    pc_table_t *t;
    int writer, bad, hits;
    unsigned int seed;
} race_t;

static unsigned int race_len(apr_uint32_t gen)
{
    return 8 + gen % 1200;
}

static void race_value(unsigned char *v, apr_uint32_t gen)
{
    unsigned int i, len = race_len(gen);
    memcpy(v, &gen, sizeof(gen));
    for (i = sizeof(gen); i < len; i++)
        v[i] = (unsigned char)(gen * 31 + i);
}

static int race_ok(const unsigned char *v, unsigned int len)
{
    unsigned char want[PC_TABLE_BIG_MAX];
    apr_uint32_t gen;
    memcpy(&gen, v, sizeof(gen));
    if (len != race_len(gen))
        return 0;
    race_value(want, gen);
    return memcmp(v, want, len) == 0;
}

static void *APR_THREAD_FUNC racer(apr_thread_t *th, void *data)
{
    race_t *r = data;
    unsigned char k[PC_TABLE_KEY_LEN], v[PC_TABLE_BIG_MAX],
        out[PC_TABLE_BIG_MAX];
    int i;

    (void)th;
    for (i = 0; i < 15000; i++) {
        unsigned int n = (unsigned int)rand_r(&r->seed) % 12;
        key_in(k, n % 2, n);
        if (r->writer) {
            apr_uint32_t gen = (apr_uint32_t)rand_r(&r->seed);
            race_value(v, gen);
            pc_table_put(r->t, k, v, race_len(gen), NOW + SEC(60),
                         NOW + SEC(60), NOW, NULL);
            if (n % 5 == 0)
                pc_table_remove(r->t, k);
        }
        else {
            unsigned int got = sizeof(out);
            if (pc_table_get(r->t, k, NOW, out, &got, NULL, NULL) ==
                APR_SUCCESS) {
                r->hits++;
                if (!race_ok(out, got))
                    r->bad++;
            }
        }
    }
    return NULL;
}

static void test_race(void)
{
    void *mem;
    apr_size_t size;
    pc_table_t *t = new_table(32, &mem, &size);
    race_t r[6];
    apr_thread_t *th[6];
    apr_status_t rv;
    int i, bad = 0, hits = 0, child_bad;
    pid_t child;
    pc_table_stats_t st;

    /* A second process writing the same buckets meanwhile. */
    child = fork();
    if (child == 0) {
        race_t w = {t, 1, 0, 0, 4242};
        racer(NULL, &w);
        _exit(0);
    }
    for (i = 0; i < 6; i++) {
        r[i].t = t;
        r[i].writer = i < 2;
        r[i].bad = r[i].hits = 0;
        r[i].seed = (unsigned int)i + 1;
        apr_thread_create(&th[i], NULL, racer, &r[i], p);
    }
    for (i = 0; i < 6; i++) {
        apr_thread_join(&rv, th[i]);
        bad += r[i].bad;
        hits += r[i].hits;
    }
    waitpid(child, &child_bad, 0);
    ok(hits > 500, "readers found entries while writers wrote (%d)", hits);
    ok(bad == 0, "and never a torn value (%d bad)", bad);
    pc_table_stats(t, &st);
    ok(st.stuck == 0, "no lock was ever taken for dead");
    ok(st.entries <= st.capacity, "entries within capacity (%lu of %lu)",
       (unsigned long)st.entries, (unsigned long)st.capacity);
    munmap(mem, size);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_sizes();
    test_basic();
    test_evictions();
    test_two_choices();
    test_load();
    test_spans();
    test_dead_writer();
    test_race();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

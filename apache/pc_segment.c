/*
 * pc_segment.c - the shared segment and the global mutex.
 *
 * Layout (one anonymous apr_shm):
 *
 *   +----------------------+ seg_head_t
 *   | magic, size          |  size covers everything below
 *   | backoff_until        |  429 back-off, all processes
 *   | counters, latency[]  |  lock-free atomics
 *   +----------------------+
 *   | area 0               |  lent to another concern (pc_seg_area_t),
 *   | area 1 ...           |  each aligned to 64 bytes
 *   +----------------------+
 *
 * Survival across `apachectl graceful`: the segment is created once in the
 * process pool and found again by the next generation (kept as pool user
 * data).  A segment of another size (a new build of the module with
 * another layout) is not reused: a new one is made.
 */
#include "pc_segment.h"

#include "http_log.h"
#include "util_mutex.h"

#include <apr_global_mutex.h>
#include <apr_shm.h>

APLOG_USE_MODULE(pingone_consent);

#define SEG_MAGIC 0x50435334u
#define SEG_ALIGN 64
#define SEG_KEY "mod_pingone_consent:segment"

typedef struct seg_head_t {
    apr_uint32_t magic;
    apr_size_t size;
    apr_time_t backoff_until;
    pc_counters_t counters;
    apr_uint64_t latency[PC_LAT_BUCKETS];
    apr_uint64_t latency_sum_us;         /* of every recorded call */
} seg_head_t;

/* Kept in the process pool across generations. */
typedef struct seg_persist_t {
    apr_shm_t *shm;
    seg_head_t *head;
} seg_persist_t;

static seg_head_t *g_head;               /* this generation's view */
static apr_global_mutex_t *g_mutex;
static const char *g_mutex_file;

/* Bucket upper bounds in ms; the last bucket is everything above. */
static const int lat_bounds[PC_LAT_BUCKETS - 1] = {
    1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000};

static apr_size_t align_up(apr_size_t n)
{
    return (n + SEG_ALIGN - 1) & ~(apr_size_t)(SEG_ALIGN - 1);
}

void pc_segment_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, PC_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

int pc_segment_ready(void)
{
    return g_head != NULL;
}

static apr_size_t total_size(const pc_seg_area_t *areas, int n)
{
    apr_size_t size = align_up(sizeof(seg_head_t));
    int i;
    for (i = 0; i < n; i++)
        size += align_up(areas[i].size);
    return size;
}

/* The segment of the previous generation when it fits, else a new one. */
static const char *find_or_create(seg_persist_t *ps, apr_pool_t *pp,
                                  apr_size_t size, int *fresh)
{
    *fresh = 0;
    if (ps->head && ps->head->magic == SEG_MAGIC && ps->head->size == size)
        return NULL;
    /* A different layout: the old segment stays until the process ends
     * (children of the old generation may still use it). */
    if (apr_shm_create(&ps->shm, size, NULL, pp) != APR_SUCCESS)
        return "PingOneConsentCache: cannot create the shared segment";
    ps->head = apr_shm_baseaddr_get(ps->shm);
    memset(ps->head, 0, size);
    ps->head->magic = SEG_MAGIC;
    ps->head->size = size;
    *fresh = 1;
    return NULL;
}

const char *pc_segment_post_config(apr_pool_t *pconf, server_rec *s,
                                   const pc_seg_area_t *areas, int nareas)
{
    apr_pool_t *pp = s->process->pool;
    seg_persist_t *ps = NULL;
    const char *err;
    char *mem;
    int i, fresh;

    apr_pool_userdata_get((void **)&ps, SEG_KEY, pp);
    if (ps == NULL) {
        ps = apr_pcalloc(pp, sizeof(*ps));
        apr_pool_userdata_set(ps, SEG_KEY, apr_pool_cleanup_null, pp);
    }
    if ((err = find_or_create(ps, pp, total_size(areas, nareas), &fresh)))
        return err;
    mem = (char *)ps->head + align_up(sizeof(seg_head_t));
    for (i = 0; i < nareas; i++) {
        areas[i].attach(mem, fresh);
        mem += align_up(areas[i].size);
    }
    if (ap_global_mutex_create(&g_mutex, &g_mutex_file, PC_MUTEX_TYPE, NULL,
                               s, pconf, 0) != APR_SUCCESS)
        return "Mutex pingone-consent: cannot create the global mutex";
    g_head = ps->head;
    return NULL;
}

void pc_segment_child_init(apr_pool_t *p, server_rec *s)
{
    if (g_mutex &&
        apr_global_mutex_child_init(&g_mutex, g_mutex_file, p) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "PC00021: cannot attach the global mutex in a child");
}

void pc_segment_lock(void)
{
    if (g_mutex)
        apr_global_mutex_lock(g_mutex);
}

void pc_segment_unlock(void)
{
    if (g_mutex)
        apr_global_mutex_unlock(g_mutex);
}

apr_uint64_t pc_tally_add(pc_tally_t *t, apr_uint64_t n, apr_time_t now,
                          apr_interval_time_t every)
{
    apr_uint64_t out = 0;

    pc_segment_lock();
    t->count += n;
    if (now - t->reported_at >= every) {
        out = t->count;
        t->count = 0;
        t->reported_at = now;
    }
    pc_segment_unlock();
    return out;
}

/* ---- counters ------------------------------------------------------------ */

void pc_count(pc_counter_e which)
{
    if (g_head == NULL || (unsigned)which >= PC_CNT_MAX)
        return;
    /* Lock-free: this runs on every request. */
    __atomic_fetch_add(&g_head->counters.v[which], 1, __ATOMIC_RELAXED);
}

void pc_counters_read(pc_counters_t *out)
{
    int i;
    memset(out, 0, sizeof(*out));
    if (g_head == NULL)
        return;
    for (i = 0; i < PC_CNT_MAX; i++)
        out->v[i] = __atomic_load_n(&g_head->counters.v[i], __ATOMIC_RELAXED);
}

/* ---- latency ------------------------------------------------------------- */

/* Bucket i holds the calls that took at most lat_bounds[i] ms (compared
 * in microseconds, so a bucket means what its upper bound says). */
void pc_latency_record(apr_interval_time_t elapsed)
{
    int i;

    if (g_head == NULL)
        return;
    if (elapsed < 0)
        elapsed = 0;
    for (i = 0; i < PC_LAT_BUCKETS - 1 &&
                elapsed > (apr_interval_time_t)lat_bounds[i] * 1000;
         i++)
        ;
    __atomic_fetch_add(&g_head->latency[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_head->latency_sum_us, (apr_uint64_t)elapsed,
                       __ATOMIC_RELAXED);
}

int pc_latency_read(apr_uint64_t *counts, const int **bounds_ms,
                    apr_uint64_t *sum_us)
{
    int i;

    *bounds_ms = lat_bounds;
    *sum_us = 0;
    for (i = 0; i < PC_LAT_BUCKETS; i++)
        counts[i] = g_head ? __atomic_load_n(&g_head->latency[i],
                                             __ATOMIC_RELAXED)
                           : 0;
    if (g_head)
        *sum_us = __atomic_load_n(&g_head->latency_sum_us, __ATOMIC_RELAXED);
    return PC_LAT_BUCKETS - 1;
}

void pc_latency_percentiles(int *p50, int *p90, int *p99, apr_uint64_t *n)
{
    apr_uint64_t h[PC_LAT_BUCKETS], total = 0, run = 0;
    int i, k = 0, *out[3] = {p50, p90, p99};
    const double q[3] = {0.5, 0.9, 0.99};

    *p50 = *p90 = *p99 = -1;
    *n = 0;
    if (g_head == NULL)
        return;
    for (i = 0; i < PC_LAT_BUCKETS; i++)
        total += h[i] = __atomic_load_n(&g_head->latency[i], __ATOMIC_RELAXED);
    *n = total;
    for (i = 0; i < PC_LAT_BUCKETS && k < 3 && total; i++) {
        run += h[i];
        while (k < 3 && (double)run >= q[k] * (double)total) {
            *out[k] = i < PC_LAT_BUCKETS - 1 ? lat_bounds[i] : 100000;
            k++;
        }
    }
}

/* ---- back-off ------------------------------------------------------------ */

int pc_backoff_left(apr_time_t now)
{
    apr_time_t until;

    if (g_head == NULL)
        return 0;
    until = __atomic_load_n(&g_head->backoff_until, __ATOMIC_ACQUIRE);
    return until > now ? (int)((until - now + APR_USEC_PER_SEC - 1) /
                               APR_USEC_PER_SEC)
                       : 0;
}

void pc_backoff_set(apr_time_t until)
{
    if (g_head == NULL)
        return;
    pc_segment_lock();
    if (until > g_head->backoff_until)
        __atomic_store_n(&g_head->backoff_until, until, __ATOMIC_RELEASE);
    pc_segment_unlock();
}

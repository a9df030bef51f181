/*
 * pc_local.c - the server's own decision cache (see pc_local.h).
 *
 * The table gets a segment of its own (not an area of pc_segment.c)
 * because it is large and must not be written at start-up: fresh
 * anonymous shared memory is zero-filled, and pages are touched only as
 * decisions are stored.
 */
#include "pc_local.h"
#include "pc_text.h"

#include "http_log.h"

#include <apr_shm.h>
#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define LC_KEY "mod_pingone_consent:local"
#define LC_LOG_INTERVAL apr_time_from_sec(60)

/* Kept in the process pool across generations. */
typedef struct lc_persist_t {
    apr_shm_t *shm;
    apr_size_t size;
    pc_table_t *table;
} lc_persist_t;

/* The throttle of PC00028, in the shared segment. */
typedef struct lc_shared_t {
    pc_tally_t evicted;            /* fresh evictions */
} lc_shared_t;

static pc_table_t *g_table;
static lc_shared_t *g_sh;
static apr_uint64_t g_capacity;

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_sh = mem;
}

pc_seg_area_t pc_local_area(void)
{
    pc_seg_area_t a = {sizeof(lc_shared_t), attach};
    return a;
}

int pc_local_ready(void)
{
    return g_table != NULL;
}

/* The previous generation's table when it has this size, else a new one
 * (the old segment is released: children of the old generation keep their
 * own mapping until they exit). */
static const char *find_or_create(lc_persist_t *ps, apr_pool_t *pp,
                                  apr_size_t size)
{
    if (ps->table && ps->size == size &&
        pc_table_attach(apr_shm_baseaddr_get(ps->shm), size, 0) == ps->table)
        return NULL;
    if (ps->shm)
        apr_shm_destroy(ps->shm);
    ps->shm = NULL;
    ps->table = NULL;
    if (apr_shm_create(&ps->shm, size, NULL, pp) != APR_SUCCESS)
        return apr_psprintf(pp, "PingOneConsentCacheSize: cannot create "
                            "%" APR_SIZE_T_FMT " bytes of shared memory for "
                            "the decision cache", size);
    ps->size = size;
    ps->table = pc_table_attach(apr_shm_baseaddr_get(ps->shm), size, 1);
    return ps->table ? NULL : "PingOneConsentCacheSize: table too small";
}

const char *pc_local_post_config(server_rec *s, apr_uint64_t entries)
{
    apr_pool_t *pp = s->process->pool;
    lc_persist_t *ps = NULL;
    apr_size_t size = pc_table_size(entries, &g_capacity);
    const char *err;

    apr_pool_userdata_get((void **)&ps, LC_KEY, pp);
    if (ps == NULL) {
        ps = apr_pcalloc(pp, sizeof(*ps));
        apr_pool_userdata_set(ps, LC_KEY, apr_pool_cleanup_null, pp);
    }
    if ((err = find_or_create(ps, pp, size)) != NULL)
        return err;
    g_table = ps->table;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "PC00027: decision cache: %" APR_UINT64_T_FMT " decisions "
                 "in %.1f MiB of shared memory, used as filled "
                 "(PingOneConsentCacheSize)",
                 g_capacity, (double)size / (1024.0 * 1024.0));
    return NULL;
}

apr_status_t pc_local_get(const unsigned char *key, unsigned char *val,
                          unsigned int *len)
{
    apr_status_t rv;

    if (g_table == NULL)
        return APR_NOTFOUND;
    rv = pc_table_get(g_table, key, apr_time_now(), val, len, NULL, NULL);
    return rv == APR_SUCCESS ? APR_SUCCESS : APR_NOTFOUND;
}

/* Fresh entries were evicted: log, at most once a minute. */
static void note_evictions(int evicted, const pc_ctx_t *c)
{
    apr_uint64_t n = pc_tally_add(&g_sh->evicted, (apr_uint64_t)evicted,
                                  apr_time_now(), LC_LOG_INTERVAL);
    pc_table_stats_t st;

    if (n == 0)
        return;
    pc_table_stats(g_table, &st);
    pc_log(c, APLOG_WARNING, 0, "PC00028: the decision cache is full: %" APR_UINT64_T_FMT
                  " decision(s) evicted while still fresh since the last "
                  "report (%" APR_UINT64_T_FMT " in all), so those users "
                  "cost PingOne calls again; raise PingOneConsentCacheSize "
                  "(now %" APR_UINT64_T_FMT " decisions); logged at most "
                  "once a minute", n, st.evictions_fresh, st.capacity);
}

void pc_local_put(const unsigned char *key, const unsigned char *val,
                  unsigned int len, apr_time_t fresh_until,
                  apr_time_t expires, const pc_ctx_t *c)
{
    int evicted = 0;

    if (g_table == NULL)
        return;
    pc_table_put(g_table, key, val, len, fresh_until, expires, apr_time_now(),
                 &evicted);
    if (evicted && g_sh)
        note_evictions(evicted, c);
}

apr_status_t pc_local_remove(const unsigned char *key, int *removed)
{
    pc_table_remove_e rv;

    *removed = 0;
    if (g_table == NULL)
        return APR_SUCCESS;
    rv = pc_table_remove(g_table, key);
    *removed = rv == PC_TABLE_REMOVED;
    return rv == PC_TABLE_REMOVE_BUSY ? APR_EAGAIN : APR_SUCCESS;
}

void pc_local_clear(void)
{
    if (g_table)
        pc_table_clear(g_table);
}

void pc_local_stats(pc_table_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (g_table)
        pc_table_stats(g_table, out);
}

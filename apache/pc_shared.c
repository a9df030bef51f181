/*
 * pc_shared.c - the decision cache (socache) and the shared segment.
 *
 * Survival across `apachectl graceful`: the shared segment and, for the
 * shmcb provider, the cache instance are created once in the process pool
 * and found again by the next generation.  The shmcb instance's code lives
 * in mod_socache_shmcb.so, which httpd unloads and reloads on a restart, so
 * the module is pinned in memory with one extra dlopen() reference: the
 * reload then maps the very same code and the old instance stays valid.
 * Other providers (redis, memcache) keep their entries on their server and
 * are simply created anew each generation.
 *
 * Shared segment layout (one apr_shm, anonymous):
 *
 *   +--------------------+ pc_shm_t
 *   | magic, size        |
 *   | backoff_until      |  429 back-off, all processes
 *   | counters           |
 *   | tokens[8]          |  worker tokens, keyed by SHA-1 of the identity
 *   | flights[512]       |  in-flight lookups, keyed by cache key
 *   +--------------------+
 */
#include "pc_apache.h"
#include "pc_rcall.h"
#include "pc_shared.h"
#include "pc_util.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "util_mutex.h"

#include <apr_global_mutex.h>
#include <apr_sha1.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <stddef.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_SHM_MAGIC 0x50433033u
#define PC_TOKENS 8
#define PC_FLIGHTS 512
#define PC_FLIGHT_PROBE 16
#define PC_CACHE_ERROR_LOG_INTERVAL apr_time_from_sec(60)

enum { FL_FREE = 0, FL_BUSY, FL_DONE_OK, FL_DONE_ERR };

typedef struct pc_stoken_t {
    unsigned char id[APR_SHA1_DIGESTSIZE];
    apr_time_t refresh_at, expires, fetching_since;
    char token[PC_TOKEN_MAX];
} pc_stoken_t;

typedef struct pc_flight_t {
    unsigned char key[PC_CACHE_KEY_LEN];
    apr_time_t since;
    apr_uint32_t state, gen;
    char err_tag[40];
    char retry_after[40];
    unsigned int value_len;
    unsigned char value[PC_FLIGHT_VALUE];   /* the leader's answer */
} pc_flight_t;

typedef struct pc_shm_t {
    apr_uint32_t magic;
    apr_size_t size;
    apr_time_t backoff_until;
    apr_time_t cache_error_logged;
    apr_uint32_t generation;      /* bumped by purges: invalidates every L1 */
    apr_uint32_t epoch;           /* bumped by purge-all: part of every key */
    pc_counters_t counters;
    apr_uint64_t latency[16];     /* PingOne call latency histogram */
    pc_stoken_t tokens[PC_TOKENS];
    pc_flight_t flights[PC_FLIGHTS];
} pc_shm_t;

/* Kept in the process pool across generations. */
typedef struct pc_persist_t {
    apr_shm_t *shm;
    pc_shm_t *seg;
    const char *cache_spec;
    ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
} pc_persist_t;

static pc_persist_t *g;                  /* this generation's view */
static apr_global_mutex_t *g_mutex;
static const char *g_mutex_file;
static int g_cache_locks;                /* provider needs our mutex */
static int g_stale_window;               /* largest stale window, seconds */

static void l1_init(apr_pool_t *p);
static void cache_error(request_rec *r, const char *what, apr_status_t rv);
static apr_interval_time_t g_tombstone_life;  /* see "purge tombstones" */

#define PERSIST_KEY "mod_pingone_consent:persist"

static void lock(void)
{
    if (g_mutex)
        apr_global_mutex_lock(g_mutex);
}

static void unlock(void)
{
    if (g_mutex)
        apr_global_mutex_unlock(g_mutex);
}

/* Every call into the cache provider.  shmcb (and any provider that is
 * not safe across processes) runs under the global mutex; a remote one
 * (redis, memcache) runs with a deadline, since its server may hang
 * (pc_rcall.h): a call that does not answer in time fails like any cache
 * error, and the request goes on without the cache. */
#define PC_REMOTE_WAIT apr_time_from_msec(500)

static apr_status_t cache_call(pc_rcall_kind_e kind, server_rec *s,
                               const unsigned char *key, unsigned int keylen,
                               apr_time_t expiry, unsigned char *val,
                               unsigned int *len, apr_pool_t *p)
{
    apr_status_t rv;

    if (!g_cache_locks)
        return pc_rcall(g->provider, g->inst, s, kind, key, keylen, expiry,
                        val, len, PC_REMOTE_WAIT, p);
    lock();
    rv = pc_rcall_direct(g->provider, g->inst, s, kind, key, keylen, expiry,
                         val, len, p);
    unlock();
    return rv;
}

void pc_shared_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, PC_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    g_tombstone_life = 0;
}

int pc_shared_ready(void)
{
    return g != NULL && g->inst != NULL;
}

static apr_status_t count_entry(ap_socache_instance_t *inst, server_rec *s,
                                void *userctx, const unsigned char *id,
                                unsigned int idlen, const unsigned char *data,
                                unsigned int datalen, apr_pool_t *p)
{
    (void)inst; (void)s; (void)id; (void)idlen; (void)data; (void)datalen;
    (void)p;
    ++*(long *)userctx;
    return APR_SUCCESS;
}

long pc_shared_entries(request_rec *r)
{
    long n = 0;
    apr_status_t rv;

    if (!pc_shared_ready() || g->provider->iterate == NULL)
        return -1;
    if (g_cache_locks)
        lock();
    rv = g->provider->iterate(g->inst, r->server, &n, count_entry, r->pool);
    if (g_cache_locks)
        unlock();
    return rv == APR_SUCCESS ? n : -1;
}

const char *pc_shared_cache_name(void)
{
    return g && g->cache_spec ? g->cache_spec : PC_DEFAULT_CACHE;
}

/* Keep the provider's DSO mapped across restarts (see the top comment). */
static void pin_provider_code(const void *provider, server_rec *s)
{
    Dl_info info;
    if (dladdr(provider, &info) && info.dli_fname &&
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD) == NULL)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "PC00020: cannot pin %s; the cache will not survive a "
                     "graceful restart", info.dli_fname);
}

static const char *create_cache(pc_persist_t *ps, apr_pool_t *pool,
                                apr_pool_t *ptemp, server_rec *s,
                                const char *spec)
{
    const char *name = spec, *args = NULL, *colon = strchr(spec, ':');
    const char *err;
    struct ap_socache_hints hints = {PC_CACHE_KEY_LEN, 140,
                                     PC_DEFAULT_ALLOW_TTL};
    apr_status_t rv;

    if (colon) {
        name = apr_pstrmemdup(ptemp, spec, (apr_size_t)(colon - spec));
        args = colon + 1;
    }
    ps->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (ps->provider == NULL)
        return apr_psprintf(ptemp, "PingOneConsentCache: unknown cache "
                            "provider '%s' (load mod_socache_%s?)",
                            pc_log_safe(ptemp, name, 40),
                            pc_log_safe(ptemp, name, 40));
    err = ps->provider->create(&ps->inst, args, ptemp, pool);
    if (err)
        return apr_psprintf(ptemp, "PingOneConsentCache: %s", err);
    rv = ps->provider->init(ps->inst, "pingone-consent", &hints, s, pool);
    if (rv != APR_SUCCESS) {
        ps->inst = NULL;
        return apr_psprintf(ptemp, "PingOneConsentCache: cannot initialise "
                            "'%s' (%d)", pc_log_safe(ptemp, spec, 200), rv);
    }
    ps->cache_spec = apr_pstrdup(pool, spec);
    return NULL;
}

const char *pc_shared_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const char *cache_spec)
{
    apr_pool_t *pp = s->process->pool;
    pc_persist_t *ps = NULL;
    apr_status_t rv;
    const char *err;
    int persistent = strncmp(cache_spec, "shmcb", 5) == 0;

    g_stale_window = 0;

    apr_pool_userdata_get((void **)&ps, PERSIST_KEY, pp);
    if (ps == NULL) {
        ps = apr_pcalloc(pp, sizeof(*ps));
        apr_pool_userdata_set(ps, PERSIST_KEY, apr_pool_cleanup_null, pp);
    }
    if (ps->seg == NULL) {
        rv = apr_shm_create(&ps->shm, sizeof(pc_shm_t), NULL, pp);
        if (rv != APR_SUCCESS)
            return "PingOneConsentCache: cannot create the shared segment";
        ps->seg = apr_shm_baseaddr_get(ps->shm);
        memset(ps->seg, 0, sizeof(pc_shm_t));
        ps->seg->magic = PC_SHM_MAGIC;
        ps->seg->size = sizeof(pc_shm_t);
    }

    /* A cache from the previous generation: keep it when unchanged. */
    if (ps->inst && (!persistent || strcmp(ps->cache_spec, cache_spec))) {
        if (strncmp(ps->cache_spec, "shmcb", 5) == 0)
            ps->provider->destroy(ps->inst, s);
        ps->inst = NULL;
    }
    if (ps->inst == NULL) {
        if ((err = create_cache(ps, persistent ? pp : pconf, ptemp, s,
                                cache_spec)) != NULL)
            return err;
        if (persistent)
            pin_provider_code(ps->provider, s);
    }
    g_cache_locks = (ps->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;

    rv = ap_global_mutex_create(&g_mutex, &g_mutex_file, PC_MUTEX_TYPE, NULL,
                                s, pconf, 0);
    if (rv != APR_SUCCESS)
        return "Mutex pingone-consent: cannot create the global mutex";
    g = ps;
    (void)ptemp;
    return NULL;
}

void pc_shared_child_init(apr_pool_t *p, server_rec *s)
{
    if (g)
        l1_init(p);
    if (g && g->inst && !g_cache_locks) {
        /* Remote cache: calls with a deadline (pc_rcall.h), from up to
         * one thread per request thread, plus one. */
        int threads = 1;
        apr_status_t rv;
        ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
        if (threads < 1)
            threads = 1;
        if ((rv = pc_rcall_start(2, threads + 1)) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         "PC00026: cannot start the cache caller threads; "
                         "calls to the cache server have no deadline");
    }
    if (g_mutex &&
        apr_global_mutex_child_init(&g_mutex, g_mutex_file, p) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "PC00021: cannot attach the global mutex in a child");
}

/* ---- counters ----------------------------------------------------------- */

void pc_count(pc_counter_e which)
{
    if (g == NULL || which >= PC_CNT_MAX)
        return;
    /* Lock-free: this runs on every request. */
    __atomic_fetch_add(&g->seg->counters.v[which], 1, __ATOMIC_RELAXED);
}

const char *const pc_counter_names[PC_CNT_MAX] = {
    "hits", "misses", "stale", "errors", "coalesced", "fail_open",
    "pingone_calls", "token_calls", "cache_errors", "webhook_accepted",
    "webhook_refused", "webhook_users_dropped"};

/* Bucket upper bounds in ms; the last bucket is everything above. */
static const int lat_bounds[15] = {1,  2,   5,   10,  20,   50,   100, 200,
                                   300, 500, 1000, 2000, 3000, 5000, 10000};

void pc_latency_record(apr_interval_time_t elapsed)
{
    int i;
    long ms = (long)(elapsed / 1000);
    if (g == NULL)
        return;
    for (i = 0; i < 15 && ms > lat_bounds[i]; i++)
        ;
    __atomic_fetch_add(&g->seg->latency[i], 1, __ATOMIC_RELAXED);
}

void pc_latency_percentiles(int *p50, int *p90, int *p99, apr_uint64_t *n)
{
    apr_uint64_t h[16], total = 0, run = 0;
    int i, *out[3] = {p50, p90, p99};
    double q[3] = {0.5, 0.9, 0.99};
    int k = 0;

    *p50 = *p90 = *p99 = -1;
    *n = 0;
    if (g == NULL)
        return;
    for (i = 0; i < 16; i++)
        total += h[i] = __atomic_load_n(&g->seg->latency[i], __ATOMIC_RELAXED);
    *n = total;
    if (total == 0)
        return;
    for (i = 0; i < 16 && k < 3; i++) {
        run += h[i];
        while (k < 3 && (double)run >= q[k] * (double)total) {
            *out[k] = i < 15 ? lat_bounds[i] : 100000;
            k++;
        }
    }
}

int pc_token_seconds_left(void)
{
    apr_time_t now = apr_time_now(), best = 0;
    int i;
    if (g == NULL)
        return -1;
    lock();
    for (i = 0; i < PC_TOKENS; i++) {
        const pc_stoken_t *t = &g->seg->tokens[i];
        if (t->token[0] && t->expires > now && t->expires > best)
            best = t->expires;
    }
    unlock();
    return best ? (int)apr_time_sec(best - now) : -1;
}

void pc_counters_read(pc_counters_t *out)
{
    int i;
    memset(out, 0, sizeof(*out));
    if (g == NULL)
        return;
    for (i = 0; i < PC_CNT_MAX; i++)
        out->v[i] = __atomic_load_n(&g->seg->counters.v[i], __ATOMIC_RELAXED);
}

/* ---- back-off ----------------------------------------------------------- */

int pc_backoff_left(apr_time_t now)
{
    apr_time_t until;
    if (g == NULL)
        return 0;
    lock();
    until = g->seg->backoff_until;
    unlock();
    return until > now ? (int)((until - now + APR_USEC_PER_SEC - 1) /
                               APR_USEC_PER_SEC)
                       : 0;
}

void pc_backoff_set(apr_time_t until)
{
    if (g == NULL)
        return;
    lock();
    if (until > g->seg->backoff_until)
        g->seg->backoff_until = until;
    unlock();
}

/* ---- per-process first level ------------------------------------------- *
 *
 * shmcb needs the global mutex around every lookup; with many threads that
 * lock is the cost of a cache hit.  Each process therefore keeps the
 * values it read or wrote recently in a small table of its own, guarded by
 * striped thread mutexes.  An entry there is used only while the shared
 * segment's generation is unchanged (a purge bumps it) and until the time
 * the shared cache would drop it; values are immutable until then, so the
 * answer is the one the shared cache would give.  Only for shmcb: a farm
 * cache (redis, memcache) can be purged by another server.
 */

#define PC_L1_SLOTS 2048
#define PC_L1_IDENT 200
#define PC_L1_STRINGS 320
#define PC_L1_SCOPES 24
#define PC_L1_STRIPES 16

/* An entry already decoded, laid out flat so a hit copies one block and
 * sets a few pointers instead of decoding the value again. */
enum { F_USER, F_APP, F_CID, F_APPNAME, F_STATUS, F_FIXED };
#define F_NONE 0xFFFF

typedef struct l1_flat_t {
    apr_time_t fetched_at, fresh_until, expires_at;
    unsigned char kind, unknown_user, has_consent, nscopes;
    unsigned short used;                     /* bytes of str in use */
    unsigned short off[F_FIXED + PC_L1_SCOPES];
    char str[PC_L1_STRINGS];
} l1_flat_t;

typedef struct l1_slot_t {
    unsigned int ident_len;
    char ident[PC_L1_IDENT];
    apr_uint32_t gen;
    apr_time_t until;
    int valid;
    l1_flat_t flat;
} l1_slot_t;

static l1_slot_t *l1;
static apr_thread_mutex_t *l1_locks[PC_L1_STRIPES];

/* "Purge everything" cannot iterate every provider, so it moves every key
 * instead: an epoch is folded into the key.  With shmcb the epoch lives in
 * the shared segment; with a farm cache it is itself stored in the cache
 * (read at most once a second per process), so a purge-all on one server
 * reaches all servers within a second. */
#define EPOCH_KEY "pingone-consent:epoch"
#define EPOCH_MEMO apr_time_from_sec(1)

static apr_uint32_t epoch_memo;
static apr_time_t epoch_memo_at;

static apr_uint32_t remote_epoch_read(server_rec *s, apr_pool_t *p)
{
    unsigned char buf[16];
    unsigned int len = sizeof(buf) - 1;
    if (cache_call(PC_RC_RETRIEVE, s, (const unsigned char *)EPOCH_KEY,
                   sizeof(EPOCH_KEY) - 1, 0, buf, &len, p) != APR_SUCCESS)
        return 0;
    buf[len] = '\0';
    return (apr_uint32_t)strtoul((const char *)buf, NULL, 10);
}

static apr_uint32_t current_epoch(request_rec *r)
{
    apr_time_t now, at;
    apr_uint32_t e;

    if (g == NULL)
        return 0;
    if (g_cache_locks)
        return __atomic_load_n(&g->seg->epoch, __ATOMIC_ACQUIRE);
    now = apr_time_now();
    at = __atomic_load_n(&epoch_memo_at, __ATOMIC_ACQUIRE);
    if (now - at < EPOCH_MEMO)
        return __atomic_load_n(&epoch_memo, __ATOMIC_ACQUIRE);
    e = remote_epoch_read(r->server, r->pool);
    __atomic_store_n(&epoch_memo, e, __ATOMIC_RELEASE);
    __atomic_store_n(&epoch_memo_at, now, __ATOMIC_RELEASE);
    return e;
}

void pc_cache_id_init(pc_cache_id_t *id, pc_cache_kind_e kind,
                      const char *env, const char *user, const char *app,
                      request_rec *r)
{
    id->kind = kind;
    id->env = env ? env : "";
    id->user = user ? user : "";
    id->app = app ? app : "";
    id->have_key = 0;
    id->epoch = current_epoch(r);
}

const unsigned char *pc_cache_id_key(pc_cache_id_t *id)
{
    if (!id->have_key) {
        char env[96];
        const char *e = id->env;
        if (id->epoch) {
            apr_snprintf(env, sizeof(env), "%.64s|%u", id->env, id->epoch);
            e = env;
        }
        pc_cache_key(id->key, id->kind, e, id->user, id->app);
        id->have_key = 1;
    }
    return id->key;
}

/* kind, env, NUL, user, NUL, app: the same fields the SHA-1 key covers.
 * 0 when too long for a slot (then there is no per-process copy). */
static unsigned int l1_ident(const pc_cache_id_t *id, char *buf)
{
    size_t a = strlen(id->env), b = strlen(id->user), c = strlen(id->app);
    unsigned int n = (unsigned int)(1 + a + 1 + b + 1 + c);

    if (a + b + c + 3 > PC_L1_IDENT)
        return 0;
    buf[0] = (char)id->kind;
    memcpy(buf + 1, id->env, a);
    buf[1 + a] = '\0';
    memcpy(buf + 2 + a, id->user, b);
    buf[2 + a + b] = '\0';
    memcpy(buf + 3 + a + b, id->app, c);
    return n;
}

static unsigned int l1_index(const char *ident, unsigned int n)
{
    apr_uint32_t h = 2166136261u; /* FNV-1a: spreading, not security */
    unsigned int i;
    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)ident[i]) * 16777619u;
    return h % PC_L1_SLOTS;
}

static void l1_init(apr_pool_t *p)
{
    int i;
    if (!g_cache_locks)
        return;
    l1 = apr_pcalloc(p, sizeof(l1_slot_t) * PC_L1_SLOTS);
    for (i = 0; i < PC_L1_STRIPES; i++) {
        if (apr_thread_mutex_create(&l1_locks[i], APR_THREAD_MUTEX_DEFAULT,
                                    p) != APR_SUCCESS) {
            l1 = NULL;
            return;
        }
    }
}

static int flat_add(l1_flat_t *f, int field, const char *v)
{
    size_t n;
    if (v == NULL) {
        f->off[field] = F_NONE;
        return 1;
    }
    n = strlen(v) + 1;
    if (f->used + n > PC_L1_STRINGS)
        return 0;
    memcpy(f->str + f->used, v, n);
    f->off[field] = f->used;
    f->used = (unsigned short)(f->used + n);
    return 1;
}

/* 0 when the entry does not fit a slot (then it simply is not kept). */
static int flatten(l1_flat_t *f, const pc_cache_entry_t *e)
{
    const pc_consent_t *c = e->consent;
    int i, n = c && c->scopes ? c->scopes->nelts : 0;

    if (n > PC_L1_SCOPES)
        return 0;
    f->used = 0;
    f->fetched_at = e->fetched_at;
    f->fresh_until = e->fresh_until;
    f->expires_at = c ? c->expires_at : 0;
    f->kind = (unsigned char)e->kind;
    f->unknown_user = (unsigned char)(e->unknown_user != 0);
    f->has_consent = c != NULL;
    f->nscopes = (unsigned char)n;
    if (!flat_add(f, F_USER, e->user_id) || !flat_add(f, F_APP, e->app) ||
        !flat_add(f, F_CID, c ? c->id : NULL) ||
        !flat_add(f, F_APPNAME, c ? c->app_name : NULL) ||
        !flat_add(f, F_STATUS, c ? c->status : NULL))
        return 0;
    for (i = 0; i < n; i++) {
        if (!flat_add(f, F_FIXED + i,
                      APR_ARRAY_IDX(c->scopes, i, const char *)))
            return 0;
    }
    return 1;
}

static void unflatten(pc_cache_entry_t *e, const l1_flat_t *src,
                      apr_pool_t *p)
{
    char *str = apr_pmemdup(p, src->str, src->used);
#define S(k) (src->off[k] == F_NONE ? NULL : str + src->off[k])
    int i;

    memset(e, 0, sizeof(*e));
    e->kind = (pc_cache_kind_e)src->kind;
    e->fetched_at = src->fetched_at;
    e->fresh_until = src->fresh_until;
    e->unknown_user = src->unknown_user;
    e->user_id = S(F_USER);
    e->app = S(F_APP);
    if (src->has_consent) {
        pc_consent_t *c = apr_pcalloc(p, sizeof(*c));
        c->id = S(F_CID);
        c->app_name = S(F_APPNAME);
        c->status = S(F_STATUS);
        c->user_id = e->user_id;
        c->expires_at = src->expires_at;
        c->scopes = apr_array_make(p, src->nscopes ? src->nscopes : 1,
                                   sizeof(const char *));
        for (i = 0; i < src->nscopes; i++)
            APR_ARRAY_PUSH(c->scopes, const char *) = S(F_FIXED + i);
        e->consent = c;
    }
#undef S
}

static int l1_get(const pc_cache_id_t *id, pc_cache_entry_t *e,
                  apr_time_t now, apr_pool_t *p)
{
    char ident[PC_L1_IDENT];
    unsigned int n, i;
    apr_thread_mutex_t *m;
    l1_slot_t *sl;
    l1_flat_t copy;
    int found = 0;

    if (l1 == NULL || (n = l1_ident(id, ident)) == 0)
        return 0;
    i = l1_index(ident, n);
    m = l1_locks[i % PC_L1_STRIPES];
    sl = &l1[i];
    apr_thread_mutex_lock(m);
    if (sl->valid && sl->ident_len == n && memcmp(sl->ident, ident, n) == 0 &&
        sl->gen == __atomic_load_n(&g->seg->generation, __ATOMIC_ACQUIRE) &&
        now < sl->until) {
        memcpy(&copy, &sl->flat,
               offsetof(l1_flat_t, str) + sl->flat.used);
        found = 1;
    }
    apr_thread_mutex_unlock(m);
    if (found)
        unflatten(e, &copy, p);
    return found;
}

static void l1_put(const pc_cache_id_t *id, const pc_cache_entry_t *e,
                   apr_time_t until, apr_uint32_t gen)
{
    char ident[PC_L1_IDENT];
    unsigned int n, i;
    apr_thread_mutex_t *m;
    l1_slot_t *sl;
    l1_flat_t flat;

    if (l1 == NULL || (n = l1_ident(id, ident)) == 0 || !flatten(&flat, e))
        return;
    i = l1_index(ident, n);
    m = l1_locks[i % PC_L1_STRIPES];
    sl = &l1[i];
    apr_thread_mutex_lock(m);
    memcpy(sl->ident, ident, n);
    sl->ident_len = n;
    memcpy(&sl->flat, &flat, offsetof(l1_flat_t, str) + flat.used);
    sl->until = until;
    sl->gen = gen;
    sl->valid = 1;
    apr_thread_mutex_unlock(m);
}

/* Applications and environments configured anywhere: a user's entries
 * are (env, user, app) keys, so purging a user removes each of them. */
static apr_array_header_t *g_envs, *g_apps;

void pc_shared_set_targets(apr_array_header_t *envs, apr_array_header_t *apps)
{
    g_envs = envs;
    g_apps = apps;
}

/* ---- purge tombstones ---------------------------------------------------
 *
 * A lookup that was already asking PingOne when a purge ran may bring back
 * an answer from before the revoke, and storing it would undo the purge for
 * a whole TTL.  So a purge leaves a tombstone per (env, user, app) in the
 * same cache (every server of a farm sees it), and a lookup, right after
 * storing its answer, reads the tombstone: if the purge came after the
 * lookup started, it removes what it stored.  The cache serialises the
 * operations, so either the purge's removal comes after the store (and
 * removes it) or the tombstone is visible to the check.  A tombstone only
 * has to outlive the longest lookup that can race it.
 */
#define PC_TOMBSTONE_SLACK apr_time_from_sec(1)   /* clock skew in a farm */

void pc_shared_note_timeout(int timeout_ms)
{
    /* token fetch, consent call, one retry after a 401, a wait for a
     * concurrent lookup: four timeouts, plus margin */
    apr_interval_time_t life =
        apr_time_from_msec((apr_interval_time_t)timeout_ms * 4) +
        apr_time_from_sec(5);
    if (life > g_tombstone_life)
        g_tombstone_life = life;
}

static void tombstone_id(pc_cache_id_t *t, const char *env, const char *user,
                         const char *app)
{
    t->kind = PC_CK_PURGED;
    t->env = env;
    t->user = user;
    t->app = app;
    t->have_key = 0;
    t->epoch = 0;    /* purge-all moves entries, not tombstones */
}

static void leave_tombstone(const char *env, const char *user,
                            const char *app, apr_time_t now, request_rec *r)
{
    pc_cache_id_t t;
    char buf[PC_TOMBSTONE_MAX];
    unsigned int n = pc_cache_tombstone_encode(buf, now);
    apr_interval_time_t life = g_tombstone_life ? g_tombstone_life
                                                : apr_time_from_sec(30);
    apr_status_t rv;

    tombstone_id(&t, env, user, app);
    rv = cache_call(PC_RC_STORE, r->server, pc_cache_id_key(&t),
                    PC_CACHE_KEY_LEN, now + life, (unsigned char *)buf, &n,
                    r->pool);
    if (rv != APR_SUCCESS)
        cache_error(r, "tombstone store", rv);
}

/* 1 when a purge of this entry's user+app happened after asked_at. */
static int purged_since(const pc_cache_id_t *id, apr_time_t asked_at,
                        request_rec *r)
{
    pc_cache_id_t t;
    unsigned char buf[PC_TOMBSTONE_MAX];
    unsigned int len = sizeof(buf);
    apr_time_t at;
    apr_status_t rv;

    tombstone_id(&t, id->env, id->user, id->app);
    rv = cache_call(PC_RC_RETRIEVE, r->server, pc_cache_id_key(&t),
                    PC_CACHE_KEY_LEN, 0, buf, &len, r->pool);
    if (rv == APR_NOTFOUND)
        return 0;
    if (rv != APR_SUCCESS) {
        cache_error(r, "tombstone lookup", rv);
        return 1;    /* cannot tell: do not keep the answer */
    }
    if (pc_cache_tombstone_decode(&at, buf, len) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00024: a purge tombstone does not decode; treating "
                      "the entry as purged");
        return 1;
    }
    return pc_cache_purge_raced(at, asked_at, PC_TOMBSTONE_SLACK);
}

int pc_shared_purge_user(const char *user_id, const char *app,
                         request_rec *r)
{
    int i, j, removed = 0;
    apr_time_t now = apr_time_now();

    if (g == NULL || g->inst == NULL)
        return 0;
    for (i = 0; g_envs && i < g_envs->nelts; i++) {
        for (j = 0; g_apps && j < g_apps->nelts; j++) {
            const char *a = APR_ARRAY_IDX(g_apps, j, const char *);
            pc_cache_id_t id;
            if (app && strcmp(app, a) != 0)
                continue;
            const char *env = APR_ARRAY_IDX(g_envs, i, const char *);
            pc_cache_id_init(&id, PC_CK_CONSENT, env, user_id, a, r);
            /* Tombstone first, then the removal: a lookup that stores an
             * answer after the removal then finds the tombstone. */
            leave_tombstone(env, user_id, a, now, r);
            if (cache_call(PC_RC_REMOVE, r->server, pc_cache_id_key(&id),
                           PC_CACHE_KEY_LEN, 0, NULL, NULL, r->pool) ==
                APR_SUCCESS)
                removed++;
        }
    }
    /* Every process's own copies go too. */
    __atomic_fetch_add(&g->seg->generation, 1, __ATOMIC_RELEASE);
    return removed;
}

void pc_shared_purge_all(request_rec *r)
{
    if (g == NULL)
        return;
    if (g_cache_locks) {
        __atomic_fetch_add(&g->seg->epoch, 1, __ATOMIC_RELEASE);
    }
    else if (g->inst) {
        char buf[16];
        apr_uint32_t e = remote_epoch_read(r->server, r->pool) + 1;
        unsigned int n = (unsigned int)apr_snprintf(buf, sizeof(buf), "%u", e);
        apr_status_t rv = cache_call(
            PC_RC_STORE, r->server, (const unsigned char *)EPOCH_KEY,
            sizeof(EPOCH_KEY) - 1,
            /* memcached reads more than 30 days as a date */
            apr_time_now() + apr_time_from_sec(86400 * 29),
            (unsigned char *)buf, &n, r->pool);
        if (rv != APR_SUCCESS)
            cache_error(r, "purge-all epoch store", rv);
        __atomic_store_n(&epoch_memo, e, __ATOMIC_RELEASE);
        __atomic_store_n(&epoch_memo_at, apr_time_now(), __ATOMIC_RELEASE);
    }
    __atomic_fetch_add(&g->seg->generation, 1, __ATOMIC_RELEASE);
}

/* ---- cache -------------------------------------------------------------- */

static void cache_error(request_rec *r, const char *what, apr_status_t rv)
{
    apr_time_t now = apr_time_now();
    int log_it = 0;

    lock();
    __atomic_fetch_add(&g->seg->counters.v[PC_CNT_CACHE_ERROR], 1, __ATOMIC_RELAXED);
    if (now - g->seg->cache_error_logged > PC_CACHE_ERROR_LOG_INTERVAL) {
        g->seg->cache_error_logged = now;
        log_it = 1;
    }
    unlock();
    if (log_it)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "PC00022: cache '%s' %s failed; asking PingOne "
                      "directly (logged once a minute)",
                      pc_log_safe(r->pool, g->cache_spec, 100), what);
}

apr_status_t pc_shared_get(pc_cache_entry_t *e, pc_cache_id_t *id,
                           const char *expect_user, const char *expect_app,
                           request_rec *r)
{
    unsigned char buf[PC_CACHE_MAX_VALUE];
    unsigned int len = sizeof(buf);
    const unsigned char *key;
    apr_uint32_t gen;
    apr_status_t rv;

    if (!pc_shared_ready())
        return APR_NOTFOUND;
    /* The per-process copy is keyed by the very identity the caller
     * expects, so there is nothing more to verify. */
    if (l1_get(id, e, apr_time_now(), r->pool))
        return APR_SUCCESS;
    key = pc_cache_id_key(id);
    /* Read the generation first: a purge during the lookup then makes the
     * copy below stale rather than the other way round. */
    gen = __atomic_load_n(&g->seg->generation, __ATOMIC_ACQUIRE);
    rv = cache_call(PC_RC_RETRIEVE, r->server, key, PC_CACHE_KEY_LEN, 0, buf,
                    &len, r->pool);
    if (rv == APR_NOTFOUND)
        return APR_NOTFOUND;
    if (rv != APR_SUCCESS) {
        cache_error(r, "lookup", rv);
        return rv;
    }
    rv = pc_cache_decode(e, buf, len, expect_user, expect_app, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00023: ignoring a cache entry that does not decode "
                      "(%s)", rv == APR_EMISMATCH ? "key collision"
                                                  : "other format");
        return APR_NOTFOUND;
    }
    l1_put(id, e, e->fresh_until + apr_time_from_sec(g_stale_window), gen);
    return APR_SUCCESS;
}

int pc_shared_put(pc_cache_id_t *id, const pc_cache_entry_t *e,
                  apr_time_t store_until, apr_time_t asked_at, request_rec *r)
{
    unsigned char *buf;
    unsigned int len;
    apr_status_t rv;
    apr_uint32_t gen;

    if (!pc_shared_ready() ||
        pc_cache_encode(&buf, &len, e, r->pool) != APR_SUCCESS)
        return 0;
    /* Read before the store: a purge from here on invalidates the
     * per-process copy made below. */
    gen = __atomic_load_n(&g->seg->generation, __ATOMIC_ACQUIRE);
    rv = cache_call(PC_RC_STORE, r->server, pc_cache_id_key(id),
                    PC_CACHE_KEY_LEN, store_until, buf, &len, r->pool);
    if (rv != APR_SUCCESS) {
        cache_error(r, "store", rv);
        return 0;
    }
    if (e->kind == PC_CK_CONSENT && asked_at &&
        purged_since(id, asked_at, r)) {
        rv = cache_call(PC_RC_REMOVE, r->server, pc_cache_id_key(id),
                        PC_CACHE_KEY_LEN, 0, NULL, NULL, r->pool);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
            cache_error(r, "removal of a raced answer", rv);
        /* Another process may have copied it in between. */
        __atomic_fetch_add(&g->seg->generation, 1, __ATOMIC_RELEASE);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00025: user %s was purged while PingOne was being "
                      "asked; the answer decides this request only and is "
                      "not cached", pc_log_safe(r->pool, id->user, 100));
        return -1;
    }
    l1_put(id, e, store_until, gen);
    return 1;
}

/* ---- single flight ------------------------------------------------------ */

static pc_flight_t *flight_find(const unsigned char *key, int claim,
                                apr_time_t now, apr_time_t stale_before)
{
    unsigned int h = ((unsigned int)key[1] << 8 | key[2]) % PC_FLIGHTS;
    pc_flight_t *free_slot = NULL;
    int i;

    for (i = 0; i < PC_FLIGHT_PROBE; i++) {
        pc_flight_t *f = &g->seg->flights[(h + (unsigned int)i) % PC_FLIGHTS];
        if (f->state == FL_BUSY && f->since < stale_before)
            f->state = FL_FREE; /* a leader that died or hung */
        if (f->state != FL_FREE &&
            memcmp(f->key, key, PC_CACHE_KEY_LEN) == 0)
            return f;
        if (free_slot == NULL &&
            (f->state == FL_FREE ||
             (f->state != FL_BUSY && f->since < now - apr_time_from_sec(2))))
            free_slot = f;
    }
    if (claim && free_slot) {
        memcpy(free_slot->key, key, PC_CACHE_KEY_LEN);
        free_slot->state = FL_FREE;
    }
    return claim ? free_slot : NULL;
}

int pc_flight_begin(const unsigned char *key, int wait_ms, int *ok,
                    const char **err_tag, const char **retry_after,
                    unsigned char *value, unsigned int *value_len,
                    request_rec *r)
{
    apr_time_t now = apr_time_now();
    apr_time_t deadline = now + apr_time_from_msec(wait_ms);
    apr_time_t stale_before = now - apr_time_from_msec(wait_ms) * 2;
    pc_flight_t *f;
    apr_uint32_t gen;

    *value_len = 0;
    if (g == NULL)
        return -1;
    lock();
    f = flight_find(key, 1, now, stale_before);
    if (f == NULL) {
        unlock();
        return -1;
    }
    if (f->state != FL_BUSY) {
        f->state = FL_BUSY;
        f->since = now;
        f->gen++;
        f->value_len = 0;
        unlock();
        return 1;
    }
    gen = f->gen;
    unlock();

    pc_count(PC_CNT_COALESCED);
    /* Follow: poll until the leader is done or the wait is over. */
    while (apr_time_now() < deadline) {
        apr_sleep(apr_time_from_msec(5));
        lock();
        if (memcmp(f->key, key, PC_CACHE_KEY_LEN) != 0 || f->gen != gen ||
            f->state != FL_BUSY) {
            int st = (memcmp(f->key, key, PC_CACHE_KEY_LEN) == 0 &&
                      f->gen == gen) ? (int)f->state : FL_DONE_OK;
            *ok = st == FL_DONE_OK;
            *err_tag = st == FL_DONE_ERR ? apr_pstrdup(r->pool, f->err_tag)
                                         : NULL;
            *retry_after = st == FL_DONE_ERR && f->retry_after[0]
                               ? apr_pstrdup(r->pool, f->retry_after)
                               : NULL;
            if (st == FL_DONE_OK && memcmp(f->key, key, PC_CACHE_KEY_LEN) == 0 &&
                f->gen == gen && f->value_len <= PC_FLIGHT_VALUE) {
                memcpy(value, f->value, f->value_len);
                *value_len = f->value_len;
            }
            unlock();
            return 0;
        }
        unlock();
    }
    return -1;
}

void pc_flight_end(const unsigned char *key, int ok, const char *err_tag,
                   const char *retry_after, const unsigned char *value,
                   unsigned int value_len)
{
    pc_flight_t *f;

    if (g == NULL)
        return;
    lock();
    f = flight_find(key, 0, apr_time_now(), 0);
    if (f && f->state == FL_BUSY) {
        f->state = ok ? FL_DONE_OK : FL_DONE_ERR;
        f->since = apr_time_now();
        apr_cpystrn(f->err_tag, err_tag ? err_tag : "", sizeof(f->err_tag));
        apr_cpystrn(f->retry_after, retry_after ? retry_after : "",
                    sizeof(f->retry_after));
        f->value_len = 0;
        if (ok && value && value_len <= PC_FLIGHT_VALUE) {
            memcpy(f->value, value, value_len);
            f->value_len = value_len;
        }
    }
    unlock();
}

/* ---- shared token store ------------------------------------------------- */

typedef struct shared_token_baton_t {
    unsigned char id[APR_SHA1_DIGESTSIZE];
} shared_token_baton_t;

static pc_stoken_t *token_slot(const shared_token_baton_t *b, int claim)
{
    int i;
    pc_stoken_t *empty = NULL;
    for (i = 0; i < PC_TOKENS; i++) {
        pc_stoken_t *t = &g->seg->tokens[i];
        if (memcmp(t->id, b->id, sizeof(t->id)) == 0)
            return t;
        if (empty == NULL && t->expires == 0 && t->fetching_since == 0 &&
            t->token[0] == '\0')
            empty = t;
    }
    if (claim && empty) {
        memset(empty, 0, sizeof(*empty));
        memcpy(empty->id, b->id, sizeof(empty->id));
        return empty;
    }
    return claim ? &g->seg->tokens[b->id[0] % PC_TOKENS] : NULL;
}

/* Exactly one process fetches; the others use the current token while it
 * is valid, or wait for the new one (bounded). */
static pc_token_get_e shared_get(void *baton, apr_time_t now, int wait_ms,
                                 char *buf, apr_size_t size)
{
    shared_token_baton_t *b = baton;
    apr_time_t deadline = now + apr_time_from_msec(wait_ms);

    for (;;) {
        pc_stoken_t *t;
        int fetching;
        now = apr_time_now();
        lock();
        t = token_slot(b, 1);
        if (memcmp(t->id, b->id, sizeof(t->id)) != 0) {
            /* All slots taken by other identities: take this one over. */
            memset(t, 0, sizeof(*t));
            memcpy(t->id, b->id, sizeof(t->id));
        }
        fetching = t->fetching_since &&
                   now - t->fetching_since < apr_time_from_msec(wait_ms) * 2;
        if (t->token[0] && now < t->expires && strlen(t->token) < size &&
            (now < t->refresh_at || fetching)) {
            strcpy(buf, t->token);
            unlock();
            return PC_TOKEN_USE;
        }
        if (!fetching || now >= deadline) {
            t->fetching_since = now;
            __atomic_fetch_add(&g->seg->counters.v[PC_CNT_TOKEN], 1, __ATOMIC_RELAXED);
            unlock();
            return PC_TOKEN_FETCH;
        }
        unlock();
        apr_sleep(apr_time_from_msec(5));
    }
}

static void shared_put(void *baton, const char *token, apr_time_t refresh_at,
                       apr_time_t expires)
{
    shared_token_baton_t *b = baton;
    pc_stoken_t *t;
    lock();
    t = token_slot(b, 1);
    if (strlen(token) < sizeof(t->token)) {
        memcpy(t->id, b->id, sizeof(t->id));
        strcpy(t->token, token);
        t->refresh_at = refresh_at;
        t->expires = expires;
    }
    t->fetching_since = 0;
    unlock();
}

static void shared_release(void *baton)
{
    shared_token_baton_t *b = baton;
    pc_stoken_t *t;
    lock();
    if ((t = token_slot(b, 0)) != NULL)
        t->fetching_since = 0;
    unlock();
}

static void shared_drop(void *baton, const char *token)
{
    shared_token_baton_t *b = baton;
    pc_stoken_t *t;
    lock();
    if ((t = token_slot(b, 0)) != NULL && strcmp(t->token, token) == 0) {
        memset(t->token, 0, sizeof(t->token));
        t->refresh_at = t->expires = 0;
    }
    unlock();
}

pc_token_store_t *pc_shared_token_store(apr_pool_t *p, const char *identity)
{
    pc_token_store_t *ts;
    shared_token_baton_t *b;
    apr_sha1_ctx_t sha;

    if (g == NULL)
        return pc_token_store_local(p);
    ts = apr_pcalloc(p, sizeof(*ts));
    b = apr_pcalloc(p, sizeof(*b));
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, identity, (unsigned int)strlen(identity));
    apr_sha1_final(b->id, &sha);
    ts->get = shared_get;
    ts->put = shared_put;
    ts->release = shared_release;
    ts->drop = shared_drop;
    ts->baton = b;
    return ts;
}

void pc_shared_set_stale_window(int seconds)
{
    if (seconds > g_stale_window)
        g_stale_window = seconds;
}

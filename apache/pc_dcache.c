/*
 * pc_dcache.c - the decision cache (see pc_dcache.h).
 *
 * Survival across `apachectl graceful`: a shmcb instance is created once
 * in the process pool and found again by the next generation.  Its code
 * lives in mod_socache_shmcb.so, which httpd unloads and reloads on a
 * restart, so that module is pinned in memory with one extra dlopen()
 * reference: the reload maps the very same code and the old instance stays
 * valid.  Remote providers (redis, memcache) keep their entries on their
 * server and are simply created anew each generation.
 */
#include "pc_dcache.h"
#include "pc_l1.h"
#include "pc_rcall.h"
#include "pc_text.h"

#include "ap_mpm.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "http_log.h"

#include <apr_strings.h>

#include <dlfcn.h>
#include <stdlib.h>

APLOG_USE_MODULE(pingone_consent);

#define DC_PERSIST_KEY "mod_pingone_consent:dcache"
#define DC_REMOTE_WAIT apr_time_from_msec(500)
#define DC_ERROR_LOG_INTERVAL apr_time_from_sec(60)
#define DC_TOMBSTONE_SLACK apr_time_from_sec(1)   /* clock skew in a farm */
#define DC_EPOCH_KEY "pingone-consent:epoch"
#define DC_EPOCH_MEMO apr_time_from_sec(1)

/* The cache's area of the shared segment. */
typedef struct dc_shared_t {
    apr_uint32_t generation;      /* bumped by purges: invalidates copies */
    apr_uint32_t epoch;           /* bumped by purge-all (local cache) */
    apr_time_t error_logged;      /* last PC00022 */
} dc_shared_t;

/* Kept in the process pool across generations. */
typedef struct dc_persist_t {
    const char *spec;             /* provider[:args] the instance was made for */
    ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
} dc_persist_t;

static dc_shared_t *g_sh;
static dc_persist_t *g_cache;         /* this generation's cache */
static int g_local;                   /* provider needs our mutex (shmcb) */
static int g_stale_window;            /* seconds */
static apr_interval_time_t g_tombstone_life;
static apr_array_header_t *g_envs, *g_apps;
/* A farm's purge-all epoch, read at most once a second per process. */
static apr_uint32_t g_epoch_memo;
static apr_time_t g_epoch_memo_at;

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_sh = mem;
}

pc_seg_area_t pc_dcache_area(void)
{
    pc_seg_area_t a = {sizeof(dc_shared_t), attach};
    return a;
}

int pc_dcache_ready(void)
{
    return g_sh != NULL && g_cache != NULL && g_cache->inst != NULL;
}

const char *pc_dcache_name(void)
{
    return g_cache && g_cache->spec ? g_cache->spec : PC_DEFAULT_CACHE;
}

static apr_uint32_t generation(void)
{
    return __atomic_load_n(&g_sh->generation, __ATOMIC_ACQUIRE);
}

static void bump_generation(void)
{
    __atomic_fetch_add(&g_sh->generation, 1, __ATOMIC_RELEASE);
}

/* ---- provider calls ------------------------------------------------------ */

/* Every call into the provider.  shmcb (and any provider not safe across
 * processes) runs under the global mutex; a remote one runs with a
 * deadline, since its server may hang: a call that does not answer in
 * time fails like any cache error. */
static apr_status_t call(pc_rcall_kind_e kind, server_rec *s,
                         const unsigned char *key, unsigned int keylen,
                         apr_time_t expiry, unsigned char *val,
                         unsigned int *len, apr_pool_t *p)
{
    apr_status_t rv;

    if (!g_local)
        return pc_rcall(g_cache->provider, g_cache->inst, s, kind, key, keylen,
                        expiry, val, len, DC_REMOTE_WAIT, p);
    pc_segment_lock();
    rv = pc_rcall_direct(g_cache->provider, g_cache->inst, s, kind, key,
                         keylen, expiry, val, len, p);
    pc_segment_unlock();
    return rv;
}

/* A cache failure: counted, logged at most once a minute. */
static void cache_error(request_rec *r, const char *what, apr_status_t rv)
{
    apr_time_t now = apr_time_now();
    int log_it = 0;

    pc_count(PC_CNT_CACHE_ERROR);
    pc_segment_lock();
    if (now - g_sh->error_logged > DC_ERROR_LOG_INTERVAL) {
        g_sh->error_logged = now;
        log_it = 1;
    }
    pc_segment_unlock();
    if (log_it)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "PC00022: cache '%s' %s failed; asking PingOne "
                      "directly (logged once a minute)",
                      pc_log_safe(r->pool, pc_dcache_name(), 100), what);
}

/* ---- lifecycle ------------------------------------------------------------ */

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

static const char *create_instance(dc_persist_t *c, apr_pool_t *pool,
                                   apr_pool_t *ptemp, server_rec *s,
                                   const char *provider, const char *args)
{
    struct ap_socache_hints hints = {PC_CACHE_KEY_LEN, 140, 60};
    const char *err;
    apr_status_t rv;

    c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, provider,
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (c->provider == NULL)
        return apr_psprintf(ptemp, "PingOneConsentCache: unknown cache "
                            "provider '%s' (load mod_socache_%s?)",
                            pc_log_safe(ptemp, provider, 40),
                            pc_log_safe(ptemp, provider, 40));
    if ((err = c->provider->create(&c->inst, args, ptemp, pool)) != NULL)
        return apr_psprintf(ptemp, "PingOneConsentCache: %s", err);
    rv = c->provider->init(c->inst, "pingone-consent", &hints, s, pool);
    if (rv != APR_SUCCESS) {
        c->inst = NULL;
        return apr_psprintf(ptemp, "PingOneConsentCache: cannot initialise "
                            "'%s' (%d)", pc_log_safe(ptemp, c->spec, 200), rv);
    }
    return NULL;
}

const char *pc_dcache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const char *provider,
                                  const char *args)
{
    apr_pool_t *pp = s->process->pool;
    dc_persist_t *c = NULL;
    const char *spec = args ? apr_pstrcat(ptemp, provider, ":", args, NULL)
                            : provider;
    const char *err;
    int persistent = strcmp(provider, "shmcb") == 0;

    g_stale_window = 0;
    g_tombstone_life = 0;
    apr_pool_userdata_get((void **)&c, DC_PERSIST_KEY, pp);
    if (c == NULL) {
        c = apr_pcalloc(pp, sizeof(*c));
        apr_pool_userdata_set(c, DC_PERSIST_KEY, apr_pool_cleanup_null, pp);
    }
    /* The previous generation's cache: kept when unchanged. */
    if (c->inst && (!persistent || strcmp(c->spec, spec) != 0)) {
        if (strncmp(c->spec, "shmcb", 5) == 0)
            c->provider->destroy(c->inst, s);
        c->inst = NULL;
    }
    if (c->inst == NULL) {
        c->spec = apr_pstrdup(persistent ? pp : pconf, spec);
        err = create_instance(c, persistent ? pp : pconf, ptemp, s, provider,
                              args);
        if (err)
            return err;
        if (persistent)
            pin_provider_code(c->provider, s);
    }
    g_local = (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    g_cache = c;
    return NULL;
}

void pc_dcache_child_init(apr_pool_t *p, server_rec *s)
{
    int threads = 1;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return;
    /* Copies only in front of a local cache: a farm cache can be purged
     * by another server. */
    pc_l1_child_init(p, g_local);
    if (g_local)
        return;
    /* Remote calls with a deadline, from up to one thread per request
     * thread, plus one. */
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1)
        threads = 1;
    if ((rv = pc_rcall_start(2, threads + 1)) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "PC00026: cannot start the cache caller threads; calls "
                     "to the cache server have no deadline");
}

void pc_dcache_set_targets(apr_array_header_t *envs, apr_array_header_t *apps)
{
    g_envs = envs;
    g_apps = apps;
}

void pc_dcache_note_stale_window(int seconds)
{
    if (seconds > g_stale_window)
        g_stale_window = seconds;
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

long pc_dcache_entries(request_rec *r)
{
    long n = 0;
    apr_status_t rv;

    if (!pc_dcache_ready() || g_cache->provider->iterate == NULL)
        return -1;
    if (g_local)
        pc_segment_lock();
    rv = g_cache->provider->iterate(g_cache->inst, r->server, &n, count_entry,
                                    r->pool);
    if (g_local)
        pc_segment_unlock();
    return rv == APR_SUCCESS ? n : -1;
}

/* ---- epoch: "purge everything" ---------------------------------------------
 *
 * Purge-all cannot iterate every provider, so it moves every key instead:
 * an epoch is folded into the key.  With a local cache the epoch lives in
 * the shared segment; with a farm cache it is itself stored in the cache
 * (read at most once a second per process), so a purge-all on one server
 * reaches all servers within a second.
 */

static apr_uint32_t remote_epoch_read(server_rec *s, apr_pool_t *p)
{
    unsigned char buf[16];
    unsigned int len = sizeof(buf) - 1;

    if (call(PC_RC_RETRIEVE, s, (const unsigned char *)DC_EPOCH_KEY,
             sizeof(DC_EPOCH_KEY) - 1, 0, buf, &len, p) != APR_SUCCESS)
        return 0;
    buf[len] = '\0';
    return (apr_uint32_t)strtoul((const char *)buf, NULL, 10);
}

static apr_uint32_t current_epoch(request_rec *r)
{
    apr_time_t now, at;
    apr_uint32_t e;

    if (!pc_dcache_ready())
        return 0;
    if (g_local)
        return __atomic_load_n(&g_sh->epoch, __ATOMIC_ACQUIRE);
    now = apr_time_now();
    at = __atomic_load_n(&g_epoch_memo_at, __ATOMIC_ACQUIRE);
    if (now - at < DC_EPOCH_MEMO)
        return __atomic_load_n(&g_epoch_memo, __ATOMIC_ACQUIRE);
    e = remote_epoch_read(r->server, r->pool);
    __atomic_store_n(&g_epoch_memo, e, __ATOMIC_RELEASE);
    __atomic_store_n(&g_epoch_memo_at, now, __ATOMIC_RELEASE);
    return e;
}

void pc_dcache_purge_all(request_rec *r)
{
    char buf[16];
    unsigned int n;
    apr_uint32_t e;
    apr_status_t rv;

    if (g_sh == NULL)
        return;
    if (g_local) {
        __atomic_fetch_add(&g_sh->epoch, 1, __ATOMIC_RELEASE);
    }
    else if (pc_dcache_ready()) {
        e = remote_epoch_read(r->server, r->pool) + 1;
        n = (unsigned int)apr_snprintf(buf, sizeof(buf), "%u", e);
        /* memcached reads more than 30 days as a date */
        rv = call(PC_RC_STORE, r->server, (const unsigned char *)DC_EPOCH_KEY,
                  sizeof(DC_EPOCH_KEY) - 1,
                  apr_time_now() + apr_time_from_sec(86400 * 29),
                  (unsigned char *)buf, &n, r->pool);
        if (rv != APR_SUCCESS)
            cache_error(r, "purge-all epoch store", rv);
        __atomic_store_n(&g_epoch_memo, e, __ATOMIC_RELEASE);
        __atomic_store_n(&g_epoch_memo_at, apr_time_now(), __ATOMIC_RELEASE);
    }
    bump_generation();
}

void pc_cache_ref_init(pc_cache_ref_t *ref, const pc_entry_id_t *id,
                       request_rec *r)
{
    ref->id.kind = id->kind;
    ref->id.env = id->env ? id->env : "";
    ref->id.user = id->user ? id->user : "";
    ref->id.app = id->app ? id->app : "";
    ref->have_key = 0;
    ref->epoch = id->kind == PC_CK_PURGED ? 0 : current_epoch(r);
}

const unsigned char *pc_cache_ref_key(pc_cache_ref_t *ref)
{
    char env[96];
    const char *e = ref->id.env;

    if (ref->have_key)
        return ref->key;
    if (ref->epoch) {
        apr_snprintf(env, sizeof(env), "%.64s|%u", ref->id.env, ref->epoch);
        e = env;
    }
    pc_cache_key(ref->key, ref->id.kind, e, ref->id.user, ref->id.app);
    ref->have_key = 1;
    return ref->key;
}

/* ---- purge tombstones ------------------------------------------------------
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

void pc_dcache_note_timeout(int timeout_ms)
{
    /* token fetch, consent call, one retry after a 401, a wait for a
     * concurrent lookup: four timeouts, plus margin */
    apr_interval_time_t life =
        apr_time_from_msec((apr_interval_time_t)timeout_ms * 4) +
        apr_time_from_sec(5);
    if (life > g_tombstone_life)
        g_tombstone_life = life;
}

static void tombstone_ref(pc_cache_ref_t *t, const char *env,
                          const char *user, const char *app, request_rec *r)
{
    pc_entry_id_t id = {PC_CK_PURGED, env, user, app};
    pc_cache_ref_init(t, &id, r);   /* purge-all moves entries, not these */
}

static void leave_tombstone(const char *env, const char *user,
                            const char *app, apr_time_t now, request_rec *r)
{
    pc_cache_ref_t t;
    char buf[PC_TOMBSTONE_MAX];
    unsigned int n = pc_cache_tombstone_encode(buf, now);
    apr_interval_time_t life = g_tombstone_life ? g_tombstone_life
                                                : apr_time_from_sec(30);
    apr_status_t rv;

    tombstone_ref(&t, env, user, app, r);
    rv = call(PC_RC_STORE, r->server, pc_cache_ref_key(&t), PC_CACHE_KEY_LEN,
              now + life, (unsigned char *)buf, &n, r->pool);
    if (rv != APR_SUCCESS)
        cache_error(r, "tombstone store", rv);
}

/* 1 when a purge of this entry's user+app happened after asked_at. */
static int purged_since(const pc_cache_ref_t *ref, apr_time_t asked_at,
                        request_rec *r)
{
    pc_cache_ref_t t;
    unsigned char buf[PC_TOMBSTONE_MAX];
    unsigned int len = sizeof(buf);
    apr_time_t at;
    apr_status_t rv;

    tombstone_ref(&t, ref->id.env, ref->id.user, ref->id.app, r);
    rv = call(PC_RC_RETRIEVE, r->server, pc_cache_ref_key(&t),
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
    return pc_cache_purge_raced(at, asked_at, DC_TOMBSTONE_SLACK);
}

static apr_status_t remove_entry(const char *env, const char *user,
                                 const char *app, request_rec *r)
{
    pc_entry_id_t id = {PC_CK_CONSENT, env, user, app};
    pc_cache_ref_t ref;

    pc_cache_ref_init(&ref, &id, r);
    return call(PC_RC_REMOVE, r->server, pc_cache_ref_key(&ref),
                PC_CACHE_KEY_LEN, 0, NULL, NULL, r->pool);
}

int pc_dcache_purge_user(const char *user_id, const char *app,
                         request_rec *r)
{
    apr_time_t now = apr_time_now();
    int i, j, removed = 0;

    if (!pc_dcache_ready())
        return 0;
    for (i = 0; g_envs && i < g_envs->nelts; i++) {
        const char *env = APR_ARRAY_IDX(g_envs, i, const char *);
        for (j = 0; g_apps && j < g_apps->nelts; j++) {
            const char *a = APR_ARRAY_IDX(g_apps, j, const char *);
            if (app && strcmp(app, a) != 0)
                continue;
            /* Tombstone first, then the removal: a lookup that stores an
             * answer after the removal then finds the tombstone. */
            leave_tombstone(env, user_id, a, now, r);
            if (remove_entry(env, user_id, a, r) == APR_SUCCESS)
                removed++;
        }
    }
    /* Every process's own copies go too. */
    bump_generation();
    return removed;
}

/* ---- entries ------------------------------------------------------------- */

pc_get_e pc_dcache_get(pc_cache_entry_t *e, pc_cache_ref_t *ref,
                       request_rec *r)
{
    unsigned char buf[PC_CACHE_MAX_VALUE];
    unsigned int len = sizeof(buf);
    const char *user = ref->id.kind == PC_CK_CONSENT ? ref->id.user : NULL;
    const char *app = ref->id.kind == PC_CK_CONSENT ? ref->id.app : NULL;
    apr_uint32_t gen;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return PC_GET_MISS;
    /* Read the generation first: a purge during the lookup then makes the
     * copy below stale rather than the other way round. */
    gen = generation();
    if (pc_l1_get(&ref->id, gen, apr_time_now(), e, r->pool))
        return PC_GET_HIT;
    rv = call(PC_RC_RETRIEVE, r->server, pc_cache_ref_key(ref),
              PC_CACHE_KEY_LEN, 0, buf, &len, r->pool);
    if (rv == APR_NOTFOUND)
        return PC_GET_MISS;
    if (rv != APR_SUCCESS) {
        cache_error(r, "lookup", rv);
        return PC_GET_ERROR;
    }
    rv = pc_cache_decode(e, buf, len, user, app, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00023: ignoring a cache entry that does not decode "
                      "(%s)", rv == APR_EMISMATCH ? "key collision"
                                                  : "other format");
        return PC_GET_MISS;
    }
    pc_l1_put(&ref->id, gen,
              e->fresh_until + apr_time_from_sec(g_stale_window), e);
    return PC_GET_HIT;
}

/* A stored answer raced a purge: take it out again. */
static void unstore_raced(pc_cache_ref_t *ref, request_rec *r)
{
    apr_status_t rv = call(PC_RC_REMOVE, r->server, pc_cache_ref_key(ref),
                           PC_CACHE_KEY_LEN, 0, NULL, NULL, r->pool);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        cache_error(r, "removal of a raced answer", rv);
    /* Another process may have copied it in between. */
    bump_generation();
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00025: user %s was purged while PingOne was being "
                  "asked; the answer decides this request only and is not "
                  "cached", pc_log_safe(r->pool, ref->id.user, 100));
}

pc_put_e pc_dcache_put(pc_cache_ref_t *ref, const pc_cache_entry_t *e,
                       apr_time_t store_until, apr_time_t asked_at,
                       request_rec *r)
{
    unsigned char *buf;
    unsigned int len;
    apr_uint32_t gen;
    apr_status_t rv;

    if (!pc_dcache_ready() ||
        pc_cache_encode(&buf, &len, e, r->pool) != APR_SUCCESS)
        return PC_PUT_NOT_STORED;
    /* Read before the store: a purge from here on invalidates the copy
     * made below. */
    gen = generation();
    rv = call(PC_RC_STORE, r->server, pc_cache_ref_key(ref), PC_CACHE_KEY_LEN,
              store_until, buf, &len, r->pool);
    if (rv != APR_SUCCESS) {
        cache_error(r, "store", rv);
        return PC_PUT_NOT_STORED;
    }
    if (e->kind == PC_CK_CONSENT && asked_at &&
        purged_since(ref, asked_at, r)) {
        unstore_raced(ref, r);
        return PC_PUT_RACED;
    }
    pc_l1_put(&ref->id, gen, store_until, e);
    return PC_PUT_KEPT;
}

/*
 * pc_dcache.c - the decision cache (see pc_dcache.h).
 *
 * Where entries are kept: in this server's own table (pc_local.c) by
 * default, or in a farm cache reached through an Apache socache provider
 * (redis, memcache) when PingOneConsentCache names one.  The local table
 * does not sit in front of a socache farm cache: nothing would tell it
 * about a purge made on another server.  Remote providers keep their
 * entries on their server and are created anew each generation.
 *
 * Everything below works on encoded values under SHA-1 keys; the store
 * functions (store_get, store_put, store_remove) are the one place that
 * knows which of the two it is.
 */
#include "pc_dcache.h"
#include "pc_local.h"
#include "pc_rcall.h"
#include "pc_text.h"

#include "ap_mpm.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "http_log.h"

#include <apr_strings.h>

#include <stdlib.h>

APLOG_USE_MODULE(pingone_consent);

#define DC_REMOTE_WAIT apr_time_from_msec(500)
#define DC_ERROR_LOG_INTERVAL apr_time_from_sec(60)
#define DC_TOMBSTONE_SLACK apr_time_from_sec(1)   /* clock skew in a farm */
#define DC_EPOCH_KEY "pingone-consent:epoch"
#define DC_EPOCH_MEMO apr_time_from_sec(1)

/* The cache's area of the shared segment. */
typedef struct dc_shared_t {
    apr_time_t error_logged;      /* last PC00022 */
} dc_shared_t;

/* A farm cache through a socache provider. */
typedef struct dc_farm_t {
    ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
} dc_farm_t;

static dc_shared_t *g_sh;
static const char *g_name;            /* the cache setting, for status */
static dc_farm_t *g_farm;             /* NULL: the local table only */
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
    return g_sh != NULL && (g_farm ? g_farm->inst != NULL : pc_local_ready());
}

const char *pc_dcache_name(void)
{
    return g_name ? g_name : PC_DEFAULT_CACHE;
}

/* A cache failure: counted, logged at most once a minute. */
static void cache_error(const pc_ctx_t *c, const char *what, apr_status_t rv)
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
        pc_log(c, APLOG_ERR, rv, "PC00022: cache '%s' %s failed; asking PingOne "
                      "directly (logged once a minute)",
                      pc_log_safe(c->p, pc_dcache_name(), 100), what);
}

/* ---- the store: the local table, or the farm cache ------------------------ */

/* A farm call runs with a deadline, since its server may hang: one that
 * does not answer in time fails like any cache error. */
static apr_status_t farm_call(pc_rcall_kind_e kind, const unsigned char *key,
                              unsigned int keylen, apr_time_t expiry,
                              unsigned char *val, unsigned int *len,
                              const pc_ctx_t *c)
{
    return pc_rcall(g_farm->provider, g_farm->inst, c->s, kind, key,
                    keylen, expiry, val, len, DC_REMOTE_WAIT, c->p);
}

static apr_status_t store_get(const unsigned char *key, unsigned int keylen,
                              unsigned char *val, unsigned int *len,
                              const pc_ctx_t *c)
{
    if (g_farm)
        return farm_call(PC_RC_RETRIEVE, key, keylen, 0, val, len, c);
    return pc_local_get(key, val, len);
}

static apr_status_t store_put(const unsigned char *key, unsigned int keylen,
                              unsigned char *val, unsigned int len,
                              apr_time_t fresh_until, apr_time_t expires,
                              const pc_ctx_t *c)
{
    if (g_farm)
        return farm_call(PC_RC_STORE, key, keylen, expires, val, &len, c);
    pc_local_put(key, val, len, fresh_until, expires, c);
    return APR_SUCCESS;
}

/* APR_SUCCESS (removed), APR_NOTFOUND (there was none), or a failure. */
static apr_status_t store_remove(const unsigned char *key, const pc_ctx_t *c)
{
    apr_status_t rv;
    int removed;

    if (g_farm)
        return farm_call(PC_RC_REMOVE, key, PC_CACHE_KEY_LEN, 0, NULL, NULL,
                         c);
    rv = pc_local_remove(key, &removed);
    return rv != APR_SUCCESS ? rv : removed ? APR_SUCCESS : APR_NOTFOUND;
}

/* ---- lifecycle ------------------------------------------------------------ */

static const char *farm_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s, const char *provider,
                               const char *args)
{
    struct ap_socache_hints hints = {PC_CACHE_KEY_LEN, 140, 60};
    dc_farm_t *f = apr_pcalloc(pconf, sizeof(*f));
    const char *err;
    apr_status_t rv;

    f->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, provider,
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (f->provider == NULL)
        return apr_psprintf(ptemp, "PingOneConsentCache: unknown cache "
                            "provider '%s' (load mod_socache_%s?)",
                            pc_log_safe(ptemp, provider, 40),
                            pc_log_safe(ptemp, provider, 40));
    if (f->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)
        return apr_psprintf(ptemp, "PingOneConsentCache: '%s' is not a farm "
                            "cache (use shm, the default, on one server)",
                            pc_log_safe(ptemp, provider, 40));
    if ((err = f->provider->create(&f->inst, args, ptemp, pconf)) != NULL)
        return apr_psprintf(ptemp, "PingOneConsentCache: %s", err);
    rv = f->provider->init(f->inst, "pingone-consent", &hints, s, pconf);
    if (rv != APR_SUCCESS)
        return apr_psprintf(ptemp, "PingOneConsentCache: cannot initialise "
                            "'%s' (%d)", pc_log_safe(ptemp, g_name, 200), rv);
    g_farm = f;
    return NULL;
}

const char *pc_dcache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const pc_cache_setting_t *cs)
{
    g_tombstone_life = 0;
    g_farm = NULL;
    g_name = apr_pstrdup(pconf, cs->name);
    if (cs->farm_provider)
        return farm_create(pconf, ptemp, s, cs->farm_provider, cs->farm_args);
    return pc_local_post_config(s, cs->local_entries);
}

void pc_dcache_child_init(apr_pool_t *p, server_rec *s)
{
    int threads = 1;
    apr_status_t rv;

    (void)p;
    if (!pc_dcache_ready() || g_farm == NULL)
        return;
    /* Farm calls with a deadline, from up to one thread per request
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

void pc_dcache_stats(pc_dcache_stats_t *out)
{
    pc_table_stats_t st;

    memset(out, 0, sizeof(*out));
    out->entries = -1;
    if (!pc_dcache_ready())
        return;
    if (g_farm == NULL) {
        pc_local_stats(&st);
        out->entries = (long)st.entries;
        out->capacity = st.capacity;
        out->evictions = st.evictions;
        out->evictions_fresh = st.evictions_fresh;
    }
}

/* ---- epoch: "purge everything" ---------------------------------------------
 *
 * The local table forgets everything at once (a new epoch of its own).  A
 * farm cache cannot be iterated, so purge-all moves every key instead: an
 * epoch folded into the key, itself stored in the cache and read at most
 * once a second per process, so a purge-all on one server reaches all
 * servers within a second.
 */

/* The farm's epoch: APR_SUCCESS (0 when never purged), or the read failed. */
static apr_status_t remote_epoch_read(apr_uint32_t *epoch, const pc_ctx_t *c)
{
    unsigned char buf[16];
    unsigned int len = sizeof(buf) - 1;
    apr_status_t rv;

    *epoch = 0;
    rv = farm_call(PC_RC_RETRIEVE, (const unsigned char *)DC_EPOCH_KEY,
                   sizeof(DC_EPOCH_KEY) - 1, 0, buf, &len, c);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return rv;
    buf[len] = '\0';
    /* Digits only: anything else (a stray write) must not read as 0. */
    if (len == 0 || len > 10 || strspn((const char *)buf, "0123456789") != len)
        return APR_EGENERAL;
    *epoch = (apr_uint32_t)strtoul((const char *)buf, NULL, 10);
    return APR_SUCCESS;
}

/* The epoch keys are made in: 1 and *epoch, or 0 when the farm's epoch
 * cannot be read.  Then the cache must not be used at all: entries from
 * before a purge-all could be found under an old epoch. */
static int current_epoch(apr_uint32_t *epoch, const pc_ctx_t *c)
{
    apr_time_t now, at;
    apr_status_t rv;

    *epoch = 0;
    if (!pc_dcache_ready() || g_farm == NULL)
        return 1;
    now = apr_time_now();
    at = __atomic_load_n(&g_epoch_memo_at, __ATOMIC_ACQUIRE);
    if (now - at < DC_EPOCH_MEMO) {
        *epoch = __atomic_load_n(&g_epoch_memo, __ATOMIC_ACQUIRE);
        return 1;
    }
    if ((rv = remote_epoch_read(epoch, c)) != APR_SUCCESS) {
        cache_error(c, "purge-all epoch read", rv);
        return 0;
    }
    __atomic_store_n(&g_epoch_memo, *epoch, __ATOMIC_RELEASE);
    __atomic_store_n(&g_epoch_memo_at, now, __ATOMIC_RELEASE);
    return 1;
}

apr_status_t pc_dcache_purge_all(const pc_ctx_t *c)
{
    char buf[16];
    unsigned int n;
    apr_uint32_t e;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return APR_SUCCESS;
    if (g_farm == NULL) {
        pc_local_clear();
        return APR_SUCCESS;
    }
    if ((rv = remote_epoch_read(&e, c)) != APR_SUCCESS) {
        cache_error(c, "purge-all epoch read", rv);
        return rv;
    }
    n = (unsigned int)apr_snprintf(buf, sizeof(buf), "%u", ++e);
    /* memcached reads more than 30 days as a date */
    rv = farm_call(PC_RC_STORE, (const unsigned char *)DC_EPOCH_KEY,
                   sizeof(DC_EPOCH_KEY) - 1,
                   apr_time_now() + apr_time_from_sec(86400 * 29),
                   (unsigned char *)buf, &n, c);
    if (rv != APR_SUCCESS) {
        cache_error(c, "purge-all epoch store", rv);
        return rv;
    }
    __atomic_store_n(&g_epoch_memo, e, __ATOMIC_RELEASE);
    __atomic_store_n(&g_epoch_memo_at, apr_time_now(), __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

void pc_cache_ref_init(pc_cache_ref_t *ref, const pc_entry_id_t *id,
                       const pc_ctx_t *c)
{
    ref->id.kind = id->kind;
    ref->id.env = id->env ? id->env : "";
    ref->id.user = id->user ? id->user : "";
    ref->id.app = id->app ? id->app : "";
    ref->have_key = 0;
    ref->epoch = 0;
    /* Tombstones are not moved by purge-all. */
    ref->usable = id->kind == PC_CK_PURGED || current_epoch(&ref->epoch, c);
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
                          const char *user, const char *app, const pc_ctx_t *c)
{
    pc_entry_id_t id = {PC_CK_PURGED, env, user, app};
    pc_cache_ref_init(t, &id, c);   /* purge-all moves entries, not these */
}

static apr_status_t leave_tombstone(const char *env, const char *user,
                                    const char *app, apr_time_t now,
                                    const pc_ctx_t *c)
{
    pc_cache_ref_t t;
    char buf[PC_TOMBSTONE_MAX];
    unsigned int n = pc_cache_tombstone_encode(buf, now);
    apr_interval_time_t life = g_tombstone_life ? g_tombstone_life
                                                : apr_time_from_sec(30);
    apr_status_t rv;

    tombstone_ref(&t, env, user, app, c);
    rv = store_put(pc_cache_ref_key(&t), PC_CACHE_KEY_LEN,
                   (unsigned char *)buf, n, now + life, now + life, c);
    if (rv != APR_SUCCESS)
        cache_error(c, "tombstone store", rv);
    return rv;
}

/* 1 when a purge of this entry's user+app happened after asked_at. */
static int purged_since(const pc_cache_ref_t *ref, apr_time_t asked_at,
                        const pc_ctx_t *c)
{
    pc_cache_ref_t t;
    unsigned char buf[PC_TOMBSTONE_MAX];
    unsigned int len = sizeof(buf);
    apr_time_t at;
    apr_status_t rv;

    tombstone_ref(&t, ref->id.env, ref->id.user, ref->id.app, c);
    rv = store_get(pc_cache_ref_key(&t), PC_CACHE_KEY_LEN, buf, &len, c);
    if (rv == APR_NOTFOUND)
        return 0;
    if (rv != APR_SUCCESS) {
        cache_error(c, "tombstone lookup", rv);
        return 1;    /* cannot tell: do not keep the answer */
    }
    if (pc_cache_tombstone_decode(&at, buf, len) != APR_SUCCESS) {
        pc_log(c, APLOG_WARNING, 0, "PC00024: a purge tombstone does not decode; treating "
                      "the entry as purged");
        return 1;
    }
    return pc_cache_purge_raced(at, asked_at, DC_TOMBSTONE_SLACK);
}

/* Remove the entry of id: APR_SUCCESS (removed), APR_NOTFOUND (none), or
 * the failure. */
static apr_status_t remove_entry(const pc_entry_id_t *id, const pc_ctx_t *c)
{
    pc_cache_ref_t ref;

    pc_cache_ref_init(&ref, id, c);
    if (!ref.usable)
        return APR_EGENERAL;
    return store_remove(pc_cache_ref_key(&ref), c);
}

/* The username mapped to a user ID (see PC_CK_NAME_OF) goes with it: a
 * username given to someone else must not resolve to the old ID. */
static apr_status_t drop_name_of(const char *env, const char *user_id,
                                 const pc_ctx_t *c)
{
    pc_entry_id_t rev = {PC_CK_NAME_OF, env, user_id, ""};
    pc_entry_id_t map = {PC_CK_USER, env, NULL, ""};
    pc_cache_ref_t ref;
    pc_cache_entry_t e;
    apr_status_t rv;

    pc_cache_ref_init(&ref, &rev, c);
    switch (pc_dcache_get(&e, &ref, c)) {
    case PC_GET_MISS:
        return APR_SUCCESS;
    case PC_GET_ERROR:
        return APR_EGENERAL;
    case PC_GET_HIT:
        break;
    }
    map.user = e.app;
    rv = remove_entry(&map, c);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return rv;
    rv = remove_entry(&rev, c);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* Tombstone first, then the removal: a lookup that stores an answer
 * after the removal then finds the tombstone. */
static apr_status_t purge_one(const char *env, const char *user_id,
                              const char *app, apr_time_t now, int *removed,
                              const pc_ctx_t *c)
{
    pc_entry_id_t id = {PC_CK_CONSENT, env, user_id, app};
    apr_status_t rv = leave_tombstone(env, user_id, app, now, c);

    if (rv != APR_SUCCESS)
        return rv;
    rv = remove_entry(&id, c);
    if (rv == APR_SUCCESS)
        ++*removed;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t pc_dcache_purge_user(int *removed, const char *user_id,
                                  const char *app, const pc_ctx_t *c)
{
    apr_time_t now = apr_time_now();
    apr_status_t rv, failed = APR_SUCCESS;
    int i, j;

    *removed = 0;
    if (!pc_dcache_ready())
        return APR_SUCCESS;
    user_id = pc_uuid_lower(c->p, user_id);
    for (i = 0; g_envs && i < g_envs->nelts; i++) {
        const char *env = APR_ARRAY_IDX(g_envs, i, const char *);
        for (j = 0; g_apps && j < g_apps->nelts; j++) {
            const char *a = APR_ARRAY_IDX(g_apps, j, const char *);
            if (app && strcmp(app, a) != 0)
                continue;
            if ((rv = purge_one(env, user_id, a, now, removed, c)))
                failed = rv;
        }
        if ((rv = drop_name_of(env, user_id, c)) != APR_SUCCESS)
            failed = rv;
    }
    return failed;
}

/* ---- small values shared by the farm, and a lease --------------------------
 *
 * For background work that must happen once per farm (or continue where
 * another server stopped): kept in the farm cache under
 * "pingone-consent:<name>"; without a farm cache, in the local table (the
 * server is its own farm).
 */

static const unsigned char *kv_key(const char *name, unsigned int *keylen,
                                   const pc_ctx_t *c)
{
    const char *k;

    if (g_farm) {
        k = apr_pstrcat(c->p, "pingone-consent:", name, NULL);
        *keylen = (unsigned int)strlen(k);
        return (const unsigned char *)k;
    }
    /* The local table wants a hash. */
    {
        pc_entry_id_t id = {PC_CK_PURGED, "kv", name, ""};
        unsigned char *key = apr_palloc(c->p, PC_CACHE_KEY_LEN);
        pc_cache_key(key, id.kind, id.env, id.user, id.app);
        *keylen = PC_CACHE_KEY_LEN;
        return key;
    }
}

apr_status_t pc_dcache_kv_get(const char *name, char *buf, apr_size_t *len,
                              const pc_ctx_t *c)
{
    unsigned int keylen, n = (unsigned int)*len;
    const unsigned char *key;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return APR_NOTFOUND;
    key = kv_key(name, &keylen, c);
    rv = store_get(key, keylen, (unsigned char *)buf, &n, c);
    *len = n;
    return rv;
}

apr_status_t pc_dcache_kv_put(const char *name, const char *val,
                              apr_size_t len, apr_interval_time_t ttl,
                              const pc_ctx_t *c)
{
    unsigned int keylen;
    const unsigned char *key;
    apr_time_t until = apr_time_now() + ttl;

    if (!pc_dcache_ready())
        return APR_EGENERAL;
    key = kv_key(name, &keylen, c);
    return store_put(key, keylen, (unsigned char *)apr_pmemdup(c->p, val, len),
                     (unsigned int)len, until, until, c);
}

/* Read the holder; take the lease when nobody (else) holds it.  With a
 * socache farm this is read-then-write: two servers may both take a lapsed
 * lease at the same instant, and then both work for one round; the next
 * renewal leaves one holder. */
apr_status_t pc_dcache_lease(const char *name, const char *holder,
                             apr_interval_time_t ttl, const pc_ctx_t *c)
{
    char buf[128];
    apr_size_t len = sizeof(buf) - 1;
    apr_status_t rv = pc_dcache_kv_get(name, buf, &len, c);

    if (rv == APR_SUCCESS) {
        buf[len] = '\0';
        if (strcmp(buf, holder) != 0)
            return APR_EEXIST;
    }
    else if (rv != APR_NOTFOUND) {
        return rv;
    }
    return pc_dcache_kv_put(name, holder, strlen(holder), ttl, c);
}

/* ---- entries ------------------------------------------------------------- */

pc_get_e pc_dcache_get(pc_cache_entry_t *e, pc_cache_ref_t *ref,
                       const pc_ctx_t *c)
{
    unsigned char buf[PC_CACHE_MAX_VALUE];
    unsigned int len = sizeof(buf);
    const char *user = ref->id.kind == PC_CK_CONSENT ? ref->id.user : NULL;
    const char *app = ref->id.kind == PC_CK_CONSENT ? ref->id.app : NULL;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return PC_GET_MISS;
    if (!ref->usable)
        return PC_GET_ERROR;
    rv = store_get(pc_cache_ref_key(ref), PC_CACHE_KEY_LEN, buf, &len, c);
    if (rv == APR_NOTFOUND)
        return PC_GET_MISS;
    if (rv != APR_SUCCESS) {
        cache_error(c, "lookup", rv);
        return PC_GET_ERROR;
    }
    rv = pc_cache_decode(e, buf, len, user, app, c->p);
    if (rv != APR_SUCCESS) {
        pc_log(c, APLOG_WARNING, 0, "PC00023: ignoring a cache entry that does not decode "
                      "(%s)", rv == APR_EMISMATCH ? "key collision"
                                                  : "other format");
        return PC_GET_MISS;
    }
    return PC_GET_HIT;
}

/* A stored answer raced a purge: take it out again. */
static void unstore_raced(pc_cache_ref_t *ref, const pc_ctx_t *c)
{
    apr_status_t rv = store_remove(pc_cache_ref_key(ref), c);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        cache_error(c, "removal of a raced answer", rv);
    pc_log(c, APLOG_INFO, 0, "PC00025: user %s was purged while PingOne was being "
                  "asked; the answer decides this request only and is not "
                  "cached", pc_log_safe(c->p, ref->id.user, 100));
}

pc_put_e pc_dcache_put(pc_cache_ref_t *ref, const pc_cache_entry_t *e,
                       apr_time_t store_until, apr_time_t asked_at,
                       const pc_ctx_t *c)
{
    unsigned char *buf;
    unsigned int len;
    apr_status_t rv;

    if (!pc_dcache_ready() || !ref->usable ||
        pc_cache_encode(&buf, &len, e, c->p) != APR_SUCCESS)
        return PC_PUT_NOT_STORED;
    rv = store_put(pc_cache_ref_key(ref), PC_CACHE_KEY_LEN, buf, len,
                   e->fresh_until, store_until, c);
    if (rv != APR_SUCCESS) {
        cache_error(c, "store", rv);
        return PC_PUT_NOT_STORED;
    }
    if (e->kind == PC_CK_CONSENT && asked_at &&
        purged_since(ref, asked_at, c)) {
        unstore_raced(ref, c);
        return PC_PUT_RACED;
    }
    return PC_PUT_KEPT;
}

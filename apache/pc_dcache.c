/*
 * pc_dcache.c - the decision cache (see pc_dcache.h).
 *
 * Where entries are kept: in this server's own table (pc_local.c) by
 * default; in Redis (pc_farm_redis.c) with the table in front of it as the
 * local tier, kept coherent by the purge subscriber (pc_subscriber.c); or
 * in a farm cache reached through an Apache socache provider (memcache,
 * mod_socache_redis).  The table does not sit in front of a socache farm
 * cache: nothing would tell it about a purge made on another server.
 * Remote providers keep their entries on their server and are created
 * anew each generation.
 *
 * Everything below works on encoded values under SHA-1 keys; the store
 * functions (store_get, store_put, store_remove) are the one place that
 * knows which of the three it is.
 */
#include "pc_dcache.h"
#include "pc_farm.h"
#include "pc_farm_redis.h"
#include "pc_local.h"
#include "pc_rcall.h"
#include "pc_subscriber.h"
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
#define DC_SEALED_MAX (PC_CACHE_MAX_VALUE + PC_HMAC_OVERHEAD)

/* Store flags: the entry may be answered from, and copied into, the local
 * tier (decisions and username mappings; tombstones never are: a lookup
 * must see the farm's). */
#define DC_TIER 1

/* The cache's area of the shared segment. */
typedef struct dc_shared_t {
    apr_time_t error_logged;      /* last PC00022 */
    /* A socache farm's purge-all epoch as last read, and when: shared by
     * the server's processes, so that while the cache server cannot be
     * read they all still name a lookup's flight alike. */
    apr_uint32_t epoch_memo;
    apr_time_t epoch_memo_at;
} dc_shared_t;

/* A farm cache through a socache provider. */
typedef struct dc_farm_t {
    ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
} dc_farm_t;

static dc_shared_t *g_sh;
static const char *g_name;            /* the cache setting, for status */
static dc_farm_t *g_farm;             /* a socache farm cache, or NULL */
static int g_redis;                   /* Redis (pc_farm_redis.c) */
static apr_interval_time_t g_tombstone_life;
static apr_array_header_t *g_envs, *g_apps;
/* A farm's purge-all epoch, read at most once a second per process. */

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

/* Entries and the epoch live on another server. */
static int remote(void)
{
    return g_farm != NULL || g_redis;
}

const char *pc_dcache_name(void)
{
    return g_name ? g_name : PC_DEFAULT_CACHE;
}

/* A cache failure: counted, logged at most once a minute.  why: what the
 * Redis client said (NULL for a socache provider: rv says it). */
static void cache_error(const pc_ctx_t *c, const char *what, apr_status_t rv,
                        const char *why)
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
        pc_log(c, APLOG_ERR, why ? 0 : rv, "PC00022: cache '%s' %s failed%s%s; "
               "asking PingOne directly (logged once a minute)",
               pc_log_safe(c->p, pc_dcache_name(), 100), what,
               why ? ": " : "", why ? pc_log_safe(c->p, why, 400) : "");
}

/* ---- the store: the local table, Redis, or a socache farm cache ----------- */

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

/* A socache value, its seal opened: APR_NOTFOUND also when the seal fails
 * (counted and logged by pc_farm_open). */
static apr_status_t socache_get(const unsigned char *key, unsigned int keylen,
                                unsigned char *val, unsigned int *len,
                                const pc_ctx_t *c)
{
    unsigned char *buf = apr_palloc(c->p, DC_SEALED_MAX);
    unsigned int n = DC_SEALED_MAX;
    const unsigned char *v;
    apr_size_t vn;
    apr_status_t rv = farm_call(PC_RC_RETRIEVE, key, keylen, 0, buf, &n, c);

    if (rv != APR_SUCCESS)
        return rv;
    if (pc_farm_open(&v, &vn, NULL, key, keylen, buf, n, c) != APR_SUCCESS ||
        vn > *len)
        return APR_NOTFOUND;
    memcpy(val, v, vn);
    *len = (unsigned int)vn;
    return APR_SUCCESS;
}

static apr_status_t socache_put(const unsigned char *key, unsigned int keylen,
                                const unsigned char *val, unsigned int len,
                                apr_time_t expires, const pc_ctx_t *c)
{
    unsigned char *s;
    apr_size_t n;
    unsigned int sn;

    if (pc_farm_seal(&s, &n, key, keylen, val, len, c->p) != APR_SUCCESS)
        return APR_EGENERAL;
    sn = (unsigned int)n;
    return farm_call(PC_RC_STORE, key, keylen, expires, s, &sn, c);
}

/* Copy an entry read from (or written to) Redis into the local tier.  gen:
 * the tier's generation before the Redis call; when a purge moved it
 * meanwhile, the copy may be of a purged entry and is taken out again
 * (pc_farm_state.h says why this order is safe). */
static void tier_fill(const unsigned char *key, const unsigned char *val,
                      apr_size_t len, apr_time_t fresh_until,
                      apr_time_t expires, apr_uint32_t gen, const pc_ctx_t *c)
{
    int removed;

    pc_local_put(key, val, (unsigned int)len, fresh_until, expires, c);
    if (pc_farm_tier_gen() != gen &&
        pc_local_remove(key, &removed) != APR_SUCCESS)
        pc_local_clear();
}

static apr_status_t redis_get(const unsigned char *key, unsigned char *val,
                              unsigned int *len, int flags, const pc_ctx_t *c,
                              const char **why)
{
    const unsigned char *v;
    apr_size_t n;
    apr_time_t fresh, expires;
    apr_uint32_t gen;
    apr_status_t rv;

    if ((flags & DC_TIER) && pc_farm_tier_alive() &&
        pc_local_get(key, val, len) == APR_SUCCESS)
        return APR_SUCCESS;
    gen = pc_farm_tier_gen();
    rv = pc_farm_redis_get(key, &v, &n, &fresh, &expires, c, why);
    if (rv != APR_SUCCESS)
        return rv;
    if (n > *len)
        return APR_NOTFOUND;
    memcpy(val, v, n);
    *len = (unsigned int)n;
    if (flags & DC_TIER)
        tier_fill(key, v, n, fresh, expires, gen, c);
    return APR_SUCCESS;
}

static apr_status_t store_get(const unsigned char *key, unsigned char *val,
                              unsigned int *len, int flags, const pc_ctx_t *c,
                              const char **why)
{
    *why = NULL;
    if (g_redis)
        return redis_get(key, val, len, flags, c, why);
    if (g_farm)
        return socache_get(key, PC_CACHE_KEY_LEN, val, len, c);
    return pc_local_get(key, val, len);
}

static apr_status_t store_put(const unsigned char *key, unsigned char *val,
                              unsigned int len, apr_time_t fresh_until,
                              apr_time_t expires, int flags, const pc_ctx_t *c,
                              const char **why)
{
    apr_uint32_t gen;
    apr_status_t rv;

    *why = NULL;
    if (g_redis) {
        gen = pc_farm_tier_gen();
        rv = pc_farm_redis_put(key, val, len, fresh_until, expires, c, why);
        if (rv == APR_SUCCESS && (flags & DC_TIER))
            tier_fill(key, val, len, fresh_until, expires, gen, c);
        return rv;
    }
    if (g_farm)
        return socache_put(key, PC_CACHE_KEY_LEN, val, len, expires, c);
    pc_local_put(key, val, len, fresh_until, expires, c);
    return APR_SUCCESS;
}

/* Take an entry out of this server's table, for good: the generation
 * moves first, so a copy racing in is taken out too. */
static void tier_remove(const unsigned char *key)
{
    int removed;

    pc_farm_tier_bump();
    if (pc_local_remove(key, &removed) != APR_SUCCESS)
        pc_local_clear();
}

/* APR_SUCCESS (removed), APR_NOTFOUND (there was none), or a failure. */
static apr_status_t store_remove(const unsigned char *key, const pc_ctx_t *c,
                                 const char **why)
{
    apr_status_t rv;
    apr_int64_t n = 0;
    int removed;

    *why = NULL;
    if (g_redis) {
        /* Redis first, then the table (pc_farm_state.h). */
        rv = pc_farm_redis_del(key, 1, &n, c, why);
        tier_remove(key);
        return rv != APR_SUCCESS ? rv : n ? APR_SUCCESS : APR_NOTFOUND;
    }
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
    struct ap_socache_hints hints = {PC_CACHE_KEY_LEN, 140 + PC_HMAC_OVERHEAD,
                                      60};
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

/* Redis: the local table in front, the client, the purge subscriber. */
static const char *redis_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                server_rec *s, const pc_cache_setting_t *cs)
{
    const pc_farm_conf_t *fc = &cs->farm;
    const char *err = pc_local_post_config(s, cs->local_entries);

    if (err != NULL)
        return err;
    pc_farm_redis_configure(pconf, fc);
    pc_subscriber_post_config(pconf, s);
    g_redis = 1;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "PC00035: decision cache: "
                 "Redis %s (%s%s%s%s), entries sealed with key id %02x, this "
                 "server's table in front of it; purges on channel %s",
                 pc_rurl_unparse(ptemp, fc->redis),
                 fc->password ? "AUTH" : "no AUTH",
                 fc->user ? " as ACL user '" : "",
                 fc->user ? pc_log_safe(ptemp, fc->user, 60) : "",
                 fc->user ? "'" : "", pc_hmac_key_id(fc->hmac),
                 pc_farm_redis_channel());
    return NULL;
}

const char *pc_dcache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const pc_cache_setting_t *cs)
{
    g_tombstone_life = 0;
    g_farm = NULL;
    g_redis = 0;
    g_name = apr_pstrdup(pconf, cs->name);
    pc_farm_set_key(cs->farm.hmac);
    pc_farm_redis_configure(pconf, NULL);
    if (cs->farm.redis)
        return redis_create(pconf, ptemp, s, cs);
    if (cs->farm_provider)
        return farm_create(pconf, ptemp, s, cs->farm_provider, cs->farm_args);
    return pc_local_post_config(s, cs->local_entries);
}

void pc_dcache_child_init(apr_pool_t *p, server_rec *s)
{
    int threads = 1;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return;
    if (g_redis) {
        pc_farm_redis_child_init(p, s);
        pc_subscriber_child_init(p, s);
        return;
    }
    if (g_farm == NULL)
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
 * epoch folded into the key, itself stored (sealed) in the cache.
 *
 * Redis: purge-all writes epoch + 1, flushes this server's table, and
 * publishes "purge-all"; every subscriber re-reads the epoch into shared
 * memory and flushes its table, so the farm moves at once.  Lookups take
 * the epoch from shared memory while the subscriber is alive, else from
 * Redis on every lookup.  A socache farm has no channel: each process
 * re-reads the epoch at most once a second, so a purge-all reaches the
 * other servers within a second.
 */

/* A socache farm's epoch: APR_SUCCESS (0 when never purged), or the read
 * failed (a value without a valid seal, or not digits, must not read as
 * 0: entries from before a purge-all would come back). */
static apr_status_t socache_epoch_read(apr_uint32_t *epoch, const pc_ctx_t *c)
{
    unsigned char *buf = apr_palloc(c->p, DC_SEALED_MAX);
    unsigned int len = DC_SEALED_MAX;
    const unsigned char *v;
    apr_size_t vn;
    apr_status_t rv;
    int old = 0;

    *epoch = 0;
    rv = farm_call(PC_RC_RETRIEVE, (const unsigned char *)DC_EPOCH_KEY,
                   sizeof(DC_EPOCH_KEY) - 1, 0, buf, &len, c);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return rv;
    if (pc_farm_open(&v, &vn, &old, DC_EPOCH_KEY, sizeof(DC_EPOCH_KEY) - 1,
                     buf, len, c) != APR_SUCCESS ||
        pc_farm_epoch_decode(epoch, v, vn) != APR_SUCCESS)
        return APR_EGENERAL;
    /* Sealed with the key being rotated out: seal it with the current one
     * before that key goes (best effort; the next read tries again). */
    if (old)
        socache_put((const unsigned char *)DC_EPOCH_KEY,
                    sizeof(DC_EPOCH_KEY) - 1, v, (unsigned int)vn,
                    apr_time_now() + apr_time_from_sec(86400 * 29), c);
    return APR_SUCCESS;
}

static apr_status_t remote_epoch_read(apr_uint32_t *epoch, const pc_ctx_t *c,
                                      const char **why)
{
    *why = NULL;
    if (g_redis)
        return pc_farm_redis_epoch_read(epoch, c, why);
    return socache_epoch_read(epoch, c);
}

static apr_status_t remote_epoch_write(apr_uint32_t e, const pc_ctx_t *c,
                                       const char **why)
{
    char buf[PC_FARM_EPOCH_MAX];
    apr_size_t n = pc_farm_epoch_encode(buf, e);

    *why = NULL;
    if (g_redis)
        return pc_farm_redis_epoch_write(e, c, why);
    /* memcached reads more than 30 days as a date */
    return socache_put((const unsigned char *)DC_EPOCH_KEY,
                       sizeof(DC_EPOCH_KEY) - 1, (unsigned char *)buf,
                       (unsigned int)n,
                       apr_time_now() + apr_time_from_sec(86400 * 29), c);
}

/* The epoch keys are made in: 1 and *epoch, or 0 when the farm's epoch
 * cannot be read.  Then the cache must not be used at all: entries from
 * before a purge-all could be found under an old epoch (*epoch is then
 * the last one known, for the single-flight key only). */
static int current_epoch(apr_uint32_t *epoch, const pc_ctx_t *c)
{
    apr_time_t now, at;
    apr_status_t rv;
    const char *why;

    *epoch = 0;
    if (!pc_dcache_ready() || !remote())
        return 1;
    if (g_redis && pc_farm_tier_alive()) {
        *epoch = pc_farm_tier_epoch();
        return 1;
    }
    now = apr_time_now();
    at = __atomic_load_n(&g_sh->epoch_memo_at, __ATOMIC_ACQUIRE);
    if (!g_redis && now - at < DC_EPOCH_MEMO) {
        *epoch = __atomic_load_n(&g_sh->epoch_memo, __ATOMIC_ACQUIRE);
        return 1;
    }
    if ((rv = remote_epoch_read(epoch, c, &why)) != APR_SUCCESS) {
        cache_error(c, "purge-all epoch read", rv, why);
        /* The cache is not used, but the key still names the lookup's
         * flight: the epoch last known keeps it the others' key. */
        *epoch = g_redis ? pc_farm_tier_epoch()
                         : __atomic_load_n(&g_sh->epoch_memo, __ATOMIC_ACQUIRE);
        return 0;
    }
    __atomic_store_n(&g_sh->epoch_memo, *epoch, __ATOMIC_RELEASE);
    __atomic_store_n(&g_sh->epoch_memo_at, now, __ATOMIC_RELEASE);
    return 1;
}

/* Redis: every server drops its table and re-reads the epoch. */
static apr_status_t redis_announce_all(apr_uint32_t e, const pc_ctx_t *c)
{
    const char *why;
    apr_status_t rv;

    pc_farm_tier_set_epoch(e);
    pc_farm_tier_bump();
    pc_local_clear();
    if ((rv = pc_farm_redis_purge(NULL, 0, c, &why)) != APR_SUCCESS)
        cache_error(c, "purge-all publish", rv, why);
    return rv;
}

apr_status_t pc_dcache_purge_all(const pc_ctx_t *c)
{
    apr_uint32_t e;
    apr_status_t rv;
    const char *why;

    if (!pc_dcache_ready())
        return APR_SUCCESS;
    if (!remote()) {
        pc_local_clear();
        return APR_SUCCESS;
    }
    if ((rv = remote_epoch_read(&e, c, &why)) != APR_SUCCESS) {
        cache_error(c, "purge-all epoch read", rv, why);
        return rv;
    }
    if ((rv = remote_epoch_write(++e, c, &why)) != APR_SUCCESS) {
        cache_error(c, "purge-all epoch store", rv, why);
        return rv;
    }
    __atomic_store_n(&g_sh->epoch_memo, e, __ATOMIC_RELEASE);
    __atomic_store_n(&g_sh->epoch_memo_at, apr_time_now(), __ATOMIC_RELEASE);
    return g_redis ? redis_announce_all(e, c) : APR_SUCCESS;
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
    const char *why;

    tombstone_ref(&t, env, user, app, c);
    rv = store_put(pc_cache_ref_key(&t), (unsigned char *)buf, n, now + life,
                   now + life, 0, c, &why);
    if (rv != APR_SUCCESS)
        cache_error(c, "tombstone store", rv, why);
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
    const char *why;

    tombstone_ref(&t, ref->id.env, ref->id.user, ref->id.app, c);
    rv = store_get(pc_cache_ref_key(&t), buf, &len, 0, c, &why);
    if (rv == APR_NOTFOUND)
        return 0;
    if (rv != APR_SUCCESS) {
        cache_error(c, "tombstone lookup", rv, why);
        return 1;    /* cannot tell: do not keep the answer */
    }
    if (pc_cache_tombstone_decode(&at, buf, len) != APR_SUCCESS) {
        pc_log(c, APLOG_WARNING, 0, "PC00024: a purge tombstone does not decode; treating "
                      "the entry as purged");
        return 1;
    }
    return pc_cache_purge_raced(at, asked_at, DC_TOMBSTONE_SLACK);
}

/* The keys a purge removed, for the other servers of a Redis farm (NULL
 * when there is nobody to tell). */
typedef apr_array_header_t dc_told_t;

static dc_told_t *told_make(const pc_ctx_t *c)
{
    return g_redis ? apr_array_make(c->p, 8, PC_FARM_KEY_BYTES) : NULL;
}

/* Remove the entry of id: APR_SUCCESS (removed), APR_NOTFOUND (none), or
 * the failure.  The key goes into told either way (another server may
 * hold a copy). */
static apr_status_t remove_entry(const pc_entry_id_t *id, dc_told_t *told,
                                 const pc_ctx_t *c)
{
    pc_cache_ref_t ref;
    const char *why;
    apr_status_t rv;

    pc_cache_ref_init(&ref, id, c);
    if (!ref.usable)
        return APR_EGENERAL;
    if (told)
        memcpy(apr_array_push(told), pc_cache_ref_key(&ref), PC_FARM_KEY_BYTES);
    rv = store_remove(pc_cache_ref_key(&ref), c, &why);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        cache_error(c, "removal", rv, why);
    return rv;
}

/* The username mapped to a user ID (see PC_CK_NAME_OF) goes with it: a
 * username given to someone else must not resolve to the old ID. */
static apr_status_t drop_name_of(const char *env, const char *user_id,
                                 dc_told_t *told, const pc_ctx_t *c)
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
    rv = remove_entry(&map, told, c);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return rv;
    rv = remove_entry(&rev, told, c);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* Tombstone first, then the removal: a lookup that stores an answer
 * after the removal then finds the tombstone. */
static apr_status_t purge_one(const char *env, const char *user_id,
                              const char *app, apr_time_t now, int *removed,
                              dc_told_t *told, const pc_ctx_t *c)
{
    pc_entry_id_t id = {PC_CK_CONSENT, env, user_id, app};
    apr_status_t rv = leave_tombstone(env, user_id, app, now, c);

    if (rv != APR_SUCCESS)
        return rv;
    rv = remove_entry(&id, told, c);
    if (rv == APR_SUCCESS)
        ++*removed;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* Redis: the other servers drop their copies of the keys removed, and
 * the purge returns once they have (pc_farm_redis_purge).  The farm's
 * entries are gone already, so a server that misses the message reads
 * Redis and finds nothing - and its subscriber flushes when it comes
 * back. */
static apr_status_t tell_farm(const dc_told_t *told, const pc_ctx_t *c)
{
    const char *why;
    apr_status_t rv;

    if (told == NULL || told->nelts == 0)
        return APR_SUCCESS;
    rv = pc_farm_redis_purge((const unsigned char *)told->elts, told->nelts,
                             c, &why);
    if (rv != APR_SUCCESS)
        cache_error(c, "purge publish", rv, why);
    return rv;
}

apr_status_t pc_dcache_purge_user(int *removed, const char *user_id,
                                  const char *app, const pc_ctx_t *c)
{
    apr_time_t now = apr_time_now();
    apr_status_t rv, failed = APR_SUCCESS;
    dc_told_t *told = told_make(c);
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
            if ((rv = purge_one(env, user_id, a, now, removed, told, c)))
                failed = rv;
        }
        if ((rv = drop_name_of(env, user_id, told, c)) != APR_SUCCESS)
            failed = rv;
    }
    if ((rv = tell_farm(told, c)) != APR_SUCCESS)
        failed = rv;
    return failed;
}

/* ---- small values shared by the farm, and a lease --------------------------
 *
 * For background work that must happen once per farm (or continue where
 * another server stopped): kept in the farm cache - Redis under
 * "pc:kv:<name>", a socache provider under "pingone-consent:<name>",
 * sealed in both - and without a farm cache in the local table (the server
 * is its own farm).
 */

/* The key in the local table (a hash) or in a socache farm cache. */
static const unsigned char *kv_key(const char *name, unsigned int *keylen,
                                   const pc_ctx_t *c)
{
    const char *k;

    if (g_farm) {
        k = apr_pstrcat(c->p, "pingone-consent:", name, NULL);
        *keylen = (unsigned int)strlen(k);
        return (const unsigned char *)k;
    }
    {
        pc_entry_id_t id = {PC_CK_PURGED, "kv", name, ""};
        unsigned char *key = apr_palloc(c->p, PC_CACHE_KEY_LEN);
        pc_cache_key(key, id.kind, id.env, id.user, id.app);
        *keylen = PC_CACHE_KEY_LEN;
        return key;
    }
}

static apr_status_t redis_kv_get(const char *name, char *buf, apr_size_t *len,
                                 const pc_ctx_t *c)
{
    const unsigned char *v;
    apr_size_t n;
    const char *why;
    apr_status_t rv = pc_farm_redis_kv_get(name, &v, &n, c, &why);

    if (rv == APR_SUCCESS && n > *len)
        return APR_ENOSPC;
    if (rv == APR_SUCCESS) {
        memcpy(buf, v, n);
        *len = n;
    }
    else if (rv != APR_NOTFOUND) {
        cache_error(c, "read of a shared value", rv, why);
    }
    return rv;
}

apr_status_t pc_dcache_kv_get(const char *name, char *buf, apr_size_t *len,
                              const pc_ctx_t *c)
{
    unsigned int keylen, n = (unsigned int)*len;
    const unsigned char *key;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return APR_NOTFOUND;
    if (g_redis)
        return redis_kv_get(name, buf, len, c);
    key = kv_key(name, &keylen, c);
    rv = g_farm ? socache_get(key, keylen, (unsigned char *)buf, &n, c)
                : pc_local_get(key, (unsigned char *)buf, &n);
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
    const char *why;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return APR_EGENERAL;
    if (g_redis) {
        rv = pc_farm_redis_kv_put(name, (const unsigned char *)val, len, ttl,
                                  c, &why);
        if (rv != APR_SUCCESS)
            cache_error(c, "store of a shared value", rv, why);
        return rv;
    }
    key = kv_key(name, &keylen, c);
    if (g_farm)
        return socache_put(key, keylen, (const unsigned char *)val,
                           (unsigned int)len, until, c);
    pc_local_put(key, (const unsigned char *)val, (unsigned int)len, until,
                 until, c);
    return APR_SUCCESS;
}

/* Redis takes or renews a lease in one step (SET NX, or a renewal only
 * while the holder is still this one).  Elsewhere it is read-then-write:
 * with a socache farm two servers may both take a lapsed lease at the same
 * instant, and then both work for one round; the next renewal leaves one
 * holder. */
apr_status_t pc_dcache_lease(const char *name, const char *holder,
                             apr_interval_time_t ttl, const pc_ctx_t *c)
{
    char buf[128];
    apr_size_t len = sizeof(buf) - 1;
    apr_status_t rv;
    const char *why;

    if (g_redis && pc_dcache_ready()) {
        rv = pc_farm_redis_hold(name, holder, ttl, c, &why);
        if (rv != APR_SUCCESS && rv != APR_EEXIST)
            cache_error(c, "lease", rv, why);
        return rv;
    }
    rv = pc_dcache_kv_get(name, buf, &len, c);
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
    const char *why;
    apr_status_t rv;

    if (!pc_dcache_ready())
        return PC_GET_MISS;
    if (!ref->usable)
        return PC_GET_ERROR;
    rv = store_get(pc_cache_ref_key(ref), buf, &len, DC_TIER, c, &why);
    if (rv == APR_NOTFOUND)
        return PC_GET_MISS;
    if (rv != APR_SUCCESS) {
        cache_error(c, "lookup", rv, why);
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

/* A stored answer raced a purge: take it out again - with Redis from the
 * other servers' tables too, which may have copied it meanwhile. */
static void unstore_raced(pc_cache_ref_t *ref, const pc_ctx_t *c)
{
    const char *why;
    apr_status_t rv = store_remove(pc_cache_ref_key(ref), c, &why);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        cache_error(c, "removal of a raced answer", rv, why);
    if (g_redis && (rv = pc_farm_redis_purge(pc_cache_ref_key(ref), 1, c,
                                             &why)) != APR_SUCCESS)
        cache_error(c, "purge publish", rv, why);
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
    const char *why;
    apr_status_t rv;

    if (!pc_dcache_ready() || !ref->usable ||
        pc_cache_encode(&buf, &len, e, c->p) != APR_SUCCESS)
        return PC_PUT_NOT_STORED;
    rv = store_put(pc_cache_ref_key(ref), buf, len, e->fresh_until,
                   store_until, DC_TIER, c, &why);
    if (rv != APR_SUCCESS) {
        cache_error(c, "store", rv, why);
        return PC_PUT_NOT_STORED;
    }
    if (e->kind == PC_CK_CONSENT && asked_at &&
        purged_since(ref, asked_at, c)) {
        unstore_raced(ref, c);
        return PC_PUT_RACED;
    }
    return PC_PUT_KEPT;
}

/*
 * pc_farm_state.c - seals on farm cache entries, the local tier's shared
 * state, and the farm directives' checks (see pc_farm_state.h).
 */
#include "pc_farm_state.h"
#include "pc_text.h"

#include "http_log.h"

#include <apr_general.h>
#include <apr_strings.h>

#include <time.h>

APLOG_USE_MODULE(pingone_consent);

#define FS_LOG_INTERVAL apr_time_from_sec(60)

/* The area in the shared segment.  Fields read on the request path are
 * read and written with atomics, never under the mutex. */
typedef struct fs_shared_t {
    char server_id[PC_FARM_SERVER_ID + 1];  /* this server, for the farm */
    apr_uint32_t tier_gen;
    apr_uint32_t epoch;
    apr_time_t alive_at;           /* monotonic; 0: the subscriber is not up */
    pid_t owner;                   /* the subscriber that said so */
    apr_uint64_t master_gen;
    pc_tally_t seal_failed;        /* PC00030, under the mutex */
} fs_shared_t;

static fs_shared_t *g_sh;
static const pc_hmac_t *g_hmac;

/* The alive mark is compared across processes of one machine: a monotonic
 * clock, so a wall clock set back cannot stretch it. */
apr_time_t pc_farm_mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_time_t)ts.tv_sec * APR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void attach(void *mem, int fresh)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[PC_FARM_SERVER_ID / 2];
    int i;

    g_sh = mem;
    /* A graceful restart starts a new subscriber, which flushes the table
     * before it says it is alive; until then nobody may trust it. */
    __atomic_store_n(&g_sh->alive_at, 0, __ATOMIC_SEQ_CST);
    if (fresh || g_sh->server_id[0] == '\0') {
        if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS)
            memset(rnd, 0, sizeof(rnd)); /* still one id per server */
        for (i = 0; i < (int)sizeof(rnd); i++) {
            g_sh->server_id[2 * i] = hex[rnd[i] >> 4];
            g_sh->server_id[2 * i + 1] = hex[rnd[i] & 15];
        }
        g_sh->server_id[PC_FARM_SERVER_ID] = '\0';
    }
}

const char *pc_farm_server_id(void)
{
    return g_sh ? g_sh->server_id : "";
}

pc_seg_area_t pc_farm_area(void)
{
    pc_seg_area_t a = {sizeof(fs_shared_t), attach};
    return a;
}

void pc_farm_set_key(const pc_hmac_t *hmac)
{
    g_hmac = hmac;
}

const char *pc_farm_check(apr_pool_t *p, const pc_farm_conf_t *fc)
{
    if ((fc->redis || fc->socache) && fc->hmac == NULL)
        return apr_psprintf(
            p, "PingOneConsentCacheKey: not set, but PingOneConsentCache %s is "
               "a farm cache, and every entry stored in it must be sealed so "
               "that "
               "whoever can write to the cache server cannot forge an allow. "
               "Create a key once (openssl rand -hex 32 > "
               "/etc/apache2/pingone-cache.key; chmod 600), copy the same "
               "file to every server of the farm, and add "
               "PingOneConsentCacheKey file:/etc/apache2/pingone-cache.key",
            pc_log_safe(p, fc->name, 200));
    if (fc->redis == NULL && fc->password)
        return "PingOneConsentCacheAuth: needs the module's own Redis client "
               "(PingOneConsentCache redis://host:port or "
               "redis-sentinel://...); mod_socache_redis (redis:host:port) "
               "cannot log in";
    if ((fc->redis == NULL || !fc->redis->sentinel) && fc->sentinel_password)
        return "PingOneConsentCacheSentinelAuth: needs PingOneConsentCache "
               "redis-sentinel://...";
    return NULL;
}

/* ---- seals --------------------------------------------------------------- */

apr_status_t pc_farm_seal(unsigned char **out, apr_size_t *out_len,
                          const void *key, apr_size_t key_len,
                          const unsigned char *val, apr_size_t val_len,
                          apr_pool_t *p)
{
    if (g_hmac == NULL)
        return APR_EINIT;    /* pc_farm_check makes this unreachable */
    return pc_hmac_seal(out, out_len, g_hmac, key, key_len, val, val_len, p);
}

/* A value that failed its seal: counted, logged at most once a minute. */
static void seal_failed(const pc_ctx_t *c, apr_status_t why)
{
    apr_uint64_t n;

    pc_count(PC_CNT_SEAL_FAILED);
    if (g_sh == NULL)
        return;
    n = pc_tally_add(&g_sh->seal_failed, 1, apr_time_now(), FS_LOG_INTERVAL);
    if (n)
        pc_log(c, APLOG_ERR, 0, "PC00030: %" APR_UINT64_T_FMT " entr%s of the "
               "farm cache ignored since the last report: the seal does not "
               "verify (last: %s). Either a server of the farm uses another "
               "PingOneConsentCacheKey, or someone without the key wrote to "
               "the cache server; logged at most once a minute",
               n, n == 1 ? "y" : "ies", pc_hmac_reason(why));
}

apr_status_t pc_farm_open(const unsigned char **val, apr_size_t *val_len,
                          int *old, const void *key, apr_size_t key_len,
                          const unsigned char *sealed, apr_size_t sealed_len,
                          const pc_ctx_t *c)
{
    apr_status_t rv;

    if (g_hmac == NULL)
        return APR_NOTFOUND;
    rv = pc_hmac_open(val, val_len, old, g_hmac, key, key_len, sealed,
                      sealed_len);
    if (rv == APR_SUCCESS)
        return APR_SUCCESS;
    seal_failed(c, rv);
    return APR_NOTFOUND;
}

/* ---- the local tier ------------------------------------------------------ */

int pc_farm_tier_alive(void)
{
    apr_time_t at;

    if (g_sh == NULL)
        return 0;
    at = __atomic_load_n(&g_sh->alive_at, __ATOMIC_SEQ_CST);
    return at != 0 && pc_farm_mono_now() - at < PC_FARM_ALIVE_WINDOW;
}

apr_uint32_t pc_farm_tier_gen(void)
{
    return g_sh ? __atomic_load_n(&g_sh->tier_gen, __ATOMIC_SEQ_CST) : 0;
}

void pc_farm_tier_bump(void)
{
    if (g_sh)
        __atomic_add_fetch(&g_sh->tier_gen, 1, __ATOMIC_SEQ_CST);
}

apr_uint32_t pc_farm_tier_epoch(void)
{
    return g_sh ? __atomic_load_n(&g_sh->epoch, __ATOMIC_SEQ_CST) : 0;
}

void pc_farm_tier_set_epoch(apr_uint32_t epoch)
{
    if (g_sh)
        __atomic_store_n(&g_sh->epoch, epoch, __ATOMIC_SEQ_CST);
}

void pc_farm_tier_set_alive(pid_t owner)
{
    if (g_sh == NULL)
        return;
    __atomic_store_n(&g_sh->owner, owner, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_sh->alive_at, pc_farm_mono_now(), __ATOMIC_SEQ_CST);
}

int pc_farm_tier_set_down(pid_t owner)
{
    if (g_sh == NULL ||
        __atomic_load_n(&g_sh->owner, __ATOMIC_SEQ_CST) != owner)
        return 0;
    __atomic_store_n(&g_sh->alive_at, 0, __ATOMIC_SEQ_CST);
    return 1;
}

apr_uint64_t pc_farm_master_gen(void)
{
    return g_sh ? __atomic_load_n(&g_sh->master_gen, __ATOMIC_SEQ_CST) : 0;
}

void pc_farm_master_switched(void)
{
    if (g_sh)
        __atomic_add_fetch(&g_sh->master_gen, 1, __ATOMIC_SEQ_CST);
}

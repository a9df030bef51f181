/*
 * pc_startup.c - the module's lifecycle: pre_config, post_config (resolve
 * and check the configuration, create the shared state), test_config
 * (`apachectl configtest`), child_init (per-child state).
 */
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_curl.h"
#include "pc_dcache.h"
#include "pc_farm_state.h"
#include "pc_flight.h"
#include "pc_local.h"
#include "pc_metrics.h"
#include "pc_poll.h"
#include "pc_ratelimit.h"
#include "pc_revoke.h"
#include "pc_segment.h"
#include "pc_tokens.h"
#include "pc_text.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_log.h"

#include <apr_strings.h>

#include <stdlib.h>

APLOG_USE_MODULE(pingone_consent);

int pc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    pc_validate_reset();
    pc_metrics_reset();
    pc_segment_pre_config(pconf);
    return OK;
}

/* PingOneConsentCache and PingOneConsentCacheSize (main server only).
 * `shmcb`, the socache provider of earlier versions, now names the
 * module's own table: its size in bytes, when given, becomes decisions. */
static void cache_setting(apr_pool_t *p, server_rec *s,
                          pc_cache_setting_t *cs)
{
    const pc_srv_conf *sc = pc_srv(s);
    const char *provider = sc->cache ? sc->cache->provider : PC_DEFAULT_CACHE;
    const char *args = sc->cache ? sc->cache->args : NULL, *paren;
    apr_int64_t bytes;

    (void)p;
    memset(cs, 0, sizeof(*cs));
    cs->name = sc->cache_spec ? sc->cache_spec : PC_DEFAULT_CACHE;
    cs->local_entries = sc->cache_size;
    cs->farm.name = cs->name;
    cs->farm.user = sc->cache_user;
    cs->farm.password = sc->cache_password;
    cs->farm.sentinel_user = sc->sentinel_user;
    cs->farm.sentinel_password = sc->sentinel_password;
    cs->farm.hmac = sc->cache_key;
    if (sc->cache && sc->cache->redis) {
        cs->farm.redis = sc->cache->redis;
        return;
    }
    if (strcmp(provider, "shm") == 0)
        return;
    if (strcmp(provider, "shmcb") == 0) {
        if (args && (paren = strrchr(args, '(')) != NULL &&
            (bytes = apr_atoi64(paren + 1)) > 0 && !sc->cache_size_set)
            cs->local_entries = (apr_uint64_t)bytes / PC_BYTES_PER_DECISION;
        return;
    }
    cs->farm_provider = provider;
    cs->farm_args = args;
    cs->farm.socache = 1;
}

/* The shared segment (with its areas), the decision cache, and what the
 * cache must know about every server. */
static const char *shared_init(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s)
{
    pc_seg_area_t areas[8];
    apr_array_header_t *envs, *apps;
    pc_cache_setting_t cs;
    const char *err;
    server_rec *v;

    areas[0] = pc_flight_area();
    areas[1] = pc_tokens_area();
    areas[2] = pc_dcache_area();
    areas[3] = pc_ratelimit_area();
    areas[4] = pc_local_area();
    areas[5] = pc_metrics_area();
    areas[6] = pc_poll_area();
    areas[7] = pc_farm_area();
    if ((err = pc_segment_post_config(pconf, s, areas, 8)) != NULL)
        return err;
    pc_metrics_post_config(pconf, s);
    pc_ratelimit_configure(pc_srv(s)->rate_limit, pc_srv(s)->rate_burst);
    cache_setting(ptemp, s, &cs);
    if ((err = pc_farm_check(ptemp, &cs.farm)) != NULL)
        return err;
    if ((err = pc_dcache_post_config(pconf, ptemp, s, &cs)) != NULL)
        return err;
    for (v = s; v; v = v->next)
        pc_dcache_note_timeout(pc_srv(v)->timeout_ms);
    pc_collect_targets(pconf, s, &envs, &apps);
    pc_dcache_set_targets(envs, apps);
    pc_revoke_configure(pc_srv(s)->revocation_events, envs, apps);
    return pc_poll_post_config(pconf, s);
}

int pc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s)
{
    const char *err;
    (void)plog;

    pc_config_resolve(s);
    if ((err = pc_validate(ptemp, s)) == NULL) {
        pc_warn_insecure(ptemp, s);
        if (pc_any_use(s))
            err = shared_init(pconf, ptemp, s);
    }
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (pc_curl_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "PC00004: libcurl initialisation failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void pc_test_config(apr_pool_t *pconf, server_rec *s)
{
    const char *err;
    pc_cache_setting_t cs;

    pc_config_resolve(s);
    err = pc_validate(pconf, s);
    cache_setting(pconf, s, &cs);
    if (err == NULL && pc_any_use(s) && cs.farm_provider &&
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, cs.farm_provider,
                           AP_SOCACHE_PROVIDER_VERSION) == NULL)
        err = apr_psprintf(pconf, "PingOneConsentCache: unknown cache "
                           "provider '%s' (load mod_socache_%s?)",
                           pc_log_safe(pconf, cs.farm_provider, 40),
                           pc_log_safe(pconf, cs.farm_provider, 40));
    if (err == NULL && pc_any_use(s))
        err = pc_farm_check(pconf, &cs.farm);
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err);
        /* test_config cannot fail otherwise; configtest must not say OK. */
        exit(1);
    }
    pc_warn_insecure(pconf, s);
}

void pc_child_init(apr_pool_t *p, server_rec *s)
{
    pc_dcache_child_init(p, s);
    pc_segment_child_init(p, s);
    pc_child_clients_init(p, s);
    pc_poll_child_init(p, s);
}

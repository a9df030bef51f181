/*
 * pc_config.c - the configuration records: create, merge, and resolve to
 * effective values once the whole configuration is read, so the request
 * path never sees an unset value.
 */
#include "pc_apache.h"
#include "pc_util.h"

#include <apr_strings.h>

/* ---- server scope ---------------------------------------------------------- */

void *pc_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    pc_srv_conf *sc = apr_pcalloc(p, sizeof(*sc));
    (void)s;
    sc->auth_post = PC_UNSET;
    sc->timeout_ms = PC_UNSET;
    sc->connect_timeout_ms = PC_UNSET;
    sc->ssl_verify = PC_UNSET;
    sc->max_response = PC_UNSET;
    sc->allow_ttl = PC_UNSET;
    sc->deny_ttl = PC_UNSET;
    sc->stale_if_error = PC_UNSET;
    sc->fail_open = PC_UNSET;
    return sc;
}

#define MERGE_PTR(f) m->f = add->f ? add->f : base->f
#define MERGE_INT(f) m->f = add->f != PC_UNSET ? add->f : base->f
/* Two fields set together by one directive. */
#define MERGE_PAIR(f, g, set)                                               \
    do {                                                                    \
        const pc_srv_conf *from_ = (set) ? add : base;                      \
        m->f = from_->f;                                                    \
        m->g = from_->g;                                                    \
    } while (0)

void *pc_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    pc_srv_conf *base = basev, *add = addv;
    pc_srv_conf *m = apr_pcalloc(p, sizeof(*m));

    MERGE_PTR(env_id);
    MERGE_PAIR(region_api, region_auth, add->region_api != NULL);
    m->region = add->region_api ? add->region : base->region;
    MERGE_PTR(api_base_set);
    MERGE_PTR(auth_base_set);
    MERGE_PTR(client_id);
    MERGE_PTR(client_secret);
    MERGE_INT(auth_post);
    MERGE_PAIR(timeout_ms, connect_timeout_ms, add->timeout_ms != PC_UNSET);
    MERGE_PTR(ca_file);
    MERGE_INT(ssl_verify);
    MERGE_INT(max_response);
    MERGE_PTR(cache_spec);
    MERGE_PAIR(allow_ttl, deny_ttl, add->allow_ttl != PC_UNSET);
    MERGE_INT(stale_if_error);
    MERGE_INT(fail_open);
    return m;
}

static int or_default(int v, int dflt)
{
    return v == PC_UNSET ? dflt : v;
}

static void resolve_server(pc_srv_conf *sc, int index)
{
    const char *rapi = sc->region_api, *rauth = sc->region_auth;

    sc->index = index;
    if (rapi == NULL)
        pc_region_urls("NA", &rapi, &rauth);
    sc->api_base = sc->api_base_set ? sc->api_base_set : rapi;
    sc->auth_base = sc->auth_base_set ? sc->auth_base_set : rauth;
    sc->auth_post = sc->auth_post == 1;
    if (sc->timeout_ms == PC_UNSET) {
        sc->timeout_ms = PC_DEFAULT_TIMEOUT_MS;
        sc->connect_timeout_ms = PC_DEFAULT_CONNECT_TIMEOUT_MS;
    }
    sc->ssl_verify = sc->ssl_verify != 0;
    if (sc->max_response == PC_UNSET)
        sc->max_response = PC_DEFAULT_MAX_RESPONSE;
    if (sc->allow_ttl == PC_UNSET) {
        sc->allow_ttl = PC_DEFAULT_ALLOW_TTL;
        sc->deny_ttl = PC_DEFAULT_DENY_TTL;
    }
    sc->stale_if_error = or_default(sc->stale_if_error, 0);
    sc->fail_open = sc->fail_open == 1;

    sc->policy.allow_ttl = sc->allow_ttl;
    sc->policy.deny_ttl = sc->deny_ttl;
    sc->policy.stale_window = sc->stale_if_error;
    sc->policy.fail_open = sc->fail_open;
    sc->policy.wait_ms = sc->timeout_ms;
    sc->policy.default_retry_after = PC_DEFAULT_RETRY_AFTER;
}

void pc_config_resolve(server_rec *s)
{
    server_rec *v;
    int i = 0;

    for (v = s; v; v = v->next)
        resolve_server(pc_srv(v), i++);
}

/* ---- directory scope ------------------------------------------------------- */

void *pc_create_dir_conf(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(pc_dir_conf));
}

void *pc_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    pc_dir_conf *base = basev, *add = addv;
    pc_dir_conf *m = apr_pcalloc(p, sizeof(*m));
    const pc_dir_conf *from;

    from = add->enabled_set ? add : base;
    m->enabled = from->enabled;
    m->enabled_set = from->enabled_set;
    /* The two application forms are one setting. */
    from = add->app_set ? add : base;
    m->app_set = from->app_set;
    m->app_id = from->app_id;
    m->app_name = from->app_name;
    MERGE_PTR(scopes);
    from = add->user_from_set ? add : base;
    m->user_from_set = from->user_from_set;
    m->user_env = from->user_env;
    from = add->user_is_set ? add : base;
    m->user_is_name = from->user_is_name;
    m->user_is_set = from->user_is_set;
    MERGE_PTR(deny_redirect);
    m->require_used = add->require_used || base->require_used;
    MERGE_PTR(require_lines);
    MERGE_PTR(webhook_auth);
    return m;
}

/*
 * pc_config.c - the configuration records: create, merge, and resolve to
 * effective values once the whole configuration is read, so the request
 * path never sees an unset value.
 */
#include "pc_apache.h"
#include "pc_url.h"

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
    sc->rate_limit = PC_UNSET;
    sc->poll_interval = PC_UNSET;
    sc->feed_ttl = PC_UNSET;
    return sc;
}

/* Merging starts from the parent and takes what the child section set.
 * Fields set together by one directive are taken together. */
#define TAKE_PTR(f)                                                         \
    if (add->f)                                                             \
    m->f = add->f
#define TAKE_INT(f)                                                         \
    if (add->f != PC_UNSET)                                                 \
    m->f = add->f

void *pc_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const pc_srv_conf *add = addv;
    pc_srv_conf *m = apr_pmemdup(p, basev, sizeof(*m));

    TAKE_PTR(env_id);
    if (add->region_api) {
        m->region = add->region;
        m->region_api = add->region_api;
        m->region_auth = add->region_auth;
    }
    TAKE_PTR(api_base_set);
    TAKE_PTR(auth_base_set);
    TAKE_PTR(client_id);
    TAKE_PTR(client_secret);
    TAKE_INT(auth_post);
    if (add->timeout_ms != PC_UNSET) {
        m->timeout_ms = add->timeout_ms;
        m->connect_timeout_ms = add->connect_timeout_ms;
    }
    TAKE_PTR(ca_file);
    TAKE_INT(ssl_verify);
    TAKE_INT(max_response);
    TAKE_PTR(cache_spec);
    TAKE_PTR(cache);
    if (add->cache_password) {
        m->cache_user = add->cache_user;
        m->cache_password = add->cache_password;
    }
    if (add->sentinel_password) {
        m->sentinel_user = add->sentinel_user;
        m->sentinel_password = add->sentinel_password;
    }
    TAKE_PTR(cache_key);
    if (add->cache_size_set) {
        m->cache_size = add->cache_size;
        m->cache_size_set = 1;
    }
    if (add->allow_ttl != PC_UNSET) {
        m->allow_ttl = add->allow_ttl;
        m->deny_ttl = add->deny_ttl;
    }
    TAKE_INT(stale_if_error);
    TAKE_INT(fail_open);
    if (add->rate_limit != PC_UNSET) {
        m->rate_limit = add->rate_limit;
        m->rate_burst = add->rate_burst;
    }
    TAKE_INT(poll_interval);
    TAKE_PTR(revocation_events);
    TAKE_INT(feed_ttl);
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
    if (!sc->cache_size_set)
        sc->cache_size = PC_DEFAULT_CACHE_ENTRIES;
    if (sc->rate_limit == PC_UNSET) {
        sc->rate_limit = PC_DEFAULT_RATE_LIMIT;
        sc->rate_burst = PC_DEFAULT_RATE_LIMIT;
    }

    sc->policy.allow_ttl = sc->allow_ttl;
    sc->policy.deny_ttl = sc->deny_ttl;
    sc->policy.stale_window = sc->stale_if_error;
    sc->policy.fail_open = sc->fail_open;
    sc->policy.wait_ms = sc->timeout_ms;
    sc->policy.default_retry_after = PC_DEFAULT_RETRY_AFTER;
    sc->poll_interval = or_default(sc->poll_interval, 0);
    sc->feed_ttl = or_default(sc->feed_ttl, PC_DEFAULT_FEED_TTL);
}

void pc_config_resolve(server_rec *s)
{
    server_rec *v;
    int i = 0;

    for (v = s; v; v = v->next)
        resolve_server(pc_srv(v), i++);
    /* The feed TTL stretches allows only where the main server follows
     * the activity feed (PingOneActivityPoll). */
    for (v = s; v; v = v->next)
        pc_srv(v)->policy.feed_ttl =
            pc_srv(s)->poll_interval > 0 ? pc_srv(v)->feed_ttl : 0;
}

/* ---- directory scope ------------------------------------------------------- */

void *pc_create_dir_conf(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(pc_dir_conf));
}

void *pc_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const pc_dir_conf *add = addv;
    pc_dir_conf *m = apr_pmemdup(p, basev, sizeof(*m));

    if (add->enabled_set) {
        m->enabled = add->enabled;
        m->enabled_set = 1;
    }
    if (add->app_set) {   /* the two application forms are one setting */
        m->app_set = 1;
        m->app_id = add->app_id;
        m->app_name = add->app_name;
    }
    TAKE_PTR(scopes);
    if (add->user_from_set) {
        m->user_from_set = 1;
        m->user_env = add->user_env;
    }
    if (add->user_is_set) {
        m->user_is_name = add->user_is_name;
        m->user_is_set = 1;
    }
    TAKE_PTR(deny_redirect);
    m->require_used = add->require_used || m->require_used;
    TAKE_PTR(require_lines);
    TAKE_PTR(webhook_auth);
    TAKE_PTR(admin_hosts);
    return m;
}

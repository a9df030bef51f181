/*
 * pc_config.c - directives, config create/merge, start-up checks and the
 * per-process PingOne client.
 */
#include "pc_apache.h"
#include "pc_curl.h"
#include "pc_shared.h"
#include "pc_util.h"

#include "http_log.h"
#include "http_core.h"
#include "http_main.h"
#include "http_request.h"
#include "ap_provider.h"
#include "ap_socache.h"

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <errno.h>
#include <stdlib.h>

APLOG_USE_MODULE(pingone_consent);

/* Sections that use the module, collected while the config is read and
 * checked once it is complete (an application may come from a parent
 * section, so the check cannot run at directive time). */
typedef struct pc_use_t {
    server_rec *s;
    const char *path;          /* <Location>/<Directory> path, NULL: global */
    const char *file;
    int line;
    pc_dir_conf *dc;
} pc_use_t;

static apr_array_header_t *pc_uses; /* pc_use_t, lives in pconf */

/* ---- create / merge ---------------------------------------------------- */

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

void *pc_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    pc_srv_conf *base = basev, *add = addv;
    pc_srv_conf *m = apr_pcalloc(p, sizeof(*m));

    MERGE_PTR(env_id);
    if (add->region_api) {
        m->region = add->region;
        m->region_api = add->region_api;
        m->region_auth = add->region_auth;
    }
    else {
        m->region = base->region;
        m->region_api = base->region_api;
        m->region_auth = base->region_auth;
    }
    MERGE_PTR(api_base);
    MERGE_PTR(auth_base);
    MERGE_PTR(client_id);
    MERGE_PTR(client_secret);
    MERGE_INT(auth_post);
    if (add->timeout_ms != PC_UNSET) {
        m->timeout_ms = add->timeout_ms;
        m->connect_timeout_ms = add->connect_timeout_ms;
    }
    else {
        m->timeout_ms = base->timeout_ms;
        m->connect_timeout_ms = base->connect_timeout_ms;
    }
    MERGE_PTR(ca_file);
    MERGE_INT(ssl_verify);
    MERGE_INT(max_response);
    MERGE_PTR(cache_spec);
    if (add->allow_ttl != PC_UNSET) {
        m->allow_ttl = add->allow_ttl;
        m->deny_ttl = add->deny_ttl;
    }
    else {
        m->allow_ttl = base->allow_ttl;
        m->deny_ttl = base->deny_ttl;
    }
    MERGE_INT(stale_if_error);
    MERGE_INT(fail_open);
    return m;
}

void *pc_create_dir_conf(apr_pool_t *p, char *dir)
{
    pc_dir_conf *dc = apr_pcalloc(p, sizeof(*dc));
    (void)dir;
    dc->enabled = PC_UNSET;
    dc->user_is_name = PC_UNSET;
    return dc;
}

void *pc_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    pc_dir_conf *base = basev, *add = addv;
    pc_dir_conf *m = apr_pcalloc(p, sizeof(*m));

    MERGE_INT(enabled);
    /* The two application forms are one setting. */
    if (add->app_set) {
        m->app_set = 1;
        m->app_id = add->app_id;
        m->app_name = add->app_name;
    }
    else {
        m->app_set = base->app_set;
        m->app_id = base->app_id;
        m->app_name = base->app_name;
    }
    MERGE_PTR(scopes);
    if (add->user_from_set) {
        m->user_from_set = 1;
        m->user_env = add->user_env;
    }
    else {
        m->user_from_set = base->user_from_set;
        m->user_env = base->user_env;
    }
    MERGE_INT(user_is_name);
    MERGE_PTR(deny_redirect);
    m->require_used = add->require_used || base->require_used;
    MERGE_PTR(require_lines);
    MERGE_PTR(webhook_auth);
    return m;
}

/* ---- directives --------------------------------------------------------- */

static pc_srv_conf *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &pingone_consent_module);
}

/* "Directive: message", the form every config error takes. */
static const char *cmd_err(cmd_parms *cmd, const char *msg)
{
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", msg, NULL);
}

static const char *set_env_id(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (!pc_is_uuid(arg))
        return cmd_err(cmd, "the environment ID must be a UUID "
                            "(8-4-4-4-12 hexadecimal)");
    srv_conf(cmd)->env_id = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_region(cmd_parms *cmd, void *d, const char *arg)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (pc_region_urls(arg, &sc->region_api, &sc->region_auth) != 0)
        return cmd_err(cmd, apr_psprintf(cmd->pool,
                                         "unknown region '%s' (use NA, EU, "
                                         "CA, AU, SG or AP)",
                                         pc_log_safe(cmd->pool, arg, 40)));
    sc->region = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_base_url(cmd_parms *cmd, void *d, const char *arg)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT), *url;
    (void)d;
    if (err)
        return err;
    if ((err = pc_parse_base_url(cmd->pool, arg, &url)) != NULL)
        return cmd_err(cmd, err);
    if (cmd->info)
        sc->auth_base = url;
    else
        sc->api_base = url;
    return NULL;
}

static const char *set_client_id(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *c;
    (void)d;
    if (err)
        return err;
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == ':')
            return cmd_err(cmd, "the client ID must not contain spaces, "
                                "control characters or ':'");
    }
    if (*arg == '\0')
        return cmd_err(cmd, "the client ID is empty");
    srv_conf(cmd)->client_id = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_client_secret(cmd_parms *cmd, void *d,
                                     const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *secret;
    (void)d;
    if (err)
        return err;
    if (strncmp(arg, "file:", 5) == 0)
        arg = apr_pstrcat(cmd->temp_pool, "file:",
                          ap_server_root_relative(cmd->temp_pool, arg + 5),
                          NULL);
    if ((err = pc_parse_secret(cmd->pool, arg, &secret)) != NULL)
        return cmd_err(cmd, err);
    srv_conf(cmd)->client_secret = secret;
    return NULL;
}

static const char *set_auth_method(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (strcasecmp(arg, "basic") == 0 ||
        strcasecmp(arg, "client_secret_basic") == 0)
        srv_conf(cmd)->auth_post = 0;
    else if (strcasecmp(arg, "post") == 0 ||
             strcasecmp(arg, "client_secret_post") == 0)
        srv_conf(cmd)->auth_post = 1;
    else
        return cmd_err(cmd, "must be 'basic' or 'post'");
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *d, const char *a1,
                               const char *a2)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if ((err = pc_parse_timeout(cmd->pool, a1, a2, &sc->timeout_ms,
                                &sc->connect_timeout_ms)) != NULL)
        return cmd_err(cmd, err);
    return NULL;
}

static const char *set_ca_file(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *path;
    apr_finfo_t fi;
    (void)d;
    if (err)
        return err;
    path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL ||
        apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        fi.filetype != APR_REG)
        return cmd_err(cmd, apr_psprintf(cmd->pool,
                                         "'%s' is not a readable file",
                                         pc_log_safe(cmd->pool, arg, 200)));
    srv_conf(cmd)->ca_file = path;
    return NULL;
}

static const char *set_ssl_verify(cmd_parms *cmd, void *d, int on)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    srv_conf(cmd)->ssl_verify = on;
    return NULL;
}

static const char *set_max_response(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    apr_off_t n;
    (void)d;
    if (err)
        return err;
    if (apr_strtoff(&n, arg, NULL, 10) != APR_SUCCESS || n < 1024 ||
        n > 64 * 1024 * 1024)
        return cmd_err(cmd, "must be a byte count from 1024 to 67108864");
    srv_conf(cmd)->max_response = n;
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *c;
    (void)d;
    if (err)
        return err;
    if (*arg == '\0' || *arg == ':')
        return cmd_err(cmd, "expects <provider>[:<args>], e.g. shmcb, "
                            "redis:127.0.0.1:6379 or memcache:host:port");
    for (c = arg; *c && *c != ':'; c++) {
        if (!apr_isalnum(*c) && *c != '_')
            return cmd_err(cmd, "the provider name must be alphanumeric "
                                "(shmcb, redis, memcache, ...)");
    }
    srv_conf(cmd)->cache_spec = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static int parse_seconds(const char *s, int *out)
{
    return pc_parse_int(s, 0, 86400, out);
}

static const char *set_cache_ttl(cmd_parms *cmd, void *d, const char *a1,
                                 const char *a2)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    int allow, deny = PC_DEFAULT_DENY_TTL;
    (void)d;
    if (err)
        return err;
    if (parse_seconds(a1, &allow) || (a2 && parse_seconds(a2, &deny)))
        return cmd_err(cmd, "expects <allow-seconds> [deny-seconds], each "
                            "0..86400 (0 disables that side)");
    sc->allow_ttl = allow;
    sc->deny_ttl = deny;
    return NULL;
}

static const char *set_stale(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (parse_seconds(arg, &srv_conf(cmd)->stale_if_error))
        return cmd_err(cmd, "expects seconds, 0..86400");
    return NULL;
}

static const char *set_fail_mode(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (strcasecmp(arg, "closed") == 0)
        srv_conf(cmd)->fail_open = 0;
    else if (strcasecmp(arg, "open") == 0)
        srv_conf(cmd)->fail_open = 1;
    else
        return cmd_err(cmd, "must be 'closed' (default) or 'open'");
    return NULL;
}

void pc_note_use(cmd_parms *cmd, pc_dir_conf *dc)
{
    pc_use_t *u;
    int i;

    /* .htaccess files are read per request: nothing to record there. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM)
        return;
    if (pc_uses == NULL)
        pc_uses = apr_array_make(cmd->pool, 8, sizeof(pc_use_t));
    for (i = 0; i < pc_uses->nelts; i++) {
        if (APR_ARRAY_IDX(pc_uses, i, pc_use_t).dc == dc)
            return;
    }
    u = apr_array_push(pc_uses);
    u->s = cmd->server;
    u->path = cmd->path;
    u->dc = dc;
    u->file = cmd->directive ? cmd->directive->filename : "?";
    u->line = cmd->directive ? cmd->directive->line_num : 0;
}

static const char *set_consent(cmd_parms *cmd, void *d, int on)
{
    pc_dir_conf *dc = d;
    dc->enabled = on;
    if (on)
        pc_note_use(cmd, dc);
    return NULL;
}

static const char *set_application(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    int by_name = cmd->info != NULL;

    if (dc->app_set)
        return cmd_err(cmd, dc->app_id && !by_name
                                ? "given twice in one section"
                            : dc->app_name && by_name
                                ? "given twice in one section"
                                : "PingOneConsentApplication and "
                                  "PingOneConsentApplicationName are "
                                  "mutually exclusive; use exactly one");
    if (by_name) {
        if (pc_scim_quote(cmd->temp_pool, arg) == NULL)
            return cmd_err(cmd, "the application name must be 1..256 "
                                "characters of UTF-8 without control "
                                "characters");
        dc->app_name = apr_pstrdup(cmd->pool, arg);
    }
    else {
        if (!pc_is_uuid(arg))
            return cmd_err(cmd, "the application ID must be a UUID; use "
                                "PingOneConsentApplicationName for a name");
        dc->app_id = apr_pstrdup(cmd->pool, arg);
    }
    dc->app_set = 1;
    pc_note_use(cmd, dc); /* child sections may inherit it */
    return NULL;
}

static const char *add_scope(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    const char *err = pc_check_scope(cmd->pool, arg);

    if (err)
        return cmd_err(cmd, err);
    if (dc->scopes == NULL)
        dc->scopes = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(dc->scopes, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_user_from(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    const char *err = pc_parse_user_from(cmd->pool, arg, &dc->user_env);
    if (err)
        return cmd_err(cmd, err);
    dc->user_from_set = 1;
    return NULL;
}

static const char *set_user_is(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    if (strcasecmp(arg, "id") == 0)
        dc->user_is_name = 0;
    else if (strcasecmp(arg, "username") == 0)
        dc->user_is_name = 1;
    else
        return cmd_err(cmd, "must be 'id' or 'username'");
    return NULL;
}

static const char *set_deny_redirect(cmd_parms *cmd, void *d,
                                     const char *arg)
{
    pc_dir_conf *dc = d;
    const char *c, *url;

    if (arg[0] == '/' && arg[1] != '/') {
        for (c = arg; *c; c++) {
            if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '#')
                return cmd_err(cmd, "the path holds spaces, control "
                                    "characters or a fragment");
        }
        dc->deny_redirect = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    /* An absolute URL; pc_parse_base_url rejects queries, so check the
     * part before '?' and keep the query as given. */
    c = strchr(arg, '?');
    if (pc_parse_base_url(cmd->pool,
                          c ? apr_pstrmemdup(cmd->temp_pool, arg,
                                             (apr_size_t)(c - arg))
                            : arg,
                          &url) != NULL)
        return cmd_err(cmd, "must be an absolute http(s):// URL or a local "
                            "path starting with '/'");
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '#')
            return cmd_err(cmd, "the URL holds spaces, control characters "
                                "or a fragment");
    }
    dc->deny_redirect = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_webhook_auth(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    const char *c;
    if (strlen(arg) < 16)
        return cmd_err(cmd, "use a value of at least 16 characters (it is "
                            "the only thing that authenticates PingOne)");
    for (c = arg; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return cmd_err(cmd, "the value holds control characters");
    }
    dc->webhook_auth = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

const command_rec pc_cmds[] = {
    AP_INIT_TAKE1("PingOneEnvironmentID", set_env_id, NULL, RSRC_CONF,
                  "PingOne environment ID (UUID)"),
    AP_INIT_TAKE1("PingOneRegion", set_region, NULL, RSRC_CONF,
                  "PingOne region: NA (default), EU, CA, AU, SG or AP"),
    AP_INIT_TAKE1("PingOneAPIBaseURL", set_base_url, NULL, RSRC_CONF,
                  "Management API base URL (overrides PingOneRegion)"),
    AP_INIT_TAKE1("PingOneAuthBaseURL", set_base_url, (void *)1, RSRC_CONF,
                  "Auth (token endpoint) base URL (overrides PingOneRegion)"),
    AP_INIT_TAKE1("PingOneClientID", set_client_id, NULL, RSRC_CONF,
                  "Worker application client ID"),
    AP_INIT_TAKE1("PingOneClientSecret", set_client_secret, NULL, RSRC_CONF,
                  "Worker application secret: value, file:/path or env:NAME"),
    AP_INIT_TAKE1("PingOneClientAuthMethod", set_auth_method, NULL, RSRC_CONF,
                  "Token endpoint client authentication: basic (default) or "
                  "post"),
    AP_INIT_TAKE12("PingOneTimeout", set_timeout, NULL, RSRC_CONF,
                   "Total and connect timeout in ms (default 3000 1000)"),
    AP_INIT_TAKE1("PingOneCACertificateFile", set_ca_file, NULL, RSRC_CONF,
                  "CA bundle (PEM) to verify PingOne's TLS certificate"),
    AP_INIT_FLAG("PingOneSSLVerify", set_ssl_verify, NULL, RSRC_CONF,
                 "Verify PingOne's TLS certificate (default On)"),
    AP_INIT_TAKE1("PingOneMaxResponseSize", set_max_response, NULL, RSRC_CONF,
                  "Largest PingOne answer accepted, bytes (default 1048576)"),
    AP_INIT_TAKE1("PingOneConsentCache", set_cache, NULL, RSRC_CONF,
                  "Decision cache: an Apache socache provider[:args] "
                  "(default shmcb)"),
    AP_INIT_TAKE12("PingOneConsentCacheTTL", set_cache_ttl, NULL, RSRC_CONF,
                   "Seconds an allow [and a deny] stay cached (default 60 "
                   "10)"),
    AP_INIT_TAKE1("PingOneConsentStaleIfError", set_stale, NULL, RSRC_CONF,
                  "Seconds past expiry an entry may still decide while "
                  "PingOne fails (default 0)"),
    AP_INIT_TAKE1("PingOneConsentFailMode", set_fail_mode, NULL, RSRC_CONF,
                  "closed (default: 503 when PingOne fails) or open "
                  "(allow, logged)"),
    AP_INIT_FLAG("PingOneConsent", set_consent, NULL, OR_AUTHCFG,
                 "Require the user's active PingOne consent here"),
    AP_INIT_TAKE1("PingOneConsentApplication", set_application, NULL,
                  OR_AUTHCFG, "PingOne application ID (UUID)"),
    AP_INIT_TAKE1("PingOneConsentApplicationName", set_application,
                  (void *)1, OR_AUTHCFG, "PingOne application name"),
    AP_INIT_ITERATE("PingOneConsentScopes", add_scope, NULL, OR_AUTHCFG,
                    "Scopes that must all be in the consent"),
    AP_INIT_TAKE1("PingOneConsentUserFrom", set_user_from, NULL, OR_AUTHCFG,
                  "Where the user comes from: REMOTE_USER (default) or "
                  "env:NAME"),
    AP_INIT_TAKE1("PingOneConsentUserIs", set_user_is, NULL, OR_AUTHCFG,
                  "The user value is a PingOne user 'id' (default) or a "
                  "'username'"),
    AP_INIT_TAKE1("PingOneConsentDenyRedirect", set_deny_redirect, NULL,
                  OR_AUTHCFG, "Redirect users without consent here "
                              "(302, with return_to)"),
    AP_INIT_TAKE1("PingOneWebhookAuthorization", set_webhook_auth, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "The exact Authorization header PingOne's webhook sends"),
    {NULL}};

/* ---- start-up checks ---------------------------------------------------- */

int pc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    pc_uses = NULL; /* the previous generation's array died with pconf */
    pc_shared_pre_config(pconf);
    return OK;
}

/* Sections in a virtual host are recorded with that host's server_rec; a
 * global section with the main server, and every host inherits those. */
static int server_uses_module(server_rec *main_s, server_rec *v)
{
    int i;
    for (i = 0; pc_uses && i < pc_uses->nelts; i++) {
        const pc_use_t *u = &APR_ARRAY_IDX(pc_uses, i, pc_use_t);
        if ((u->s == v || u->s == main_s) &&
            (u->dc->enabled == 1 || u->dc->require_used))
            return 1;
    }
    return 0;
}

/* Some section, in any host, checks consent. */
static int any_use(server_rec *s)
{
    server_rec *v;
    for (v = s; v; v = v->next) {
        if (server_uses_module(s, v))
            return 1;
    }
    return 0;
}

/* Resolve the effective base URLs of a server. */
static void base_urls(const pc_srv_conf *sc, const char **api,
                      const char **auth)
{
    const char *rapi = sc->region_api, *rauth = sc->region_auth;
    if (rapi == NULL)
        pc_region_urls("NA", &rapi, &rauth);
    *api = sc->api_base ? sc->api_base : rapi;
    *auth = sc->auth_base ? sc->auth_base : rauth;
}

/* An application for a section that uses the module: its own, or one set
 * in a section of the same server whose path is a prefix of its path. */
static int section_has_app(const pc_use_t *u, apr_pool_t *p)
{
    int i;
    (void)p;
    if (u->dc->app_set)
        return 1;
    for (i = 0; i < pc_uses->nelts; i++) {
        const pc_use_t *o = &APR_ARRAY_IDX(pc_uses, i, pc_use_t);
        if (o->dc->app_set && (o->s == u->s || o->path == NULL) &&
            (o->path == NULL ||
             (u->path && strncmp(u->path, o->path, strlen(o->path)) == 0)))
            return 1;
    }
    return 0;
}

/* Every config mistake that needs the whole configuration; NULL when fine.
 * Used by post_config (start fails) and test_config (configtest fails). */
static const char *validate(apr_pool_t *p, server_rec *s)
{
    server_rec *v;
    int i;

    for (i = 0; pc_uses && i < pc_uses->nelts; i++) {
        const pc_use_t *u = &APR_ARRAY_IDX(pc_uses, i, pc_use_t);
        if ((u->dc->enabled == 1 || u->dc->require_used) &&
            !section_has_app(u, p))
            return apr_psprintf(
                p, "PingOneConsentApplication: %s:%d: section '%s' checks "
                   "consent but neither PingOneConsentApplication nor "
                   "PingOneConsentApplicationName is set for it",
                u->file, u->line, u->path ? u->path : "(server)");
    }
    for (v = s; v; v = v->next) {
        pc_srv_conf *sc =
            ap_get_module_config(v->module_config, &pingone_consent_module);
        const char *where = apr_psprintf(p, "%s:%u", v->server_hostname
                                         ? v->server_hostname : "(server)",
                                         v->port);
        if (!server_uses_module(s, v))
            continue;
        if (sc->env_id == NULL)
            return apr_psprintf(p, "PingOneEnvironmentID: not set for %s, "
                                   "where consent is checked", where);
        if (sc->client_id == NULL)
            return apr_psprintf(p, "PingOneClientID: not set for %s, where "
                                   "consent is checked", where);
        if (sc->client_secret == NULL)
            return apr_psprintf(p, "PingOneClientSecret: not set for %s, "
                                   "where consent is checked", where);
    }
    return NULL;
}

static void warn_insecure(apr_pool_t *p, server_rec *s)
{
    server_rec *v;
    for (v = s; v; v = v->next) {
        pc_srv_conf *sc =
            ap_get_module_config(v->module_config, &pingone_consent_module);
        const char *api, *auth;
        if (!server_uses_module(s, v))
            continue;
        if (sc->fail_open == 1)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00005: PingOneConsentFailMode open for %s: when "
                         "PingOne cannot answer, requests are ALLOWED without "
                         "a consent check",
                         v->server_hostname ? v->server_hostname : "server");
        if (sc->ssl_verify == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00002: PingOneSSLVerify Off: PingOne's TLS "
                         "certificate is NOT verified for %s; anyone on the "
                         "path can forge consent answers",
                         v->server_hostname ? v->server_hostname : "server");
        base_urls(sc, &api, &auth);
        if (strncasecmp(api, "http://", 7) == 0 ||
            strncasecmp(auth, "http://", 7) == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00003: PingOne base URL is plain http (%s, %s): "
                         "only for local testing",
                         pc_log_safe(p, api, 200), pc_log_safe(p, auth, 200));
    }
}

int pc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s)
{
    const char *err;
    server_rec *v;
    (void)plog;

    if ((err = validate(ptemp, s)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    warn_insecure(ptemp, s);
    if (server_uses_module(s, s) || any_use(s)) {
        pc_srv_conf *sc =
            ap_get_module_config(s->module_config, &pingone_consent_module);
        if ((err = pc_shared_post_config(
                 pconf, ptemp, s,
                 sc->cache_spec ? sc->cache_spec : PC_DEFAULT_CACHE)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_array_header_t *envs = apr_array_make(pconf, 2, sizeof(char *));
        apr_array_header_t *apps = apr_array_make(pconf, 4, sizeof(char *));
        int i, j;
        for (v = s; v; v = v->next) {
            pc_srv_conf *vc = ap_get_module_config(v->module_config,
                                                   &pingone_consent_module);
            pc_shared_set_stale_window(vc->stale_if_error);
            pc_shared_note_timeout(vc->timeout_ms == PC_UNSET
                                       ? PC_DEFAULT_TIMEOUT_MS
                                       : vc->timeout_ms);
            for (j = 0; vc->env_id && j < envs->nelts; j++) {
                if (strcmp(APR_ARRAY_IDX(envs, j, const char *), vc->env_id) == 0)
                    break;
            }
            if (vc->env_id && j == envs->nelts)
                APR_ARRAY_PUSH(envs, const char *) = vc->env_id;
        }
        for (i = 0; i < pc_uses->nelts; i++) {
            const pc_dir_conf *dc = APR_ARRAY_IDX(pc_uses, i, pc_use_t).dc;
            const char *a = dc->app_id ? dc->app_id : dc->app_name;
            for (j = 0; a && j < apps->nelts; j++) {
                if (strcmp(APR_ARRAY_IDX(apps, j, const char *), a) == 0)
                    break;
            }
            if (a && j == apps->nelts)
                APR_ARRAY_PUSH(apps, const char *) = a;
        }
        pc_shared_set_targets(envs, apps);
    }
    if (pc_curl_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "PC00004: libcurl initialisation failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    (void)pconf;
    return OK;
}

void pc_test_config(apr_pool_t *pconf, server_rec *s)
{
    const char *err = validate(pconf, s);
    pc_srv_conf *sc =
        ap_get_module_config(s->module_config, &pingone_consent_module);
    const char *spec = sc->cache_spec ? sc->cache_spec : PC_DEFAULT_CACHE;
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrmemdup(pconf, spec, (apr_size_t)(colon - spec)) : spec;

    if (err == NULL && any_use(s) &&
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                           AP_SOCACHE_PROVIDER_VERSION) == NULL)
        err = apr_psprintf(pconf, "PingOneConsentCache: unknown cache "
                           "provider '%s' (load mod_socache_%s?)",
                           pc_log_safe(pconf, name, 40),
                           pc_log_safe(pconf, name, 40));
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err);
        /* test_config cannot fail otherwise; configtest must not say OK. */
        exit(1);
    }
    warn_insecure(pconf, s);
}

/* ---- per-process client ------------------------------------------------- */

void pc_child_init(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *stores = apr_hash_make(p), *transports = apr_hash_make(p);
    server_rec *v;

    pc_shared_child_init(p, s);

    for (v = s; v; v = v->next) {
        pc_srv_conf *sc =
            ap_get_module_config(v->module_config, &pingone_consent_module);
        pc_client_conf_t *cc;
        pc_client_t *c;
        const char *key, *tkey;
        pc_token_store_t *ts;
        pc_curl_t *tr;

        if (sc->env_id == NULL || sc->client_id == NULL ||
            sc->client_secret == NULL)
            continue;
        cc = apr_pcalloc(p, sizeof(*cc));
        base_urls(sc, &cc->api_base, &cc->auth_base);
        cc->env_id = sc->env_id;
        cc->client_id = sc->client_id;
        cc->client_secret = sc->client_secret;
        cc->auth_post = sc->auth_post == 1;
        cc->timeout_ms = sc->timeout_ms != PC_UNSET ? sc->timeout_ms
                                                    : PC_DEFAULT_TIMEOUT_MS;
        cc->connect_timeout_ms = sc->timeout_ms != PC_UNSET
                                     ? sc->connect_timeout_ms
                                     : PC_DEFAULT_CONNECT_TIMEOUT_MS;
        cc->max_body = sc->max_response != PC_UNSET
                           ? (apr_size_t)sc->max_response
                           : PC_DEFAULT_MAX_RESPONSE;

        /* Hosts with the same worker app share one token. */
        /* The secret is part of the identity (hashed before it reaches
         * shared memory): hosts with other credentials get other tokens. */
        key = apr_pstrcat(p, cc->auth_base, "|", cc->env_id, "|",
                          cc->client_id, "|", cc->client_secret, "|",
                          cc->auth_post ? "post" : "basic", NULL);
        if ((ts = apr_hash_get(stores, key, APR_HASH_KEY_STRING)) == NULL) {
            ts = pc_shared_token_store(p, key);
            apr_hash_set(stores, key, APR_HASH_KEY_STRING, ts);
        }
        tkey = apr_psprintf(p, "%s|%d", sc->ca_file ? sc->ca_file : "",
                            sc->ssl_verify != 0);
        if ((tr = apr_hash_get(transports, tkey, APR_HASH_KEY_STRING)) ==
            NULL) {
            tr = pc_curl_create(p, sc->ca_file, sc->ssl_verify != 0);
            apr_hash_set(transports, tkey, APR_HASH_KEY_STRING, tr);
        }
        c = apr_pcalloc(p, sizeof(*c));
        c->conf = cc;
        c->send = pc_curl_send;
        c->transport = tr;
        c->tokens = ts;
        sc->cc = cc;
        sc->client = c;
    }
}

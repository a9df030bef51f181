/*
 * pc_directives.c - the directives: the command table and one setter per
 * directive.  Values are checked here with the core's parsers (src/), so a
 * mistake fails `apachectl configtest` naming the directive; checks that
 * need the whole configuration are in pc_validate.c.
 */
#include "pc_apache.h"
#include "pc_hmac.h"
#include "pc_parse.h"
#include "pc_text.h"
#include "pc_url.h"
#include "pc_webhook.h"

#include "http_config.h"
#include "http_core.h"

#include <apr_lib.h>
#include <apr_strings.h>

static pc_srv_conf *srv_conf(cmd_parms *cmd)
{
    return pc_srv(cmd->server);
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
        sc->auth_base_set = url;
    else
        sc->api_base_set = url;
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
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    pc_cache_spec_t *spec = apr_pcalloc(cmd->pool, sizeof(*spec));
    (void)d;
    if (err)
        return err;
    if ((err = pc_parse_cache_spec(cmd->pool, arg, spec)) != NULL)
        return cmd_err(cmd, err);
    sc->cache_spec = apr_pstrdup(cmd->pool, arg);
    sc->cache = spec;
    return NULL;
}

/* "file:..." relative to the ServerRoot, anything else as it is. */
static const char *root_relative_file(cmd_parms *cmd, const char *arg)
{
    if (strncmp(arg, "file:", 5) != 0)
        return arg;
    return apr_pstrcat(cmd->temp_pool, "file:",
                       ap_server_root_relative(cmd->temp_pool, arg + 5), NULL);
}

/* "[username] <password | file:/path | env:NAME>" of the two Auth
 * directives. */
static const char *parse_redis_auth(cmd_parms *cmd, const char *a1,
                                    const char *a2, const char **user,
                                    const char **password)
{
    const char *err, *secret, *c;

    if (a2 != NULL) {
        if (*a1 == '\0' || strlen(a1) > 128)
            return cmd_err(cmd, "the user name must have 1..128 characters");
        for (c = a1; *c; c++) {
            if ((unsigned char)*c <= 0x20 || *c == 0x7f)
                return cmd_err(cmd, "the user name holds spaces or control "
                                    "characters");
        }
        *user = apr_pstrdup(cmd->pool, a1);
    }
    else {
        *user = NULL;
    }
    err = pc_parse_secret(cmd->pool, root_relative_file(cmd, a2 ? a2 : a1),
                          &secret);
    if (err != NULL)
        return cmd_err(cmd, err);
    if (*secret == '\0')
        return cmd_err(cmd, "the password is empty");
    *password = secret;
    return NULL;
}

static const char *set_cache_auth(cmd_parms *cmd, void *d, const char *a1,
                                  const char *a2)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)d;
    if (err)
        return err;
    if (cmd->info)
        return parse_redis_auth(cmd, a1, a2, &sc->sentinel_user,
                                &sc->sentinel_password);
    return parse_redis_auth(cmd, a1, a2, &sc->cache_user, &sc->cache_password);
}

/* The farm's key, and optionally another one accepted for reading (key
 * rotation).  Read now, like every secret of the configuration. */
static const char *set_cache_key(cmd_parms *cmd, void *d, const char *cur,
                                 const char *prev)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const unsigned char *k1, *k2 = NULL;
    apr_size_t n1, n2 = 0;
    pc_hmac_t *h;
    (void)d;
    if (err)
        return err;
    if (sc->cache_key != NULL)
        return cmd_err(cmd, "given twice; to rotate the key, give the key to "
                            "seal with first and the one still accepted for "
                            "reading second, on one line");
    if ((err = pc_hmac_read_secret(cmd->pool, root_relative_file(cmd, cur),
                                   &k1, &n1)) != NULL)
        return cmd_err(cmd, err);
    if (prev && (err = pc_hmac_read_secret(cmd->pool,
                                           root_relative_file(cmd, prev), &k2,
                                           &n2)) != NULL)
        return cmd_err(cmd, apr_pstrcat(cmd->pool, "second key: ", err, NULL));
    if ((err = pc_hmac_create(&h, cmd->pool, k1, n1, k2, n2)) != NULL)
        return cmd_err(cmd, err);
    sc->cache_key = h;
    return NULL;
}

static const char *set_cache_size(cmd_parms *cmd, void *d, const char *arg)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int n;
    (void)d;
    if (err)
        return err;
    if (pc_decimal(arg, 16, 16777216, &n))
        return cmd_err(cmd, "expects a number of decisions, 16..16777216 "
                            "(each takes 264 bytes of shared memory)");
    sc->cache_size = (apr_uint64_t)n;
    sc->cache_size_set = 1;
    return NULL;
}

static int parse_seconds(const char *s, int *out)
{
    return pc_decimal(s, 0, 86400, out);
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

/* PingOneRateLimit <calls-per-second> [burst] | Off */
static const char *set_rate_limit(cmd_parms *cmd, void *d, const char *a1,
                                  const char *a2)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int rate, burst;
    (void)d;
    if (err)
        return err;
    if (strcasecmp(a1, "Off") == 0 && a2 == NULL) {
        sc->rate_limit = 0;
        sc->rate_burst = 0;
        return NULL;
    }
    if (pc_decimal(a1, 1, 100000, &rate) ||
        (a2 && pc_decimal(a2, 1, 1000000, &burst)))
        return cmd_err(cmd, "expects <calls-per-second> [burst] (1..100000, "
                            "burst 1..1000000) or Off");
    sc->rate_limit = rate;
    sc->rate_burst = a2 ? burst : rate;
    return NULL;
}

/* PingOneActivityPoll <seconds> | Off */
static const char *set_activity_poll(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int n;
    (void)d;
    if (err)
        return err;
    if (strcasecmp(arg, "Off") == 0) {
        srv_conf(cmd)->poll_interval = 0;
        return NULL;
    }
    if (pc_decimal(arg, 1, 3600, &n))
        return cmd_err(cmd, "expects seconds between polls, 1..3600, or Off");
    srv_conf(cmd)->poll_interval = n;
    return NULL;
}

/* PingOneRevocationEvents <type> [type ...]: the first type given
 * replaces the default list, the others add to it. */
static const char *add_revocation_event(cmd_parms *cmd, void *d,
                                        const char *arg)
{
    pc_srv_conf *sc = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_array_header_t *types;
    (void)d;
    if (err)
        return err;
    if ((err = pc_event_type_check(arg)) != NULL)
        return cmd_err(cmd, apr_psprintf(cmd->pool, "'%s': %s",
                                         pc_log_safe(cmd->pool, arg, 80),
                                         err));
    if (sc->revocation_events == NULL)
        sc->revocation_events = apr_array_make(cmd->pool, 8,
                                               sizeof(const char *));
    types = (apr_array_header_t *)sc->revocation_events;
    if (types->nelts >= 32)
        return cmd_err(cmd, "at most 32 action types");
    APR_ARRAY_PUSH(types, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* PingOneConsentFeedTTL <seconds> | Off */
static const char *set_feed_ttl(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)d;
    if (err)
        return err;
    if (strcasecmp(arg, "Off") == 0) {
        srv_conf(cmd)->feed_ttl = 0;
        return NULL;
    }
    if (parse_seconds(arg, &srv_conf(cmd)->feed_ttl))
        return cmd_err(cmd, "expects seconds, 0..86400, or Off");
    return NULL;
}

static const char *set_consent(cmd_parms *cmd, void *d, int on)
{
    pc_dir_conf *dc = d;
    dc->enabled = on;
    dc->enabled_set = 1;
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
    dc->user_is_set = 1;
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

/* Host names, or patterns as in ServerAlias: letters, digits, '-', '.',
 * '*' and '?'. */
static const char *add_admin_host(cmd_parms *cmd, void *d, const char *arg)
{
    pc_dir_conf *dc = d;
    const char *c;

    if (*arg == '\0' || strlen(arg) > 253)
        return cmd_err(cmd, "a host name is 1..253 characters");
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-.*?", *c))
            return cmd_err(cmd, "a host name (or a pattern with * and ?) "
                                "without port, e.g. admin.example.com");
    }
    if (dc->admin_hosts == NULL)
        dc->admin_hosts = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(dc->admin_hosts, const char *) = apr_pstrdup(cmd->pool,
                                                                arg);
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
                  "Decision cache: shm (default: this server's own), "
                  "redis://host:port[/db], redis-sentinel://host:port[,...]"
                  "/master[/db], or a farm cache provider[:args], e.g. "
                  "memcache:host:port"),
    AP_INIT_TAKE12("PingOneConsentCacheAuth", set_cache_auth, NULL,
                   RSRC_CONF, "Redis login: [username] password, "
                              "file:/path or env:NAME"),
    AP_INIT_TAKE12("PingOneConsentCacheSentinelAuth", set_cache_auth,
                   (void *)1, RSRC_CONF,
                   "The sentinels' login: [username] password, file:/path "
                   "or env:NAME"),
    AP_INIT_TAKE12("PingOneConsentCacheKey", set_cache_key, NULL, RSRC_CONF,
                   "The farm's key that seals every cache entry: file:/path "
                   "or env:NAME [a second key accepted for reading]"),
    AP_INIT_TAKE1("PingOneConsentCacheSize", set_cache_size, NULL, RSRC_CONF,
                  "Decisions this server's cache holds (default 262144, "
                  "264 bytes each, touched as used)"),
    AP_INIT_TAKE12("PingOneConsentCacheTTL", set_cache_ttl, NULL, RSRC_CONF,
                   "Seconds an allow [and a deny] stay cached (default 60 "
                   "10)"),
    AP_INIT_TAKE1("PingOneConsentStaleIfError", set_stale, NULL, RSRC_CONF,
                  "Seconds past expiry an entry may still decide while "
                  "PingOne fails (default 0)"),
    AP_INIT_TAKE1("PingOneConsentFailMode", set_fail_mode, NULL, RSRC_CONF,
                  "closed (default: 503 when PingOne fails) or open "
                  "(allow, logged)"),
    AP_INIT_TAKE12("PingOneRateLimit", set_rate_limit, NULL, RSRC_CONF,
                   "PingOne calls per second for this server [burst], or Off "
                   "(default 50 50)"),
    AP_INIT_TAKE1("PingOneActivityPoll", set_activity_poll, NULL, RSRC_CONF,
                  "Follow PingOne's audit activities every N seconds (revocations "
                  "without a webhook), or Off (default)"),
    AP_INIT_ITERATE("PingOneRevocationEvents", add_revocation_event, NULL,
                    RSRC_CONF, "Action types that drop a user's cached "
                               "decisions (webhook and activity feed)"),
    AP_INIT_TAKE1("PingOneConsentFeedTTL", set_feed_ttl, NULL, RSRC_CONF,
                  "Seconds an allow may stay cached while the activity feed "
                  "is healthy (default 3600), or Off"),
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
    AP_INIT_ITERATE("PingOneAdminHosts", add_admin_host, NULL,
                    ACCESS_CONF | RSRC_CONF,
                    "Host names the admin endpoint answers to besides "
                    "ServerName/ServerAlias, localhost and IP addresses"),
    {NULL}};


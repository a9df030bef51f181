/*
 * pc_validate.c - checks that need the whole configuration: every section
 * that checks consent has an application (here or in a parent section),
 * every server that checks consent has complete PingOne settings, and
 * warnings for insecure settings.  Sections that use the module are
 * recorded while the configuration is read (pc_note_use) and checked once
 * it is complete, by post_config (start fails) and test_config
 * (configtest fails).
 */
#include "pc_apache.h"
#include "pc_text.h"

#include "http_core.h"
#include "http_log.h"
#include "http_main.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

typedef struct pc_use_t {
    server_rec *s;
    const char *path;          /* <Location>/<Directory> path, NULL: global */
    const char *file;
    int line;
    pc_dir_conf *dc;
} pc_use_t;

static apr_array_header_t *pc_uses; /* pc_use_t, lives in pconf */

void pc_validate_reset(void)
{
    pc_uses = NULL; /* the previous generation's array died with pconf */
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


static int checks_consent(const pc_dir_conf *dc)
{
    return dc->enabled == 1 || dc->require_used;
}

/* Sections in a virtual host are recorded with that host's server_rec; a
 * global section with the main server, and every host inherits those. */
static int server_uses_module(server_rec *main_s, server_rec *v)
{
    int i;

    for (i = 0; pc_uses && i < pc_uses->nelts; i++) {
        const pc_use_t *u = &APR_ARRAY_IDX(pc_uses, i, pc_use_t);
        if ((u->s == v || u->s == main_s) && checks_consent(u->dc))
            return 1;
    }
    return 0;
}

int pc_any_use(server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        if (server_uses_module(s, v))
            return 1;
    }
    return 0;
}

/* An application for a section that uses the module: its own, or one set
 * in a section of the same server whose path is a prefix of its path. */
static int section_has_app(const pc_use_t *u)
{
    int i;

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

static const char *server_settings_missing(apr_pool_t *p, server_rec *v)
{
    pc_srv_conf *sc = pc_srv(v);
    const char *where = apr_psprintf(p, "%s:%u", v->server_hostname
                                     ? v->server_hostname : "(server)",
                                     v->port);

    if (sc->env_id == NULL)
        return apr_psprintf(p, "PingOneEnvironmentID: not set for %s, where "
                               "consent is checked", where);
    if (sc->client_id == NULL)
        return apr_psprintf(p, "PingOneClientID: not set for %s, where "
                               "consent is checked", where);
    if (sc->client_secret == NULL)
        return apr_psprintf(p, "PingOneClientSecret: not set for %s, where "
                               "consent is checked", where);
    return NULL;
}

const char *pc_validate(apr_pool_t *p, server_rec *s)
{
    server_rec *v;
    const char *err;
    int i;

    for (i = 0; pc_uses && i < pc_uses->nelts; i++) {
        const pc_use_t *u = &APR_ARRAY_IDX(pc_uses, i, pc_use_t);
        if (checks_consent(u->dc) && !section_has_app(u))
            return apr_psprintf(
                p, "PingOneConsentApplication: %s:%d: section '%s' checks "
                   "consent but neither PingOneConsentApplication nor "
                   "PingOneConsentApplicationName is set for it",
                u->file, u->line, u->path ? u->path : "(server)");
    }
    for (v = s; v; v = v->next) {
        if (server_uses_module(s, v) &&
            (err = server_settings_missing(p, v)) != NULL)
            return err;
    }
    return NULL;
}

void pc_warn_insecure(apr_pool_t *p, server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        pc_srv_conf *sc = pc_srv(v);
        const char *host = v->server_hostname ? v->server_hostname : "server";
        if (!server_uses_module(s, v))
            continue;
        if (sc->fail_open)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00005: PingOneConsentFailMode open for %s: when "
                         "PingOne cannot answer, requests are ALLOWED without "
                         "a consent check", host);
        if (!sc->ssl_verify)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00002: PingOneSSLVerify Off: PingOne's TLS "
                         "certificate is NOT verified for %s; anyone on the "
                         "path can forge consent answers", host);
        if (strncasecmp(sc->api_base, "http://", 7) == 0 ||
            strncasecmp(sc->auth_base, "http://", 7) == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "PC00003: PingOne base URL is plain http (%s, %s): "
                         "only for local testing",
                         pc_log_safe(p, sc->api_base, 200),
                         pc_log_safe(p, sc->auth_base, 200));
    }
}

/* Append s to arr unless it is there already. */
static void add_unique(apr_array_header_t *arr, const char *s)
{
    int i;

    for (i = 0; s && i < arr->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(arr, i, const char *), s) == 0)
            return;
    }
    if (s)
        APR_ARRAY_PUSH(arr, const char *) = s;
}

void pc_collect_targets(apr_pool_t *p, server_rec *s,
                        apr_array_header_t **envs, apr_array_header_t **apps)
{
    server_rec *v;
    int i;

    *envs = apr_array_make(p, 2, sizeof(char *));
    *apps = apr_array_make(p, 4, sizeof(char *));
    for (v = s; v; v = v->next)
        add_unique(*envs, pc_srv(v)->env_id);
    for (i = 0; pc_uses && i < pc_uses->nelts; i++)
        add_unique(*apps, pc_app_of(APR_ARRAY_IDX(pc_uses, i, pc_use_t).dc));
}

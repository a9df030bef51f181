/*
 * pc_handlers.c - the handler dispatcher and what the handlers share
 * (see pc_handlers.h).
 *
 * The handlers run only where the server configuration mounted them: a
 * `SetHandler` in a section of httpd.conf (and the files it includes).
 * post_config records every SetHandler of the server configuration; a
 * request reaches a handler only when the SetHandler in effect for it is
 * one of those and yields that handler.  A `.htaccess` (SetHandler,
 * AddHandler, <Files>...), a rewrite rule's handler or a subrequest does
 * not: whoever can write a .htaccess must not be able to purge the cache
 * or read consents with the server's worker credentials.
 */
#include "pc_apache.h"
#include "pc_handlers.h"
#include "pc_json.h"
#include "pc_metrics.h"
#include "pc_text.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

/* The SetHandler expressions of the server configuration (keys: the
 * expressions' addresses), rebuilt by every post_config in pconf. */
static apr_hash_t *g_mounts;

static void note_sections(apr_pool_t *p, const apr_array_header_t *secs);

/* One section's SetHandler, and those of the sections nested in it. */
static void note_section(apr_pool_t *p, ap_conf_vector_t *sec)
{
    core_dir_config *d = sec ? ap_get_core_module_config(sec) : NULL;
    const ap_expr_info_t **key;

    if (d == NULL)
        return;
    if (d->expr_handler) {
        key = apr_palloc(p, sizeof(*key));
        *key = d->expr_handler;
        apr_hash_set(g_mounts, key, sizeof(*key), key);
    }
    note_sections(p, d->sec_file);
    note_sections(p, d->sec_if);
}

static void note_sections(apr_pool_t *p, const apr_array_header_t *secs)
{
    int i;

    for (i = 0; secs && i < secs->nelts; i++)
        note_section(p, APR_ARRAY_IDX(secs, i, ap_conf_vector_t *));
}

int pc_handlers_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    core_server_config *sc;
    (void)plog;
    (void)ptemp;

    g_mounts = apr_hash_make(pconf);
    for (; s; s = s->next) {
        sc = ap_get_core_module_config(s->module_config);
        note_section(pconf, s->lookup_defaults);
        note_sections(pconf, sc->sec_dir);
        note_sections(pconf, sc->sec_url);
    }
    return OK;
}

/* What the server configuration's SetHandler in effect for r yields, or
 * NULL when the SetHandler in effect (if any) is not the server
 * configuration's. */
static const char *server_config_handler(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *val, *err = NULL;

    if (g_mounts == NULL || d == NULL || d->expr_handler == NULL ||
        apr_hash_get(g_mounts, &d->expr_handler, sizeof(d->expr_handler)) ==
            NULL)
        return NULL;
    val = ap_expr_str_exec(r, d->expr_handler, &err);
    return err == NULL ? val : NULL;
}

/* 1 when the server configuration's SetHandler in effect for r names the
 * handler r is about to run. */
static int mounted_by_server_config(request_rec *r)
{
    const char *val = server_config_handler(r);

    return val != NULL && strcasecmp(val, r->handler) == 0;
}

int pc_endpoint_mounted(request_rec *r)
{
    const char *val = server_config_handler(r);

    return val != NULL && (strcasecmp(val, "pingone-consent-webhook") == 0 ||
                           strcasecmp(val, "pingone-consent-admin") == 0);
}

/* DECLINED when a handler of ours may run for r, else the refusal. */
static int may_run(request_rec *r)
{
    if (r->main != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00221: %s reached by a subrequest from %s: "
                      "refused (403)", r->handler,
                      pc_log_safe(r->pool, r->main->uri, 200));
        return HTTP_FORBIDDEN;
    }
    if (!mounted_by_server_config(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PC00220: %s for %s is not mounted by a SetHandler of "
                      "the server configuration (.htaccess, AddHandler or a "
                      "rewrite rule?): refused (403)", r->handler,
                      pc_log_safe(r->pool, r->uri, 200));
        return HTTP_FORBIDDEN;
    }
    return DECLINED;
}

int pc_read_body(request_rec *r, apr_size_t max, char **out,
                     apr_size_t *len)
{
    char *buf;
    apr_size_t used = 0;
    long n;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (r->remaining > (apr_off_t)max)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    buf = apr_palloc(r->pool, max + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + used, max + 1 - used)) > 0) {
            used += (apr_size_t)n;
            if (used > max)
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (n < 0)
            return HTTP_BAD_REQUEST;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return OK;
}

int pc_send_json(request_rec *r, int status, const char *json)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs(json, r);
    ap_rputs("\n", r);
    return OK;
}

int pc_fail_json(request_rec *r, int status, const char *why)
{
    pc_jw_t *w = pc_jw_make(r->pool);

    pc_jw_object(w, NULL);
    pc_jw_str(w, "error", why);
    return pc_send_json(r, status, pc_jw_text(w));
}

int pc_handler(request_rec *r)
{
    int (*run)(request_rec *) = NULL;
    int rc;

    if (r->handler == NULL)
        return DECLINED;
    if (strcmp(r->handler, "pingone-consent-webhook") == 0)
        run = pc_webhook_handler;
    else if (strcmp(r->handler, "pingone-consent-admin") == 0)
        run = pc_admin_handler;
    else if (strcmp(r->handler, "pingone-consent-metrics") == 0)
        run = pc_metrics_handler;
    else
        return DECLINED;
    if ((rc = may_run(r)) != DECLINED)
        return rc;
    return run(r);
}

/*
 * pc_handlers.c - `SetHandler pingone-consent-webhook` (PingOne pushes
 * revocations) and `SetHandler pingone-consent-admin` (status and purges).
 */
#include "pc_apache.h"
#include "pc_shared.h"
#include "pc_util.h"
#include "pc_webhook.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_WEBHOOK_MAX_BODY (1024 * 1024)

/* The request body, at most `max` bytes: APR_SUCCESS, APR_EOF... */
static int read_body(request_rec *r, apr_size_t max, char **out,
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

static int send_json(request_rec *r, int status, const char *json)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs(json, r);
    ap_rputs("\n", r);
    return OK;
}

static int fail_json(request_rec *r, int status, const char *why)
{
    return send_json(r, status,
                     apr_psprintf(r->pool, "{\"error\":\"%s\"}",
                                  pc_log_safe(r->pool, why, 200)));
}

/* ---- webhook ------------------------------------------------------------ */

static int webhook(request_rec *r)
{
    pc_dir_conf *dc =
        ap_get_module_config(r->per_dir_config, &pingone_consent_module);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    apr_array_header_t *events;
    const char *err;
    char *body;
    apr_size_t len;
    int rc, i, dropped = 0, ignored = 0, removed = 0;

    if (dc->webhook_auth == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PC00200: SetHandler pingone-consent-webhook without "
                      "PingOneWebhookAuthorization: refusing every delivery");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (auth == NULL || !pc_secret_equal(auth, dc->webhook_auth)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00201: webhook delivery with %s Authorization "
                      "header refused; nothing changed",
                      auth ? "a wrong" : "no");
        return fail_json(r, HTTP_UNAUTHORIZED, "unauthorized");
    }
    if ((rc = read_body(r, PC_WEBHOOK_MAX_BODY, &body, &len)) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00202: webhook delivery body refused (HTTP %d; "
                      "limit %d bytes); nothing changed", rc,
                      PC_WEBHOOK_MAX_BODY);
        return rc == HTTP_REQUEST_ENTITY_TOO_LARGE
                   ? fail_json(r, rc, "body too large")
                   : rc;
    }
    if (pc_webhook_parse(&events, body, len, r->pool, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00203: webhook delivery is not PingOne ACTIVITY "
                      "JSON (%s); nothing changed", err);
        return fail_json(r, HTTP_BAD_REQUEST, err);
    }
    for (i = 0; i < events->nelts; i++) {
        const pc_event_t *ev = APR_ARRAY_IDX(events, i, const pc_event_t *);
        if (ev->effect != PC_EV_DROP_USER || ev->user_id == NULL ||
            !pc_is_uuid(ev->user_id)) {
            ignored++;
            continue;
        }
        removed += pc_shared_purge_user(ev->user_id, NULL, r);
        dropped++;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00204: webhook %s: dropped cached decisions of "
                      "user %s", pc_log_safe(r->pool, ev->type, 64),
                      ev->user_id);
    }
    return send_json(r, HTTP_OK,
                     apr_psprintf(r->pool,
                                  "{\"events\":%d,\"users_dropped\":%d,"
                                  "\"entries_removed\":%d,\"ignored\":%d}",
                                  events->nelts, dropped, removed, ignored));
}

/* ---- admin -------------------------------------------------------------- */

static const char *form_value(request_rec *r, apr_table_t *form,
                              const char *name)
{
    const char *v = apr_table_get(form, name);
    return v && *v ? v : NULL;
}

/* application/x-www-form-urlencoded body or query string into a table. */
static apr_table_t *parse_form(request_rec *r, const char *s)
{
    apr_table_t *t = apr_table_make(r->pool, 4);
    char *pair, *last, *copy = apr_pstrdup(r->pool, s ? s : "");

    for (pair = apr_strtok(copy, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *k = pair, *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        for (char *c = v; *c; c++)
            if (*c == '+')
                *c = ' ';
        if (ap_unescape_url(k) == OK && ap_unescape_url(v) == OK)
            apr_table_setn(t, k, v);
    }
    return t;
}

static int admin_status(request_rec *r)
{
    pc_counters_t c;
    static const char *const names[PC_CNT_MAX] = {
        "hits", "misses", "stale", "errors", "coalesced", "fail_open",
        "pingone_calls", "token_calls", "cache_errors"};
    const char *json = "";
    int i;

    pc_counters_read(&c);
    for (i = 0; i < PC_CNT_MAX; i++)
        json = apr_psprintf(r->pool, "%s%s\"%s\":%" APR_UINT64_T_FMT, json,
                            i ? "," : "", names[i], c.v[i]);
    return send_json(
        r, HTTP_OK,
        apr_psprintf(r->pool,
                     "{\"cache\":{\"provider\":\"%s\"},\"counters\":{%s},"
                     "\"backoff_seconds\":%d}",
                     pc_log_safe(r->pool, pc_shared_cache_name(), 200), json,
                     pc_backoff_left(apr_time_now())));
}

static int admin(request_rec *r)
{
    const char *who = r->user ? r->user : r->useragent_ip;
    const char *action, *user, *app;
    apr_table_t *form;
    char *body;
    apr_size_t len;
    int rc, removed;

    if (r->method_number == M_GET)
        return admin_status(r);
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = read_body(r, 8192, &body, &len)) != OK)
        return rc;
    form = parse_form(r, len ? body : r->args);
    action = form_value(r, form, "action");
    user = form_value(r, form, "user");
    app = form_value(r, form, "application");
    if (action && strcmp(action, "purge-all") == 0) {
        pc_shared_purge_all(r);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00210: admin %s purged every cached decision",
                      pc_log_safe(r->pool, who, 64));
        return send_json(r, HTTP_OK, "{\"purged\":\"all\"}");
    }
    if (action && (strcmp(action, "purge-user") == 0 ||
                   strcmp(action, "purge-user-application") == 0)) {
        if (user == NULL || !pc_is_uuid(user))
            return fail_json(r, HTTP_BAD_REQUEST,
                             "user must be a PingOne user ID (UUID)");
        if (strcmp(action, "purge-user-application") == 0 && app == NULL)
            return fail_json(r, HTTP_BAD_REQUEST, "application is missing");
        removed = pc_shared_purge_user(user, app, r);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00211: admin %s purged user %s%s%s (%d entries)",
                      pc_log_safe(r->pool, who, 64), user,
                      app ? ", application " : "",
                      app ? pc_log_safe(r->pool, app, 100) : "", removed);
        return send_json(r, HTTP_OK,
                         apr_psprintf(r->pool,
                                      "{\"purged\":\"user\",\"user\":\"%s\","
                                      "\"entries_removed\":%d}",
                                      user, removed));
    }
    return fail_json(r, HTTP_BAD_REQUEST,
                     "action must be purge-all, purge-user or "
                     "purge-user-application");
}

int pc_handler(request_rec *r)
{
    if (r->handler == NULL)
        return DECLINED;
    if (strcmp(r->handler, "pingone-consent-webhook") == 0)
        return webhook(r);
    if (strcmp(r->handler, "pingone-consent-admin") == 0)
        return admin(r);
    return DECLINED;
}

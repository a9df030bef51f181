/*
 * pc_handlers.c - `SetHandler pingone-consent-webhook` (PingOne pushes
 * revocations) and `SetHandler pingone-consent-admin` (status and purges).
 */
#include "pc_apache.h"
#include "pc_shared.h"
#include "pc_util.h"
#include "pc_webhook.h"

#include "http_log.h"
#include "mod_status.h"
#include "http_protocol.h"
#include "http_request.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_WEBHOOK_MAX_BODY (1024 * 1024)

static int admin_consent(request_rec *r, const char *user, const char *cid);
static int admin_watch_job(request_rec *r, const char *job_id,
                           const char *users, const char *timeout_s);

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
        pc_count(PC_CNT_WEBHOOK_REFUSED);
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
        pc_count(PC_CNT_WEBHOOK_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00203: webhook delivery is not PingOne ACTIVITY "
                      "JSON (%s); nothing changed", err);
        return fail_json(r, HTTP_BAD_REQUEST, err);
    }
    for (i = 0; i < events->nelts; i++) {
        const pc_event_t *ev = APR_ARRAY_IDX(events, i, const pc_event_t *);
        if (ev->effect != PC_EV_DROP_USER || ev->user_id == NULL ||
            !pc_is_uuid(ev->user_id)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "PC00205: webhook event %s%s ignored",
                          pc_log_safe(r->pool, ev->type ? ev->type : "-", 64),
                          ev->effect == PC_EV_DROP_USER ? " without a valid "
                                                          "user ID" : "");
            ignored++;
            continue;
        }
        removed += pc_shared_purge_user(ev->user_id, NULL, r);
        pc_count(PC_CNT_WEBHOOK_DROPPED);
        dropped++;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00204: webhook %s: dropped cached decisions of "
                      "user %s", pc_log_safe(r->pool, ev->type, 64),
                      ev->user_id);
    }
    pc_count(PC_CNT_WEBHOOK_OK);
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
    const char *json = "";
    int i, p50, p90, p99;
    apr_uint64_t n;

    pc_counters_read(&c);
    for (i = 0; i < PC_CNT_MAX; i++)
        json = apr_psprintf(r->pool, "%s%s\"%s\":%" APR_UINT64_T_FMT, json,
                            i ? "," : "", pc_counter_names[i], c.v[i]);
    pc_latency_percentiles(&p50, &p90, &p99, &n);
    return send_json(
        r, HTTP_OK,
        apr_psprintf(r->pool,
                     "{\"cache\":{\"provider\":\"%s\",\"entries\":%ld},"
                     "\"counters\":{%s},"
                     "\"pingone_latency_ms\":{\"calls\":%" APR_UINT64_T_FMT
                     ",\"p50\":%d,\"p90\":%d,\"p99\":%d},"
                     "\"token_expires_in\":%d,\"backoff_seconds\":%d}",
                     pc_log_safe(r->pool, pc_shared_cache_name(), 200),
                     pc_shared_entries(r), json, n, p50, p90, p99, pc_token_seconds_left(),
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
    if (action && strcmp(action, "consent") == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00212: admin %s reads a consent of user %s",
                      pc_log_safe(r->pool, who, 64),
                      pc_log_safe(r->pool, user ? user : "-", 64));
        return admin_consent(r, user, form_value(r, form, "consent"));
    }
    if (action && strcmp(action, "watch-job") == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00216: admin %s watches job %s",
                      pc_log_safe(r->pool, who, 64),
                      pc_log_safe(r->pool, form_value(r, form, "job"), 64));
        return admin_watch_job(r, form_value(r, form, "job"),
                               form_value(r, form, "users"),
                               form_value(r, form, "timeout"));
    }
    return fail_json(r, HTTP_BAD_REQUEST,
                     "action must be purge-all, purge-user, "
                     "purge-user-application, consent or watch-job");
}

static void admin_log(void *baton, int level, const char *msg)
{
    /* The core's messages carry their own PC tag. */
    ap_log_rerror(APLOG_MARK, level, 0, (request_rec *)baton, "%s", msg);
}

static int admin_client(request_rec *r, pc_client_t *c)
{
    pc_srv_conf *sc = ap_get_module_config(r->server->module_config,
                                           &pingone_consent_module);
    if (sc->client == NULL)
        return 0;
    *c = *sc->client;
    c->log = admin_log;
    c->log_baton = r;
    return 1;
}

static const char *json_str(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrcat(p, "\"", pc_log_safe(p, s, 256), "\"", NULL)
             : "null";
}

/* The live consent, read from PingOne by ID (expand=applications). */
static int admin_consent(request_rec *r, const char *user, const char *cid)
{
    pc_client_t c;
    pc_consent_t *cs;
    pc_error_t err;

    if (!admin_client(r, &c))
        return fail_json(r, HTTP_INTERNAL_SERVER_ERROR,
                         "no PingOne settings for this server");
    if (user == NULL || cid == NULL || !pc_is_uuid(user) || !pc_is_uuid(cid))
        return fail_json(r, HTTP_BAD_REQUEST,
                         "user and consent must be PingOne IDs (UUIDs)");
    if (pc_client_get_consent(&cs, &c, user, cid, &err, r->pool) !=
        APR_SUCCESS)
        return fail_json(r, err.kind == PC_E_NOT_FOUND ? HTTP_NOT_FOUND
                                                       : HTTP_BAD_GATEWAY,
                         err.message ? err.message : "lookup failed");
    return send_json(
        r, HTTP_OK,
        apr_psprintf(r->pool,
                     "{\"id\":%s,\"status\":%s,\"application\":{\"id\":%s,"
                     "\"name\":%s},\"user\":%s,\"scopes\":%s,"
                     "\"expires_at\":%" APR_TIME_T_FMT "}",
                     json_str(r->pool, cs->id), json_str(r->pool, cs->status),
                     json_str(r->pool, cs->app_id),
                     json_str(r->pool, cs->app_name),
                     json_str(r->pool, cs->user_id),
                     json_str(r->pool, pc_scopes_join(r->pool, cs->scopes)),
                     apr_time_sec(cs->expires_at)));
}

/* Watch an OATH token revoke job: poll until DONE or FAILED, backing off
 * from 250 ms to 4 s, for at most `timeout` seconds; on DONE drop the
 * listed users' decisions (or all), on FAILED drop nothing. */
static int admin_watch_job(request_rec *r, const char *job_id,
                           const char *users, const char *timeout_s)
{
    pc_client_t c;
    pc_job_t *job = NULL;
    pc_error_t err;
    int timeout = 30, polls = 0;
    apr_interval_time_t wait = apr_time_from_msec(250);
    apr_time_t deadline;

    if (!admin_client(r, &c))
        return fail_json(r, HTTP_INTERNAL_SERVER_ERROR,
                         "no PingOne settings for this server");
    if (job_id == NULL || !pc_is_uuid(job_id))
        return fail_json(r, HTTP_BAD_REQUEST, "job must be a job ID (UUID)");
    if (timeout_s && pc_parse_int(timeout_s, 1, 120, &timeout) != 0)
        return fail_json(r, HTTP_BAD_REQUEST, "timeout must be 1..120 s");
    deadline = apr_time_now() + apr_time_from_sec(timeout);
    for (;;) {
        polls++;
        if (pc_client_get_job(&job, &c, job_id, &err, r->pool) !=
            APR_SUCCESS)
            return fail_json(r, err.kind == PC_E_NOT_FOUND ? HTTP_NOT_FOUND
                                                           : HTTP_BAD_GATEWAY,
                             err.message ? err.message : "job read failed");
        if (job->state != PC_JOB_RUNNING || apr_time_now() + wait > deadline)
            break;
        apr_sleep(wait);
        if (wait < apr_time_from_sec(4))
            wait *= 2;
    }
    if (job->state == PC_JOB_RUNNING) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00213: job %s still %s after %d s (%d polls); "
                      "nothing dropped", job_id,
                      pc_log_safe(r->pool, job->status, 32), timeout, polls);
        return send_json(r, HTTP_GATEWAY_TIME_OUT,
                         apr_psprintf(r->pool,
                                      "{\"job\":\"%s\",\"status\":%s,"
                                      "\"finished\":false,\"polls\":%d,"
                                      "\"dropped\":\"none\"}",
                                      job_id, json_str(r->pool, job->status),
                                      polls));
    }
    if (job->state == PC_JOB_FAILED) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00214: job %s FAILED (%s); nothing dropped", job_id,
                      pc_log_safe(r->pool, job->reason, 200));
        return send_json(r, HTTP_OK,
                         apr_psprintf(r->pool,
                                      "{\"job\":\"%s\",\"status\":\"FAILED\","
                                      "\"reason\":%s,\"polls\":%d,"
                                      "\"dropped\":\"none\"}",
                                      job_id, json_str(r->pool, job->reason),
                                      polls));
    }
    if (users) {
        char *list = apr_pstrdup(r->pool, users), *u, *last;
        int n = 0;
        for (u = apr_strtok(list, ", ", &last); u;
             u = apr_strtok(NULL, ", ", &last)) {
            if (pc_is_uuid(u)) {
                pc_shared_purge_user(u, NULL, r);
                n++;
            }
        }
        users = apr_psprintf(r->pool, "%d users", n);
    }
    else {
        pc_shared_purge_all(r);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "PC00215: job %s DONE, %" APR_INT64_T_FMT " tokens "
                  "revoked; dropped %s", job_id, job->revoked,
                  users ? users : "every cached decision");
    return send_json(r, HTTP_OK,
                     apr_psprintf(r->pool,
                                  "{\"job\":\"%s\",\"status\":\"DONE\","
                                  "\"revoked\":%" APR_INT64_T_FMT ","
                                  "\"polls\":%d,\"dropped\":%s}",
                                  job_id, job->revoked, polls,
                                  json_str(r->pool, users ? users : "all")));
}

/* mod_status: the counters, with ExtendedStatus On. */
static int status_hook(request_rec *r, int flags)
{
    pc_counters_t c;
    int i;
    const char *const *names = pc_counter_names;

    (void)names;
    if (pc_shared_ready()) {
        pc_counters_read(&c);
        if (flags & AP_STATUS_SHORT) {
            for (i = 0; i < PC_CNT_MAX; i++)
                ap_rprintf(r, "PingOneConsent%s: %" APR_UINT64_T_FMT "\n",
                           names[i], c.v[i]);
        }
        else {
            ap_rputs("<hr>\n<h2>mod_pingone_consent</h2>\n<table>\n", r);
            for (i = 0; i < PC_CNT_MAX; i++)
                ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT
                              "</td></tr>\n", names[i], c.v[i]);
            ap_rputs("</table>\n", r);
        }
    }
    return OK;
}

void pc_register_status_hook(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
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

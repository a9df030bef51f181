/*
 * pc_admin.c - `SetHandler pingone-consent-admin`: GET answers the status
 * (cache, counters, PingOne latency, token, back-off) as JSON; POST runs
 * an action: purge-all, purge-user, purge-user-application, consent (read
 * a user's consent live from PingOne) or watch-job (follow an OATH token
 * revoke job and drop decisions when it is DONE).
 */
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_dcache.h"
#include "pc_handlers.h"
#include "pc_log.h"
#include "pc_segment.h"
#include "pc_tokens.h"
#include "pc_parse.h"
#include "pc_text.h"

#include "http_log.h"
#include "http_protocol.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

static int admin_consent(request_rec *r, const char *user, const char *cid);
static int admin_watch_job(request_rec *r, const char *job_id,
                           const char *users, const char *timeout_s);

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
    pc_dcache_stats_t cs;
    const char *json = "";
    int i, p50, p90, p99;
    apr_uint64_t n;

    pc_counters_read(&c);
    pc_dcache_stats(&cs, r);
    for (i = 0; i < PC_CNT_MAX; i++)
        json = apr_psprintf(r->pool, "%s%s\"%s\":%" APR_UINT64_T_FMT, json,
                            i ? "," : "", pc_counter_names[i], c.v[i]);
    pc_latency_percentiles(&p50, &p90, &p99, &n);
    return pc_send_json(
        r, HTTP_OK,
        apr_psprintf(r->pool,
                     "{\"cache\":{\"provider\":\"%s\",\"entries\":%ld,"
                     "\"capacity\":%" APR_UINT64_T_FMT ",\"evictions\":%"
                     APR_UINT64_T_FMT ",\"evictions_fresh\":%"
                     APR_UINT64_T_FMT "},"
                     "\"counters\":{%s},"
                     "\"pingone_latency_ms\":{\"calls\":%" APR_UINT64_T_FMT
                     ",\"p50\":%d,\"p90\":%d,\"p99\":%d},"
                     "\"token_expires_in\":%d,\"backoff_seconds\":%d}",
                     pc_log_safe(r->pool, pc_dcache_name(), 200),
                     cs.entries, cs.capacity, cs.evictions,
                     cs.evictions_fresh, json, n, p50, p90, p99,
                     pc_tokens_seconds_left(),
                     pc_backoff_left(apr_time_now())));
}

/* A purge that could not be made effective (the cache failed) is never
 * reported as done. */
static int purge_failed(request_rec *r, const char *who, const char *user)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "PC00217: purge of %s asked by %s could not be made "
                  "effective: the decision cache failed (see PC00022); "
                  "answering 503", user ? user : "every decision",
                  pc_log_safe(r->pool, who, 64));
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return pc_fail_json(r, HTTP_SERVICE_UNAVAILABLE,
                        "the purge could not be made effective: the "
                        "decision cache failed; nothing is reported purged");
}

int pc_admin_handler(request_rec *r)
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
    if ((rc = pc_read_body(r, 8192, &body, &len)) != OK)
        return rc;
    form = parse_form(r, len ? body : r->args);
    action = form_value(r, form, "action");
    user = form_value(r, form, "user");
    app = form_value(r, form, "application");
    if (action && strcmp(action, "purge-all") == 0) {
        if (pc_dcache_purge_all(r) != APR_SUCCESS)
            return purge_failed(r, who, NULL);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00210: admin %s purged every cached decision",
                      pc_log_safe(r->pool, who, 64));
        return pc_send_json(r, HTTP_OK, "{\"purged\":\"all\"}");
    }
    if (action && (strcmp(action, "purge-user") == 0 ||
                   strcmp(action, "purge-user-application") == 0)) {
        if (user == NULL || !pc_is_uuid(user))
            return pc_fail_json(r, HTTP_BAD_REQUEST,
                             "user must be a PingOne user ID (UUID)");
        if (strcmp(action, "purge-user-application") == 0 && app == NULL)
            return pc_fail_json(r, HTTP_BAD_REQUEST, "application is missing");
        if (pc_dcache_purge_user(&removed, user, app, r) != APR_SUCCESS)
            return purge_failed(r, who, user);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00211: admin %s purged user %s%s%s (%d entries)",
                      pc_log_safe(r->pool, who, 64), user,
                      app ? ", application " : "",
                      app ? pc_log_safe(r->pool, app, 100) : "", removed);
        return pc_send_json(r, HTTP_OK,
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
    return pc_fail_json(r, HTTP_BAD_REQUEST,
                     "action must be purge-all, purge-user, "
                     "purge-user-application, consent or watch-job");
}

static int admin_client(request_rec *r, pc_client_t *c)
{
    const pc_client_t *client = pc_child_client(r->server);

    if (client == NULL)
        return 0;
    *c = *client;
    c->log = pc_log_request;
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
        return pc_fail_json(r, HTTP_INTERNAL_SERVER_ERROR,
                         "no PingOne settings for this server");
    if (user == NULL || cid == NULL || !pc_is_uuid(user) || !pc_is_uuid(cid))
        return pc_fail_json(r, HTTP_BAD_REQUEST,
                         "user and consent must be PingOne IDs (UUIDs)");
    if (pc_client_get_consent(&cs, &c, user, cid, &err, r->pool) !=
        APR_SUCCESS)
        return pc_fail_json(r, err.kind == PC_E_NOT_FOUND ? HTTP_NOT_FOUND
                                                       : HTTP_BAD_GATEWAY,
                         err.message ? err.message : "lookup failed");
    return pc_send_json(
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
        return pc_fail_json(r, HTTP_INTERNAL_SERVER_ERROR,
                         "no PingOne settings for this server");
    if (job_id == NULL || !pc_is_uuid(job_id))
        return pc_fail_json(r, HTTP_BAD_REQUEST, "job must be a job ID (UUID)");
    if (timeout_s && pc_parse_int(timeout_s, 1, 120, &timeout) != 0)
        return pc_fail_json(r, HTTP_BAD_REQUEST, "timeout must be 1..120 s");
    deadline = apr_time_now() + apr_time_from_sec(timeout);
    for (;;) {
        polls++;
        if (pc_client_get_job(&job, &c, job_id, &err, r->pool) !=
            APR_SUCCESS)
            return pc_fail_json(r, err.kind == PC_E_NOT_FOUND ? HTTP_NOT_FOUND
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
        return pc_send_json(r, HTTP_GATEWAY_TIME_OUT,
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
        return pc_send_json(r, HTTP_OK,
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
            int removed;
            if (pc_is_uuid(u)) {
                if (pc_dcache_purge_user(&removed, u, NULL, r))
                    return purge_failed(r, "job", u);
                n++;
            }
        }
        users = apr_psprintf(r->pool, "%d users", n);
    }
    else if (pc_dcache_purge_all(r) != APR_SUCCESS) {
        return purge_failed(r, "job", NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "PC00215: job %s DONE, %" APR_INT64_T_FMT " tokens "
                  "revoked; dropped %s", job_id, job->revoked,
                  users ? users : "every cached decision");
    return pc_send_json(r, HTTP_OK,
                     apr_psprintf(r->pool,
                                  "{\"job\":\"%s\",\"status\":\"DONE\","
                                  "\"revoked\":%" APR_INT64_T_FMT ","
                                  "\"polls\":%d,\"dropped\":%s}",
                                  job_id, job->revoked, polls,
                                  json_str(r->pool, users ? users : "all")));
}


/*
 * pc_admin.c - `SetHandler pingone-consent-admin`: GET answers the status
 * (cache, counters, PingOne latency, token, back-off, budget) as JSON;
 * POST runs an action: purge-all, purge-user, purge-user-application,
 * consent (read a user's consent live from PingOne) or watch-job (follow
 * an OATH token revoke job and drop decisions when it is DONE).  Every
 * action is logged with who asked.
 *
 * Who may drive it (docs/security.md): besides the Require lines of its
 * section, a request must name this server in its Host header (no DNS
 * rebinding), must not come from another site (Sec-Fetch-Site, Origin),
 * and a POST must carry the header X-PingOne-Consent-Admin: 1 and its
 * fields in an application/x-www-form-urlencoded body.  curl and scripts
 * send that as they please; a browser sends such a header to another
 * origin only after a CORS preflight, which this handler never grants.
 */
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_dcache.h"
#include "pc_handlers.h"
#include "pc_json.h"
#include "pc_log.h"
#include "pc_parse.h"
#include "pc_poll.h"
#include "pc_ratelimit.h"
#include "pc_segment.h"
#include "pc_text.h"
#include "pc_tokens.h"
#include "pc_activity.h"

#include "http_log.h"
#include "http_protocol.h"

#include <apr_fnmatch.h>
#include <apr_strings.h>

#include <arpa/inet.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_ADMIN_HEADER "X-PingOne-Consent-Admin"

/* One admin request: its form and who asked. */
typedef struct admin_t {
    request_rec *r;
    pc_ctx_t ctx;
    apr_table_t *form;
    const char *who;
} admin_t;

static const char *arg(const admin_t *a, const char *name)
{
    const char *v = apr_table_get(a->form, name);
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
        char *k = pair, *v = eq ? eq + 1 : "", *c;
        if (eq)
            *eq = '\0';
        for (c = v; *c; c++)
            if (*c == '+')
                *c = ' ';
        if (ap_unescape_url(k) == OK && ap_unescape_url(v) == OK)
            apr_table_setn(t, k, v);
    }
    return t;
}

/* ---- GET: status ----------------------------------------------------------- */

static void status_cache(pc_jw_t *w, request_rec *r)
{
    pc_dcache_stats_t cs;

    pc_dcache_stats(&cs);
    pc_jw_object(w, "cache");
    pc_jw_str(w, "provider", pc_dcache_name());
    pc_jw_int(w, "entries", cs.entries);
    pc_jw_uint(w, "capacity", cs.capacity);
    pc_jw_uint(w, "evictions", cs.evictions);
    pc_jw_uint(w, "evictions_fresh", cs.evictions_fresh);
    pc_jw_end(w);
}

static void status_pingone(pc_jw_t *w)
{
    int p50, p90, p99, rate, burst;
    apr_uint64_t n;
    double available;

    pc_latency_percentiles(&p50, &p90, &p99, &n);
    pc_jw_object(w, "pingone_latency_ms");
    pc_jw_uint(w, "calls", n);
    pc_jw_int(w, "p50", p50);
    pc_jw_int(w, "p90", p90);
    pc_jw_int(w, "p99", p99);
    pc_jw_end(w);
    pc_jw_int(w, "token_expires_in", pc_tokens_seconds_left());
    pc_jw_int(w, "backoff_seconds", pc_backoff_left(apr_time_now()));
    pc_ratelimit_state(&rate, &burst, &available);
    pc_jw_object(w, "budget");
    pc_jw_int(w, "rate", rate);
    pc_jw_int(w, "burst", burst);
    pc_jw_int(w, "available", (apr_int64_t)available);
    pc_jw_end(w);
}

/* The activity feed (PingOneActivityPoll), per environment: who polls,
 * health, the last polls, how far the cursor lags behind now. */
static void status_feed(pc_jw_t *w, request_rec *r)
{
    apr_array_header_t *envs;
    apr_time_t now = apr_time_now();
    int i, interval = pc_poll_status(&envs, r->pool);

    pc_jw_object(w, "activity_feed");
    pc_jw_bool(w, "enabled", interval > 0);
    pc_jw_int(w, "interval", interval);
    pc_jw_array(w, "environments");
    for (i = 0; i < envs->nelts; i++) {
        const pc_poll_status_t *st = &APR_ARRAY_IDX(envs, i, pc_poll_status_t);
        pc_jw_object(w, NULL);
        pc_jw_str(w, "environment", st->env_id);
        pc_jw_str(w, "role", st->role);
        pc_jw_bool(w, "healthy", st->healthy);
        pc_jw_int(w, "last_poll", apr_time_sec(st->last_poll));
        pc_jw_int(w, "last_ok", apr_time_sec(st->last_ok));
        pc_jw_str(w, "cursor", st->cursor ? pc_activity_time(r->pool,
                                                             st->cursor)
                                          : NULL);
        pc_jw_int(w, "lag_seconds",
                  st->cursor ? apr_time_sec(now - st->cursor) : -1);
        pc_jw_str(w, "since", st->since ? pc_activity_time(r->pool, st->since)
                                        : NULL);
        pc_jw_int(w, "errors", st->errors);
        pc_jw_int(w, "backoff_seconds", st->backoff);
        pc_jw_str(w, "last_error", st->last_error);
        pc_jw_end(w);
    }
    pc_jw_end(w);
    pc_jw_end(w);
}

static int admin_status(request_rec *r)
{
    pc_jw_t *w = pc_jw_make(r->pool);
    pc_counters_t c;
    int i;

    pc_counters_read(&c);
    pc_jw_object(w, NULL);
    status_cache(w, r);
    pc_jw_object(w, "counters");
    for (i = 0; i < PC_CNT_MAX; i++)
        pc_jw_uint(w, pc_counter_names[i], c.v[i]);
    pc_jw_end(w);
    status_pingone(w);
    status_feed(w, r);
    return pc_send_json(r, HTTP_OK, pc_jw_text(w));
}

/* ---- POST: purges ---------------------------------------------------------- */

/* A purge that could not be made effective (the cache failed) is never
 * reported as done. */
static int purge_failed(const admin_t *a, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r,
                  "PC00217: purge of %s asked by %s could not be made "
                  "effective: the decision cache failed (see PC00022); "
                  "answering 503", what, pc_log_safe(a->r->pool, a->who, 64));
    apr_table_setn(a->r->err_headers_out, "Retry-After", "5");
    return pc_fail_json(a->r, HTTP_SERVICE_UNAVAILABLE,
                        "the purge could not be made effective: the "
                        "decision cache failed; nothing is reported purged");
}

static int purge_all(const admin_t *a)
{
    pc_jw_t *w = pc_jw_make(a->r->pool);

    if (pc_dcache_purge_all(&a->ctx) != APR_SUCCESS)
        return purge_failed(a, "every decision");
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, a->r,
                  "PC00210: admin %s purged every cached decision",
                  pc_log_safe(a->r->pool, a->who, 64));
    pc_jw_object(w, NULL);
    pc_jw_str(w, "purged", "all");
    return pc_send_json(a->r, HTTP_OK, pc_jw_text(w));
}

static int purge_user(const admin_t *a, int with_app)
{
    const char *user = arg(a, "user"), *app = arg(a, "application");
    pc_jw_t *w = pc_jw_make(a->r->pool);
    int removed;

    if (user == NULL || !pc_is_uuid(user))
        return pc_fail_json(a->r, HTTP_BAD_REQUEST,
                            "user must be a PingOne user ID (UUID)");
    if (with_app && app == NULL)
        return pc_fail_json(a->r, HTTP_BAD_REQUEST, "application is missing");
    if (pc_dcache_purge_user(&removed, user, with_app ? app : NULL, &a->ctx) !=
        APR_SUCCESS)
        return purge_failed(a, apr_pstrcat(a->r->pool, "user ", user, NULL));
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, a->r,
                  "PC00211: admin %s purged user %s%s%s (%d entries)",
                  pc_log_safe(a->r->pool, a->who, 64), user,
                  with_app ? ", application " : "",
                  with_app ? pc_log_safe(a->r->pool, app, 100) : "", removed);
    pc_jw_object(w, NULL);
    pc_jw_str(w, "purged", "user");
    pc_jw_str(w, "user", user);
    if (with_app)
        pc_jw_str(w, "application", app);
    pc_jw_int(w, "entries_removed", removed);
    return pc_send_json(a->r, HTTP_OK, pc_jw_text(w));
}

/* ---- POST: PingOne reads -------------------------------------------------- */

/* The child's client for this server, logging to the request. */
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

static int upstream_failed(request_rec *r, const pc_error_t *err,
                           const char *what)
{
    return pc_fail_json(r, err->kind == PC_E_NOT_FOUND ? HTTP_NOT_FOUND
                                                       : HTTP_BAD_GATEWAY,
                        err->message ? err->message : what);
}

/* The live consent, read from PingOne by ID (expand=applications). */
static int read_consent(const admin_t *a)
{
    const char *user = arg(a, "user"), *cid = arg(a, "consent");
    pc_jw_t *w = pc_jw_make(a->r->pool);
    pc_client_t c;
    pc_consent_t *cs;
    pc_error_t err;

    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, a->r,
                  "PC00212: admin %s reads a consent of user %s",
                  pc_log_safe(a->r->pool, a->who, 64),
                  pc_log_safe(a->r->pool, user ? user : "-", 64));
    if (!admin_client(a->r, &c))
        return pc_fail_json(a->r, HTTP_INTERNAL_SERVER_ERROR,
                            "no PingOne settings for this server");
    if (user == NULL || cid == NULL || !pc_is_uuid(user) || !pc_is_uuid(cid))
        return pc_fail_json(a->r, HTTP_BAD_REQUEST,
                            "user and consent must be PingOne IDs (UUIDs)");
    if (pc_client_get_consent(&cs, &c, user, cid, &err, a->r->pool) !=
        APR_SUCCESS)
        return upstream_failed(a->r, &err, "lookup failed");
    pc_jw_object(w, NULL);
    pc_jw_str(w, "id", cs->id);
    pc_jw_str(w, "status", cs->status);
    pc_jw_object(w, "application");
    pc_jw_str(w, "id", cs->app_id);
    pc_jw_str(w, "name", cs->app_name);
    pc_jw_end(w);
    pc_jw_str(w, "user", cs->user_id);
    pc_jw_str(w, "scopes", pc_scopes_join(a->r->pool, cs->scopes));
    pc_jw_int(w, "expires_at", apr_time_sec(cs->expires_at));
    return pc_send_json(a->r, HTTP_OK, pc_jw_text(w));
}

/* Poll an OATH token revoke job until DONE or FAILED, backing off from
 * 250 ms to 4 s, for at most timeout seconds: APR_SUCCESS with *job (its
 * state may still be RUNNING), or the error. */
static apr_status_t follow_job(pc_job_t **job, int *polls, pc_client_t *c,
                               const char *job_id, int timeout,
                               pc_error_t *err, request_rec *r)
{
    apr_interval_time_t wait = apr_time_from_msec(250);
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(timeout);

    for (*polls = 1;; ++*polls) {
        if (pc_client_get_job(job, c, job_id, err, r->pool) != APR_SUCCESS)
            return APR_EGENERAL;
        if ((*job)->state != PC_JOB_RUNNING ||
            apr_time_now() + wait > deadline)
            return APR_SUCCESS;
        apr_sleep(wait);
        if (wait < apr_time_from_sec(4))
            wait *= 2;
    }
}

/* A DONE job: drop the listed users' decisions, or every decision.
 * *what says which; APR_SUCCESS or the purge failed. */
static apr_status_t drop_after_job(const char **what, const char *users,
                                   const pc_ctx_t *c)
{
    char *list, *u, *last;
    int n = 0, removed;

    if (users == NULL) {
        *what = "all";
        return pc_dcache_purge_all(c);
    }
    list = apr_pstrdup(c->p, users);
    for (u = apr_strtok(list, ", ", &last); u;
         u = apr_strtok(NULL, ", ", &last)) {
        if (!pc_is_uuid(u))
            continue;
        if (pc_dcache_purge_user(&removed, u, NULL, c) != APR_SUCCESS)
            return APR_EGENERAL;
        n++;
    }
    *what = apr_psprintf(c->p, "%d users", n);
    return APR_SUCCESS;
}

static int job_answer(request_rec *r, int status, const char *job_id,
                      const pc_job_t *job, int polls, const char *dropped)
{
    pc_jw_t *w = pc_jw_make(r->pool);

    pc_jw_object(w, NULL);
    pc_jw_str(w, "job", job_id);
    pc_jw_str(w, "status", job->status);
    if (job->state == PC_JOB_RUNNING)
        pc_jw_bool(w, "finished", 0);
    if (job->state == PC_JOB_FAILED)
        pc_jw_str(w, "reason", job->reason);
    if (job->state == PC_JOB_DONE)
        pc_jw_int(w, "revoked", job->revoked);
    pc_jw_int(w, "polls", polls);
    pc_jw_str(w, "dropped", dropped);
    return pc_send_json(r, status, pc_jw_text(w));
}

/* Watch an OATH token revoke job; on DONE drop decisions, on FAILED or a
 * job still running at the timeout drop nothing. */
static int watch_job(const admin_t *a)
{
    request_rec *r = a->r;
    const char *job_id = arg(a, "job"), *timeout_s = arg(a, "timeout");
    const char *dropped;
    int timeout = 30, polls;
    pc_client_t c;
    pc_job_t *job;
    pc_error_t err;

    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "PC00216: admin %s watches job %s",
                  pc_log_safe(r->pool, a->who, 64),
                  pc_log_safe(r->pool, job_id, 64));
    if (!admin_client(r, &c))
        return pc_fail_json(r, HTTP_INTERNAL_SERVER_ERROR,
                            "no PingOne settings for this server");
    if (job_id == NULL || !pc_is_uuid(job_id))
        return pc_fail_json(r, HTTP_BAD_REQUEST, "job must be a job ID (UUID)");
    if (timeout_s && pc_decimal(timeout_s, 1, 120, &timeout) != 0)
        return pc_fail_json(r, HTTP_BAD_REQUEST, "timeout must be 1..120 s");
    if (follow_job(&job, &polls, &c, job_id, timeout, &err, r) != APR_SUCCESS)
        return upstream_failed(r, &err, "job read failed");
    if (job->state == PC_JOB_RUNNING) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00213: job %s still %s after %d s (%d polls); "
                      "nothing dropped", job_id,
                      pc_log_safe(r->pool, job->status, 32), timeout, polls);
        return job_answer(r, HTTP_GATEWAY_TIME_OUT, job_id, job, polls, "none");
    }
    if (job->state == PC_JOB_FAILED) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "PC00214: job %s FAILED (%s); nothing dropped", job_id,
                      pc_log_safe(r->pool, job->reason, 200));
        return job_answer(r, HTTP_OK, job_id, job, polls, "none");
    }
    if (drop_after_job(&dropped, arg(a, "users"), &a->ctx) != APR_SUCCESS)
        return purge_failed(a, "the job's users");
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "PC00215: job %s DONE, %" APR_INT64_T_FMT " tokens revoked; "
                  "dropped %s", job_id, job->revoked,
                  strcmp(dropped, "all") ? dropped : "every cached decision");
    return job_answer(r, HTTP_OK, job_id, job, polls, dropped);
}

/* ---- who may drive it ------------------------------------------------------ */

static int is_ip_literal(request_rec *r, const char *host)
{
    unsigned char buf[16];
    apr_size_t n = strlen(host);

    if (n > 2 && host[0] == '[' && host[n - 1] == ']')
        host = apr_pstrmemdup(r->pool, host + 1, n - 2);
    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

static int in_names(const apr_array_header_t *names, const char *host,
                    int patterns)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (patterns ? apr_fnmatch(n, host, APR_FNM_CASE_BLIND) == APR_SUCCESS
                     : strcasecmp(n, host) == 0)
            return 1;
    }
    return 0;
}

/* 1 when the request's host names this server: its ServerName or a
 * ServerAlias, a name PingOneAdminHosts lists, localhost or an IP
 * address.  A name someone else controls that resolves to this server
 * (DNS rebinding) is none of these. */
static int host_is_ours(request_rec *r, const pc_dir_conf *dc)
{
    const char *host = r->hostname;

    if (host == NULL || *host == '\0')
        return 1; /* HTTP/1.0 without Host: no browser sends that */
    return strcasecmp(host, "localhost") == 0 || is_ip_literal(r, host) ||
           (r->server->server_hostname &&
            strcasecmp(host, r->server->server_hostname) == 0) ||
           in_names(r->server->names, host, 0) ||
           in_names(r->server->wild_names, host, 1) ||
           in_names(dc->admin_hosts, host, 1);
}

/* Why the request comes from another site, or NULL.  Sec-Fetch-Site is
 * sent by current browsers with every request; Origin with every
 * cross-origin POST (and "null" from opaque origins). */
static const char *cross_site(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *authority;

    if (site && strcasecmp(site, "same-origin") != 0 &&
        strcasecmp(site, "none") != 0)
        return apr_pstrcat(r->pool, "Sec-Fetch-Site: ",
                           pc_log_safe(r->pool, site, 32), NULL);
    if (origin == NULL)
        return NULL;
    authority = strstr(origin, "://");
    if (authority == NULL || host == NULL || strcasecmp(authority + 3, host))
        return apr_pstrcat(r->pool, "Origin ",
                           pc_log_safe(r->pool, origin, 100),
                           " is not this host", NULL);
    return NULL;
}

static int is_form(const char *ct)
{
    static const char form[] = "application/x-www-form-urlencoded";

    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    return ct && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
           (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' ||
            ct[sizeof(form) - 1] == ' ');
}

static int refuse(request_rec *r, int status, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "PC00218: admin request %s %s from %s refused (%d): %s",
                  r->method, pc_log_safe(r->pool, r->uri, 100),
                  r->useragent_ip, status, why);
    return pc_fail_json(r, status, why);
}

/* DECLINED when the request may go on, else the answer sent. */
static int admin_allowed(request_rec *r)
{
    const char *why, *marker;

    if (!host_is_ours(r, pc_dir(r)))
        return refuse(r, HTTP_FORBIDDEN, apr_pstrcat(r->pool, "host ",
                      pc_log_safe(r->pool, r->hostname, 100),
                      " is not a name of this server (see "
                      "PingOneAdminHosts)", NULL));
    if ((why = cross_site(r)) != NULL)
        return refuse(r, HTTP_FORBIDDEN, apr_pstrcat(r->pool,
                      "cross-site request (", why, ")", NULL));
    if (r->method_number != M_POST)
        return DECLINED;
    marker = apr_table_get(r->headers_in, PC_ADMIN_HEADER);
    if (marker == NULL || strcmp(marker, "1") != 0)
        return refuse(r, HTTP_FORBIDDEN,
                      "a POST must carry the header " PC_ADMIN_HEADER ": 1");
    if (!is_form(apr_table_get(r->headers_in, "Content-Type")))
        return refuse(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "the fields must be an application/"
                      "x-www-form-urlencoded body");
    return DECLINED;
}

/* ---- dispatch -------------------------------------------------------------- */

static int run_action(const admin_t *a, const char *action)
{
    if (strcmp(action, "purge-all") == 0)
        return purge_all(a);
    if (strcmp(action, "purge-user") == 0)
        return purge_user(a, 0);
    if (strcmp(action, "purge-user-application") == 0)
        return purge_user(a, 1);
    if (strcmp(action, "consent") == 0)
        return read_consent(a);
    if (strcmp(action, "watch-job") == 0)
        return watch_job(a);
    return -1;
}

int pc_admin_handler(request_rec *r)
{
    admin_t a;
    const char *action;
    char *body;
    apr_size_t len;
    int rc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = admin_allowed(r)) != DECLINED)
        return rc;
    if (r->method_number == M_GET)
        return admin_status(r);
    if ((rc = pc_read_body(r, 8192, &body, &len)) != OK)
        return rc;
    if (len == 0 && r->args)
        return pc_fail_json(r, HTTP_BAD_REQUEST, "the fields belong in the "
                            "body (application/x-www-form-urlencoded), not "
                            "in the query string");
    a.r = r;
    a.ctx = pc_ctx_of(r);
    a.who = r->user ? r->user : r->useragent_ip;
    a.form = parse_form(r, body);
    action = arg(&a, "action");
    if (action == NULL || (rc = run_action(&a, action)) < 0)
        return pc_fail_json(r, HTTP_BAD_REQUEST,
                            "action must be purge-all, purge-user, "
                            "purge-user-application, consent or watch-job");
    return rc;
}

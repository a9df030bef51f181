/*
 * pc_client.c - the PingOne API client.
 */
#include "pc_client.h"
#include "pc_text.h"
#include "pc_url.h"

#include <apr_strings.h>
#include <string.h>

/* ---- token store (in process) ------------------------------------------ */

typedef struct local_store_t {
    apr_thread_mutex_t *mutex;
    apr_time_t refresh_at, expires;
    int fetching;
    char token[PC_TOKEN_MAX];
} local_store_t;

#define LOCK(s) if ((s)->mutex) apr_thread_mutex_lock((s)->mutex)
#define UNLOCK(s) if ((s)->mutex) apr_thread_mutex_unlock((s)->mutex)

/* Threads of one process: the first to need a token fetches it; while it
 * does, the others use the current token if still valid, else fetch too
 * (no waiting inside one process: the shared store does the coalescing). */
static pc_token_get_e local_get(void *baton, apr_time_t now, int wait_ms,
                                char *buf, apr_size_t size)
{
    local_store_t *s = baton;
    pc_token_get_e r = PC_TOKEN_FETCH;
    (void)wait_ms;

    LOCK(s);
    if (s->token[0] && now < s->expires && strlen(s->token) < size &&
        (now < s->refresh_at || s->fetching)) {
        strcpy(buf, s->token);
        r = PC_TOKEN_USE;
    }
    else {
        s->fetching = 1;
    }
    UNLOCK(s);
    return r;
}

static void local_put(void *baton, const char *token, apr_time_t refresh_at,
                      apr_time_t expires)
{
    local_store_t *s = baton;

    LOCK(s);
    if (strlen(token) < sizeof(s->token)) {
        strcpy(s->token, token);
        s->refresh_at = refresh_at;
        s->expires = expires;
    }
    s->fetching = 0;
    UNLOCK(s);
}

static void local_release(void *baton)
{
    local_store_t *s = baton;
    LOCK(s);
    s->fetching = 0;
    UNLOCK(s);
}

static void local_drop(void *baton, const char *token)
{
    local_store_t *s = baton;

    LOCK(s);
    if (strcmp(s->token, token) == 0) {
        memset(s->token, 0, sizeof(s->token));
        s->refresh_at = s->expires = 0;
    }
    UNLOCK(s);
}

pc_token_store_t *pc_token_store_local(apr_pool_t *p)
{
    pc_token_store_t *ts = apr_pcalloc(p, sizeof(*ts));
    local_store_t *s = apr_pcalloc(p, sizeof(*s));

#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&s->mutex, APR_THREAD_MUTEX_DEFAULT, p))
        s->mutex = NULL;
#endif
    ts->get = local_get;
    ts->put = local_put;
    ts->release = local_release;
    ts->drop = local_drop;
    ts->baton = s;
    return ts;
}

apr_time_t pc_token_expiry(apr_time_t now, apr_int64_t expires_in)
{
    apr_int64_t margin = expires_in / 10;

    if (margin < 5)
        margin = 5;
    if (margin > 300)
        margin = 300;
    if (expires_in <= margin)
        return now; /* too short to keep: use once */
    return now + apr_time_from_sec(expires_in - margin);
}

apr_time_t pc_token_hard_expiry(apr_time_t now, apr_int64_t expires_in)
{
    if (expires_in <= 5)
        return now;
    return now + apr_time_from_sec(expires_in - 5);
}

/* ---- helpers ------------------------------------------------------------ */

static void logf_(pc_client_t *c, int level, apr_pool_t *p, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

static void logf_(pc_client_t *c, int level, apr_pool_t *p, const char *fmt,
                  ...)
{
    va_list ap;
    if (c->log == NULL)
        return;
    va_start(ap, fmt);
    c->log(c->log_baton, level, apr_pvsprintf(p, fmt, ap));
    va_end(ap);
}

static apr_status_t fail(pc_error_t *err, pc_err_e kind, int status,
                         const char *tag, const char *message)
{
    err->kind = kind;
    err->http_status = status;
    err->tag = tag;
    err->message = message;
    return APR_EGENERAL;
}

/* Turn a transport failure into an error. */
static apr_status_t transport_error(pc_error_t *err, const pc_http_resp_t *r,
                                    const char *what, apr_pool_t *p)
{
    static const char *tags[] = {
        "upstream-ok", "upstream-timeout", "upstream-connect",
        "upstream-tls", "upstream-too-big", "upstream-failed"};
    const char *tag = tags[r->outcome <= PC_HTTP_FAILED ? r->outcome
                                                         : PC_HTTP_FAILED];
    return fail(err, PC_E_TRANSPORT, 0, tag,
                apr_psprintf(p, "%s: %s", what,
                             r->error ? r->error : "transport failure"));
}

/* A non-2xx answer from the API: classify and describe (no body echo
 * beyond PingOne's own error code and a sanitised message). */
static apr_status_t status_error(pc_error_t *err, const pc_http_resp_t *r,
                                 const char *what, apr_pool_t *p)
{
    pc_api_error_t *ae = NULL;
    const char *perr, *desc = "";

    if (r->body_len &&
        pc_json_parse_error(&ae, r->body, r->body_len, p, &perr) ==
            APR_SUCCESS &&
        ae) {
        desc = apr_psprintf(
            p, " (%s%s%s%s%s)", ae->code ? pc_log_safe(p, ae->code, 64) : "-",
            ae->detail_code ? "/" : "",
            ae->detail_code ? pc_log_safe(p, ae->detail_code, 64) : "",
            ae->message ? ": " : "",
            ae->message ? pc_log_safe(p, ae->message, 200) : "");
    }
    err->retry_after = r->retry_after;
    if (r->status == 429)
        return fail(err, PC_E_RATE_LIMITED, 429, "upstream-429",
                    apr_psprintf(p, "%s: PingOne rate limit (429)%s%s%s",
                                 what, desc,
                                 r->retry_after ? ", Retry-After " : "",
                                 r->retry_after
                                     ? pc_log_safe(p, r->retry_after, 40)
                                     : ""));
    if (r->status == 404)
        return fail(err, PC_E_NOT_FOUND, 404, "upstream-404",
                    apr_psprintf(p, "%s: not found (404)%s", what, desc));
    return fail(err, PC_E_STATUS, r->status,
                apr_psprintf(p, "upstream-%d", r->status),
                apr_psprintf(p, "%s: HTTP %d%s%s%s", what, r->status, desc,
                             r->location ? ", redirect to " : "",
                             r->location ? pc_log_safe(p, r->location, 200)
                                         : ""));
}

static void base_req(pc_client_t *c, pc_http_req_t *req, const char *method,
                     const char *url)
{
    memset(req, 0, sizeof(*req));
    req->endpoint = PC_EP_OTHER;
    req->method = method;
    req->url = url;
    req->timeout_ms = c->conf->timeout_ms;
    req->connect_timeout_ms = c->conf->connect_timeout_ms;
    req->max_body = c->conf->max_body;
}

/* How an exchange ended, for the stats hook. */
static pc_call_class_e call_class(const pc_http_resp_t *r)
{
    switch (r->outcome) {
    case PC_HTTP_OK:
        return pc_call_class_of_status(r->status);
    case PC_HTTP_TIMEOUT:
        return PC_CC_TIMEOUT;
    case PC_HTTP_CONNECT:
        return PC_CC_CONNECT;
    case PC_HTTP_TLS:
        return PC_CC_TLS;
    default:
        return PC_CC_FAILED;
    }
}

/* Every exchange with PingOne goes through here, so each is counted. */
static void send_(pc_client_t *c, const pc_http_req_t *req,
                  pc_http_resp_t *resp, apr_pool_t *p)
{
    memset(resp, 0, sizeof(*resp));
    c->send(c->transport, req, resp, p);
    if (c->stats)
        c->stats(c->stats_baton, req->endpoint, call_class(resp));
}

/* Fetch a new worker token from the token endpoint into buf. */
static apr_status_t fetch_token(pc_client_t *c, char *buf, apr_size_t size,
                                pc_error_t *err, apr_pool_t *p)
{
    const pc_client_conf_t *cf = c->conf;
    pc_http_req_t req;
    pc_http_resp_t resp;
    pc_token_resp_t *tok;
    const char *body = "grant_type=client_credentials", *perr;
    apr_time_t now;

    base_req(c, &req, "POST", pc_url_token(p, cf->auth_base, cf->env_id));
    req.endpoint = PC_EP_TOKEN;
    if (cf->auth_post) {
        body = apr_pstrcat(p, body, "&client_id=",
                           pc_form_encode(p, cf->client_id),
                           "&client_secret=",
                           pc_form_encode(p, cf->client_secret), NULL);
    }
    else {
        /* RFC 6749 2.3.1: form-encode both parts before joining. */
        const char *pair =
            apr_pstrcat(p, pc_form_encode(p, cf->client_id), ":",
                        pc_form_encode(p, cf->client_secret), NULL);
        req.authorization =
            apr_pstrcat(p, "Basic ", pc_base64(p, pair, strlen(pair)), NULL);
    }
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.body_len = strlen(body);

    send_(c, &req, &resp, p);
    if (resp.outcome != PC_HTTP_OK) {
        transport_error(err, &resp, "token request", p);
        err->kind = PC_E_TOKEN;
        return APR_EGENERAL;
    }
    if (resp.status != 200) {
        /* OAuth errors are {"error":..,"error_description":..}; PingOne's
         * own shape also occurs.  Report the status and the error code. */
        status_error(err, &resp, "token request", p);
        if (err->kind != PC_E_RATE_LIMITED) {
            err->kind = PC_E_TOKEN;
            err->tag = "upstream-token";
        }
        return APR_EGENERAL;
    }
    if (pc_json_parse_token(&tok, resp.body, resp.body_len, p, &perr) !=
        APR_SUCCESS)
        return fail(err, PC_E_TOKEN, 200, "upstream-token",
                    apr_psprintf(p, "token response unusable: %s", perr));
    if (strlen(tok->access_token) >= size)
        return fail(err, PC_E_TOKEN, 200, "upstream-token",
                    "token response unusable: access_token too long");
    now = apr_time_now();
    strcpy(buf, tok->access_token);
    c->tokens->put(c->tokens->baton, buf,
                   pc_token_expiry(now, tok->expires_in),
                   pc_token_hard_expiry(now, tok->expires_in));
    logf_(c, 7, p, "PC00120: obtained a worker access token valid for %"
          APR_INT64_T_FMT " s", tok->expires_in);
    return APR_SUCCESS;
}

/* An authorized API call: reuse the stored token, fetch one when needed,
 * and on a 401 fetch a fresh one and retry exactly once. Succeeds only
 * with a 2xx answer in *resp. */
static apr_status_t api_call(pc_client_t *c, pc_http_req_t *req,
                             pc_http_resp_t *resp, const char *what,
                             pc_error_t *err, apr_pool_t *p)
{
    char *token = apr_palloc(p, PC_TOKEN_MAX);
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if (c->tokens->get(c->tokens->baton, apr_time_now(),
                           c->conf->timeout_ms, token,
                           PC_TOKEN_MAX) == PC_TOKEN_FETCH) {
            if (fetch_token(c, token, PC_TOKEN_MAX, err, p) != APR_SUCCESS) {
                c->tokens->release(c->tokens->baton);
                return APR_EGENERAL;
            }
        }
        req->authorization = apr_pstrcat(p, "Bearer ", token, NULL);
        send_(c, req, resp, p);
        if (resp->outcome != PC_HTTP_OK)
            return transport_error(err, resp, what, p);
        if (resp->status != 401)
            break;
        c->tokens->drop(c->tokens->baton, token);
        if (attempt)
            logf_(c, 3, p, "PC00122: %s: PingOne answered 401 again after a "
                  "fresh worker token; giving up", what);
        else
            logf_(c, 6, p, "PC00121: %s: PingOne answered 401 to the worker "
                  "token; fetching a new one", what);
    }
    if (resp->status == 401)
        return fail(err, PC_E_TOKEN, 401, "upstream-401",
                    apr_psprintf(p, "%s: PingOne refused a fresh worker "
                                 "token (401)", what));
    if (resp->status < 200 || resp->status > 299)
        return status_error(err, resp, what, p);
    logf_(c, 7, p, "PC00123: %s: HTTP %d, %" APR_SIZE_T_FMT " bytes in %ld us",
          what, resp->status, resp->body_len, resp->elapsed_us);
    return APR_SUCCESS;
}

static apr_status_t parse_error(pc_error_t *err, const char *what,
                                const char *why, apr_pool_t *p)
{
    return fail(err, PC_E_PARSE, 200, "upstream-parse",
                apr_psprintf(p, "%s: unusable answer: %s", what, why));
}

/* ---- API calls ---------------------------------------------------------- */

apr_status_t pc_client_get_consents(apr_array_header_t **consents,
                                    pc_client_t *c, const char *user_id,
                                    const char *app_id, const char *app_name,
                                    pc_error_t *err, apr_pool_t *p)
{
    const pc_client_conf_t *cf = c->conf;
    const char *quoted = NULL, *why, *prefix, *url;
    apr_array_header_t *all = NULL;
    pc_http_req_t req;
    pc_http_resp_t resp;
    int page;

    *consents = NULL;
    memset(err, 0, sizeof(*err));
    if (!pc_is_uuid(user_id))
        return fail(err, PC_E_NOT_FOUND, 0, "bad-user-id",
                    "user ID is not a UUID");
    if (app_id ? !pc_is_uuid(app_id)
               : (quoted = pc_scim_quote(p, app_name)) == NULL)
        return fail(err, PC_E_NOT_FOUND, 0, "bad-application",
                    "application ID/name is not valid");
    /* Several pages when PingOne pages the history: the consent that
     * counts is the most recent of all of them, so read every page (up to
     * PC_MAX_PAGES; more is an unusable answer, not a guess). */
    prefix = pc_url_consents_prefix(p, cf->api_base, cf->env_id, user_id);
    url = pc_url_consents(p, cf->api_base, cf->env_id, user_id, app_id,
                          quoted);
    for (page = 1;; page++) {
        apr_array_header_t *items;
        const char *next;

        base_req(c, &req, "GET", url);
        req.endpoint = PC_EP_CONSENTS;
        if (api_call(c, &req, &resp, "consent lookup", err, p) != APR_SUCCESS)
            return APR_EGENERAL;
        if (pc_json_parse_consent_page(&items, &next, resp.body,
                                       resp.body_len, p, &why) != APR_SUCCESS)
            return parse_error(err, "consent lookup", why, p);
        if (all == NULL)
            all = items;
        else
            apr_array_cat(all, items);
        if (next == NULL)
            break;
        if (!pc_next_link_ok(next, prefix))
            return parse_error(err, "consent lookup",
                               "_links.next.href is not a page of this "
                               "collection on the configured API",
                               p);
        if (page >= PC_MAX_PAGES)
            return parse_error(err, "consent lookup",
                               apr_psprintf(p, "more than %d pages of "
                                               "consents", PC_MAX_PAGES),
                               p);
        url = next;
    }
    *consents = all;
    return APR_SUCCESS;
}

apr_status_t pc_client_get_consent(pc_consent_t **consent, pc_client_t *c,
                                   const char *user_id,
                                   const char *consent_id, pc_error_t *err,
                                   apr_pool_t *p)
{
    const pc_client_conf_t *cf = c->conf;
    pc_http_resp_t resp;
    const char *why;

    memset(err, 0, sizeof(*err));
    if (!pc_is_uuid(user_id) || !pc_is_uuid(consent_id))
        return fail(err, PC_E_NOT_FOUND, 0, "bad-id",
                    "user or consent ID is not a UUID");
    if (pc_client_call(&resp, c, PC_EP_CONSENT, "GET",
                       pc_url_consent(p, cf->api_base, cf->env_id, user_id,
                                      consent_id),
                       NULL, NULL, "consent read", err, p) != APR_SUCCESS)
        return APR_EGENERAL;
    if (pc_json_parse_consent(consent, resp.body, resp.body_len, p, &why) !=
        APR_SUCCESS)
        return parse_error(err, "consent read", why, p);
    return APR_SUCCESS;
}

apr_status_t pc_client_find_user(const char **user_id, pc_client_t *c,
                                 const char *username, pc_error_t *err,
                                 apr_pool_t *p)
{
    const pc_client_conf_t *cf = c->conf;
    const char *quoted, *why;
    apr_array_header_t *users;
    pc_http_req_t req;
    pc_http_resp_t resp;
    int i, matches = 0;

    memset(err, 0, sizeof(*err));
    *user_id = NULL;
    if ((quoted = pc_scim_quote(p, username)) == NULL)
        return fail(err, PC_E_NOT_FOUND, 0, "bad-username",
                    "username is empty, too long or holds control "
                    "characters");
    base_req(c, &req, "GET",
             pc_url_users_by_name(p, cf->api_base, cf->env_id, quoted));
    req.endpoint = PC_EP_USERS;
    if (api_call(c, &req, &resp, "user lookup", err, p) != APR_SUCCESS)
        return APR_EGENERAL;
    if (pc_json_parse_user_list(&users, resp.body, resp.body_len, p, &why) !=
        APR_SUCCESS)
        return parse_error(err, "user lookup", why, p);
    for (i = 0; i < users->nelts; i++) {
        const pc_user_t *u = APR_ARRAY_IDX(users, i, const pc_user_t *);
        /* Trust the server's filter only as far as we can check it. */
        if (u->username && strcasecmp(u->username, username) == 0 &&
            pc_is_uuid(u->id)) {
            *user_id = u->id;
            matches++;
        }
    }
    if (matches > 1) {
        logf_(c, 3, p, "PC00124: user lookup: %d users match one username; "
              "refusing to pick one", matches);
        *user_id = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t pc_client_get_job(pc_job_t **job, pc_client_t *c,
                               const char *job_id, pc_error_t *err,
                               apr_pool_t *p)
{
    const pc_client_conf_t *cf = c->conf;
    pc_http_resp_t resp;
    const char *why;

    memset(err, 0, sizeof(*err));
    if (!pc_is_uuid(job_id))
        return fail(err, PC_E_NOT_FOUND, 0, "bad-job-id",
                    "job ID is not a UUID");
    if (pc_client_call(&resp, c, PC_EP_JOB, "GET",
                       pc_url_job(p, cf->api_base, cf->env_id, job_id), NULL,
                       NULL, "job status", err, p) != APR_SUCCESS)
        return APR_EGENERAL;
    if (pc_json_parse_job(job, resp.body, resp.body_len, p, &why) !=
        APR_SUCCESS)
        return parse_error(err, "job status", why, p);
    return APR_SUCCESS;
}

apr_status_t pc_client_call(pc_http_resp_t *resp, pc_client_t *c,
                            pc_endpoint_e endpoint, const char *method,
                            const char *url, const char *content_type,
                            const char *body, const char *what,
                            pc_error_t *err, apr_pool_t *p)
{
    pc_http_req_t req;

    memset(err, 0, sizeof(*err));
    base_req(c, &req, method, url);
    req.endpoint = endpoint;
    if (body) {
        req.content_type = content_type;
        req.body = body;
        req.body_len = strlen(body);
    }
    return api_call(c, &req, resp, what, err, p);
}

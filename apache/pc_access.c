/*
 * pc_access.c - the consent check on a request: the access-phase hook for
 * `PingOneConsent On`, the `Require pingone-consent` authz provider, and
 * what both share (finding the user, asking PingOne once per request,
 * exporting the result).
 */
#include "pc_apache.h"
#include "pc_shared.h"
#include "pc_util.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

/* ---- logging bridge ----------------------------------------------------- */

static void log_bridge(void *baton, int level, const char *msg)
{
    request_rec *r = baton;
    /* The core's messages carry their own PC tag. APLOG_MARK names this
     * file for every one of them; the tags say where they come from. */
    ap_log_rerror(APLOG_MARK, level, 0, r, "%s", msg);
}

/* ---- shared lookup ------------------------------------------------------ */

static pc_req_state *req_state(request_rec *r)
{
    pc_req_state *st =
        ap_get_module_config(r->request_config, &pingone_consent_module);
    if (st == NULL) {
        st = apr_pcalloc(r->pool, sizeof(*st));
        ap_set_module_config(r->request_config, &pingone_consent_module, st);
    }
    return st;
}

/* The authenticated user as configured (REMOTE_USER or env:NAME). */
static const char *find_user(request_rec *r, const pc_dir_conf *dc)
{
    const char *u;
    if (dc->user_env == NULL)
        return r->user;
    u = apr_table_get(r->subprocess_env, dc->user_env);
    if (u == NULL && r->main)
        u = apr_table_get(r->main->subprocess_env, dc->user_env);
    return u;
}

static void set_bad_user(pc_req_state *st, const char *reason)
{
    st->state = PC_ST_BADUSER;
    st->reason = reason;
}

/* The request is decided by a cache entry (fresh, or stale). */
static void from_entry(pc_req_state *st, const pc_cache_entry_t *e,
                       const char *source)
{
    st->consent = e->consent;
    st->source = source;
    if (e->unknown_user)
        set_bad_user(st, "deny:unknown-user");
    else
        st->state = PC_ST_FOUND;
}

static const char *app_of(const pc_dir_conf *dc)
{
    return dc->app_id ? dc->app_id : dc->app_name;
}

static int ttl_or(int v, int dflt)
{
    return v == PC_UNSET ? dflt : v;
}

/* PingOne failed and no answer came from the cache: a stale entry within
 * PingOneConsentStaleIfError decides, else fail open or closed. */
static void upstream_failed(request_rec *r, pc_req_state *st,
                            const pc_srv_conf *sc,
                            const pc_cache_entry_t *stale)
{
    pc_count(PC_CNT_ERROR);
    if (stale) {
        pc_count(PC_CNT_STALE);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00113: PingOne failed (%s); deciding from a cache "
                      "entry %" APR_TIME_T_FMT " s past its freshness "
                      "(PingOneConsentStaleIfError)",
                      st->err.message ? st->err.message : "unknown",
                      apr_time_sec(apr_time_now() - stale->fresh_until));
        from_entry(st, stale, "stale");
        return;
    }
    if (sc->fail_open == 1) {
        pc_count(PC_CNT_FAIL_OPEN);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00114: PingOne failed (%s) and "
                      "PingOneConsentFailMode is open: ALLOWING user %s "
                      "without a consent check",
                      st->err.message ? st->err.message : "unknown",
                      pc_log_safe(r->pool, st->user, 64));
        st->state = PC_ST_FAIL_OPEN;
        st->source = "fail-open";
        return;
    }
    st->state = PC_ST_ERROR;
}

/* A PingOne error the caller did not see itself (coalesced, back-off). */
static void borrowed_error(pc_req_state *st, request_rec *r, const char *tag,
                           const char *retry_after, const char *why)
{
    memset(&st->err, 0, sizeof(st->err));
    st->err.kind = PC_E_STATUS;
    st->err.tag = tag && *tag ? tag : "upstream";
    st->err.retry_after = retry_after;
    st->err.message = apr_psprintf(r->pool, "%s (%s)", why, st->err.tag);
}

/* The consent that counts for st->user_id, from the cache or PingOne. */
static void consent_lookup(request_rec *r, const pc_dir_conf *dc,
                           const pc_srv_conf *sc, pc_client_t *client,
                           pc_req_state *st)
{
    pc_cache_id_t id;
    const unsigned char *key;
    pc_cache_entry_t e, *stale = NULL;
    apr_array_header_t *consents;
    apr_time_t now = apr_time_now(), fresh;
    int stale_window = ttl_or(sc->stale_if_error, 0), backoff, lead, ok = 0;
    int cached = 0;   /* pc_shared_put: 1 kept, 0 not stored, -1 raced */
    unsigned char handed[PC_FLIGHT_VALUE];
    unsigned int handed_len = 0;
    const char *tag = NULL, *retry_after = NULL;
    apr_status_t rv;
    apr_time_t t0;

    pc_cache_id_init(&id, PC_CK_CONSENT, sc->env_id, st->user_id, app_of(dc),
                     r);
    if (pc_shared_get(&e, &id, st->user_id, app_of(dc), r) == APR_SUCCESS) {
        int f = pc_cache_freshness(&e, now, stale_window);
        if (f == 1) {
            pc_count(PC_CNT_HIT);
            from_entry(st, &e, "cache");
            return;
        }
        if (f == 0)
            stale = apr_pmemdup(r->pool, &e, sizeof(e));
    }
    pc_count(PC_CNT_MISS);

    if ((backoff = pc_backoff_left(now)) > 0) {
        borrowed_error(st, r, "upstream-429",
                       apr_itoa(r->pool, backoff),
                       "PingOne asked all servers to back off");
        upstream_failed(r, st, sc, stale);
        return;
    }

    /* Single flight: one process asks, the others wait for its answer. */
    key = pc_cache_id_key(&id);
    lead = pc_flight_begin(key, client->conf->timeout_ms, &ok, &tag,
                           &retry_after, handed, &handed_len, r);
    if (lead == 0) {
        /* The leader's answer, handed over in the flight slot (checked
         * like a cache value), else what it stored in the cache. */
        if (ok && ((handed_len &&
                    pc_cache_decode(&e, handed, handed_len, st->user_id,
                                    app_of(dc), r->pool) == APR_SUCCESS) ||
                   pc_shared_get(&e, &id, st->user_id, app_of(dc), r) ==
                       APR_SUCCESS) &&
            pc_cache_freshness(&e, apr_time_now(), 0) == 1) {
            from_entry(st, &e, "cache");
            return;
        }
        if (!ok) {
            borrowed_error(st, r, tag, retry_after,
                           "a concurrent lookup of the same consent failed");
            upstream_failed(r, st, sc, stale);
            return;
        }
        /* Answered but not cached (TTL 0): ask ourselves. */
    }

    pc_count(PC_CNT_PINGONE);
    memset(&e, 0, sizeof(e));
    e.kind = PC_CK_CONSENT;
    e.user_id = st->user_id;
    e.app = app_of(dc);
    t0 = apr_time_now();
    rv = pc_client_get_consents(&consents, client, st->user_id, dc->app_id,
                                dc->app_name, &st->err, r->pool);
    pc_latency_record(apr_time_now() - t0);
    if (rv != APR_SUCCESS) {
        if (st->err.kind != PC_E_NOT_FOUND) {
            if (st->err.kind == PC_E_RATE_LIMITED)
                pc_backoff_set(now + apr_time_from_sec(pc_retry_after_seconds(
                                         st->err.retry_after, now,
                                         PC_DEFAULT_RETRY_AFTER)));
            if (lead == 1)
                pc_flight_end(key, 0, st->err.tag, st->err.retry_after, NULL,
                              0);
            upstream_failed(r, st, sc, stale);
            return;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00107: PingOne does not know user %s: deny",
                      st->user_id);
        e.unknown_user = 1;
        set_bad_user(st, "deny:unknown-user");
    }
    else {
        e.consent = (pc_consent_t *)pc_select_consent(consents, dc->app_id,
                                                      dc->app_name);
        st->consent = e.consent;
        st->state = PC_ST_FOUND;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "PC00108: user %s, application %s: %d consent(s), most "
                      "recent %s (%s)",
                      st->user_id, pc_log_safe(r->pool, app_of(dc), 100),
                      consents->nelts, e.consent ? e.consent->id : "-",
                      e.consent ? pc_log_safe(r->pool, e.consent->status, 32)
                                : "none");
    }
    st->source = "pingone";
    e.fetched_at = now;
    fresh = pc_cache_fresh_until(now, e.consent,
                                 ttl_or(sc->allow_ttl, PC_DEFAULT_ALLOW_TTL),
                                 ttl_or(sc->deny_ttl, PC_DEFAULT_DENY_TTL));
    if (fresh) {
        e.fresh_until = fresh;
        cached = pc_shared_put(&id, &e,
                               pc_cache_store_expiry(fresh, stale_window), t0,
                               r);
    }
    if (lead == 1) {
        /* Hand the answer to the followers, even when the cache could not
         * store it, but not when it was not to be kept (TTL 0, or a purge
         * raced it): they then ask themselves. */
        unsigned char *v = NULL;
        unsigned int vlen = 0;
        if (!fresh || cached < 0 ||
            pc_cache_encode(&v, &vlen, &e, r->pool) != APR_SUCCESS ||
            vlen > PC_FLIGHT_VALUE)
            vlen = 0;
        pc_flight_end(key, 1, NULL, NULL, v, vlen);
    }
}

/* Username -> PingOne user ID, cached like a consent. */
static void resolve_username(request_rec *r, const pc_srv_conf *sc,
                             pc_client_t *client, pc_req_state *st)
{
    pc_cache_id_t cid;
    pc_cache_entry_t e;
    apr_time_t now = apr_time_now();
    const char *id = NULL;
    int allow_ttl = ttl_or(sc->allow_ttl, PC_DEFAULT_ALLOW_TTL);
    int deny_ttl = ttl_or(sc->deny_ttl, PC_DEFAULT_DENY_TTL);

    pc_cache_id_init(&cid, PC_CK_USER, sc->env_id, st->user, "", r);
    if (pc_shared_get(&e, &cid, NULL, NULL, r) == APR_SUCCESS &&
        e.kind == PC_CK_USER && pc_cache_freshness(&e, now, 0) == 1 &&
        e.consent == NULL && e.app && strcmp(e.app, st->user) == 0) {
        id = e.user_id && *e.user_id ? e.user_id : NULL;
    }
    else {
        pc_count(PC_CNT_PINGONE);
        if (pc_client_find_user(&id, client, st->user, &st->err, r->pool) !=
            APR_SUCCESS) {
            if (st->err.kind == PC_E_RATE_LIMITED)
                pc_backoff_set(now + apr_time_from_sec(pc_retry_after_seconds(
                                         st->err.retry_after, now,
                                         PC_DEFAULT_RETRY_AFTER)));
            upstream_failed(r, st, sc, NULL);
            if (st->state == PC_ST_FAIL_OPEN)
                st->user_id = NULL;
            return;
        }
        memset(&e, 0, sizeof(e));
        e.kind = PC_CK_USER;
        e.user_id = id ? id : "";
        e.app = st->user;
        e.fetched_at = now;
        e.fresh_until = now + apr_time_from_sec(id ? allow_ttl : deny_ttl);
        if ((id ? allow_ttl : deny_ttl) > 0)
            pc_shared_put(&cid, &e, e.fresh_until, 0, r);
    }
    if (id == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00105: PingOne has no (unique) user named '%s': "
                      "deny", pc_log_safe(r->pool, st->user, 64));
        set_bad_user(st, "deny:unknown-user");
        return;
    }
    st->user_id = id;
}

/* What counts for this request (at most one lookup per request). */
static pc_req_state *lookup(request_rec *r, const pc_dir_conf *dc)
{
    pc_req_state *st = req_state(r);
    pc_srv_conf *sc;
    pc_client_t client;
    const char *user;

    /* "No user" is not final: mod_authz_core asks providers once before
     * authentication and again after it. */
    if (st->state != PC_ST_NONE && st->state != PC_ST_NOUSER)
        return st;
    if ((user = find_user(r, dc)) == NULL || *user == '\0') {
        if (dc->user_env && r->user) {
            /* Authenticated, but the PingOne identity is missing: the
             * authenticator did not export what the config says. */
            st->user = r->user;
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "PC00109: user %s is authenticated but %s is not "
                          "set (PingOneConsentUserFrom): deny",
                          pc_log_safe(r->pool, r->user, 64), dc->user_env);
            set_bad_user(st, "deny:no-user-id");
            return st;
        }
        st->state = PC_ST_NOUSER;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "PC00101: no authenticated user (%s): consent check "
                      "does not run",
                      dc->user_env ? dc->user_env : "REMOTE_USER");
        return st;
    }
    st->user = user;
    if (!dc->app_set) {
        st->state = PC_ST_CONFIG;
        st->reason = "error:config";
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PC00102: consent is checked for %s but neither "
                      "PingOneConsentApplication nor "
                      "PingOneConsentApplicationName applies there",
                      pc_log_safe(r->pool, r->uri, 200));
        return st;
    }
    sc = ap_get_module_config(r->server->module_config,
                              &pingone_consent_module);
    if (sc->client == NULL) {
        st->state = PC_ST_CONFIG;
        st->reason = "error:config";
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PC00103: consent is checked for %s but this server "
                      "has no complete PingOne settings (PingOneEnvironmentID,"
                      " PingOneClientID, PingOneClientSecret)",
                      pc_log_safe(r->pool, r->uri, 200));
        return st;
    }
    client = *sc->client;
    client.log = log_bridge;
    client.log_baton = r;

    if (dc->user_is_name == 1) {
        if (pc_scim_quote(r->pool, user) == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PC00104: user name '%s' cannot be looked up "
                          "(empty, over %d bytes, control characters or not "
                          "UTF-8): deny",
                          pc_log_safe(r->pool, user, 64), PC_MAX_NAME_LEN);
            set_bad_user(st, "deny:bad-user");
            return st;
        }
        resolve_username(r, sc, &client, st);
        if (st->state != PC_ST_NONE && st->state != PC_ST_NOUSER)
            return st;
    }
    else {
        if (!pc_is_uuid(user)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PC00106: user '%s' is not a PingOne user ID "
                          "(UUID expected; see PingOneConsentUserIs): deny",
                          pc_log_safe(r->pool, user, 64));
            set_bad_user(st, "deny:bad-user");
            return st;
        }
        st->user_id = user;
    }
    consent_lookup(r, dc, sc, &client, st);
    return st;
}

/* ---- outcomes ----------------------------------------------------------- */

static void export_allow(request_rec *r, const pc_dir_conf *dc,
                         const pc_req_state *st)
{
    const pc_consent_t *c = st->consent;
    apr_table_t *e = r->subprocess_env;

    if (c) {
        apr_table_setn(e, "PINGONE_CONSENT_ID", c->id);
        apr_table_setn(e, "PINGONE_CONSENT_STATUS", c->status);
        apr_table_setn(e, "PINGONE_CONSENT_SCOPES",
                       pc_scopes_join(r->pool, c->scopes));
    }
    if ((c && c->app_name) || dc->app_name)
        apr_table_setn(e, "PINGONE_APPLICATION_NAME",
                       c && c->app_name ? c->app_name : dc->app_name);
    if (st->user_id)
        apr_table_setn(e, "PINGONE_USER_ID", st->user_id);
    apr_table_setn(e, "PINGONE_CONSENT_SOURCE",
                   st->source ? st->source : "pingone");
    apr_table_setn(r->notes, PC_NOTE,
                   st->state == PC_ST_FAIL_OPEN ? "allow:fail-open" : "allow");
}

/* The redirect target for a user without consent, with return_to. */
static const char *deny_location(request_rec *r, const pc_dir_conf *dc)
{
    const char *target = dc->deny_redirect;
    const char *back = ap_construct_url(r->pool, r->unparsed_uri, r);

    if (target[0] == '/')
        target = ap_construct_url(r->pool, target, r);
    return apr_pstrcat(r->pool, target, strchr(target, '?') ? "&" : "?",
                       "return_to=", pc_url_encode(r->pool, back), NULL);
}

static void log_deny(request_rec *r, const pc_dir_conf *dc,
                     const pc_req_state *st, const char *reason)
{
    apr_table_setn(r->notes, PC_NOTE, reason);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00110: consent %s for user %s, application %s: %s%s",
                  "denied", pc_log_safe(r->pool, st->user, 64),
                  dc->app_id ? dc->app_id
                             : pc_log_safe(r->pool, dc->app_name, 100),
                  reason, dc->deny_redirect ? " (redirecting)" : "");
}

/* 503 with Retry-After when PingOne could not answer. */
static int unavailable(request_rec *r, pc_req_state *st)
{
    int secs = pc_retry_after_seconds(st->err.retry_after, apr_time_now(),
                                      PC_DEFAULT_RETRY_AFTER);
    st->reason = apr_pstrcat(r->pool, "error:",
                             st->err.tag ? st->err.tag : "upstream", NULL);
    apr_table_setn(r->notes, PC_NOTE, st->reason);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "PC00111: cannot check consent for user %s, so the request "
                  "is refused (503): %s",
                  pc_log_safe(r->pool, st->user, 64),
                  st->err.message ? st->err.message : "unknown error");
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, secs));
    return HTTP_SERVICE_UNAVAILABLE;
}

/* `Require pingone-consent` with an authenticated user.  mod_authz_core
 * answers a denial after authentication with 401 whenever an AuthType is
 * set, which would send a user without consent back to the login prompt.
 * Its pre-authentication pass (access_checker_ex) answers a denial with
 * 403 instead, so run that pass now that the user is known: when the
 * Require lines deny because our provider denied, the answer is 403 (or
 * the configured redirect).  Anything else is left to mod_authz_core. */
static int require_pass(request_rec *r, const pc_dir_conf *dc,
                        pc_req_state *st)
{
    int rc, i;

    /* When every `Require pingone-consent` line of this section allows,
     * none of them can be the reason for a denial: leave everything to
     * mod_authz_core (and do not run other providers twice). */
    if (st->state == PC_ST_FOUND && dc->require_lines) {
        for (i = 0; i < dc->require_lines->nelts; i++) {
            const apr_array_header_t *sc =
                APR_ARRAY_IDX(dc->require_lines, i, apr_array_header_t *);
            pc_verdict_t v;
            pc_decide(&v, st->consent, sc->nelts ? sc : dc->scopes,
                      apr_time_now(), r->pool);
            if (v.result != PC_ALLOW)
                break;
        }
        if (i == dc->require_lines->nelts)
            return DECLINED;
    }
    st->provider_denied = 0;
    rc = ap_run_access_checker_ex(r);
    if (rc == OK || rc == DECLINED || !st->provider_denied)
        return DECLINED;
    if (dc->deny_redirect) {
        apr_table_setn(r->headers_out, "Location", deny_location(r, dc));
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_MOVED_TEMPORARILY;
    }
    return HTTP_FORBIDDEN;
}

/* `Require pingone-consent` while PingOne cannot answer.  Run the Require
 * lines now (mod_authz_core's pass, as in require_pass): when evaluation
 * reaches our line, this request needed the consent, and it is refused
 * with 503 and Retry-After (the provider itself could only make it a 500).
 * When other lines decide first - a <RequireAny> line before ours that
 * grants, a <RequireAll> line before ours that denies - their answer
 * stands, as it would if PingOne were up. */
static int require_error_pass(request_rec *r, pc_req_state *st)
{
    st->provider_failed = 0;
    ap_run_access_checker_ex(r);
    if (st->provider_failed)
        return HTTP_SERVICE_UNAVAILABLE;  /* unavailable() ran in the provider */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00115: cannot check consent for user %s (%s); other "
                  "Require lines decide this request without it",
                  pc_log_safe(r->pool, st->user, 64),
                  st->err.message ? st->err.message : "unknown error");
    return DECLINED;
}

/* ---- PingOneConsent On: check_authz hook, before mod_authz_core --------- */

int pc_check_authz(request_rec *r)
{
    pc_dir_conf *dc =
        ap_get_module_config(r->per_dir_config, &pingone_consent_module);
    pc_req_state *st;
    pc_verdict_t v;

    if (dc->enabled != 1 && !dc->require_used)
        return DECLINED;
    st = lookup(r, dc);
    switch (st->state) {
    case PC_ST_NOUSER:
        return DECLINED;
    case PC_ST_CONFIG:
        apr_table_setn(r->notes, PC_NOTE, st->reason);
        return HTTP_INTERNAL_SERVER_ERROR;
    case PC_ST_ERROR:
        /* PingOneConsent On needs the consent: fail closed (503).  With
         * Require lines only, other lines may decide without it. */
        if (dc->enabled == 1)
            return unavailable(r, st);
        return require_error_pass(r, st);
    default:
        break;
    }
    if (dc->enabled != 1)
        return require_pass(r, dc, st);
    if (st->state == PC_ST_FAIL_OPEN) {
        export_allow(r, dc, st);
        return DECLINED;
    }
    if (st->state == PC_ST_BADUSER) {
        v.reason = st->reason;
        v.result = PC_DENY_NONE;
    }
    else {
        pc_decide(&v, st->consent, dc->scopes, apr_time_now(), r->pool);
    }
    if (v.result == PC_ALLOW) {
        export_allow(r, dc, st);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "PC00112: consent allows user %s", st->user_id);
        return DECLINED; /* let Require and other authz run as configured */
    }
    log_deny(r, dc, st, v.reason);
    if (dc->deny_redirect) {
        apr_table_setn(r->headers_out, "Location", deny_location(r, dc));
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_MOVED_TEMPORARILY;
    }
    return HTTP_FORBIDDEN;
}

/* ---- Require pingone-consent [scope ...] -------------------------------- */

static const char *pc_parse_require(cmd_parms *cmd, const char *line,
                                    const void **parsed)
{
    apr_array_header_t *scopes = apr_array_make(cmd->pool, 4,
                                                sizeof(const char *));
    const char *w, *err;
    pc_dir_conf *dc;

    while (*(w = ap_getword_conf(cmd->temp_pool, &line)) != '\0') {
        if ((err = pc_check_scope(cmd->pool, w)) != NULL)
            return apr_pstrcat(cmd->pool, "Require pingone-consent: ", err,
                               NULL);
        APR_ARRAY_PUSH(scopes, const char *) = apr_pstrdup(cmd->pool, w);
    }
    *parsed = scopes;
    /* Tell the check_authz hook that this section needs a lookup.  Our
     * per-section config exists only once one of our directives appeared
     * in the section, so create it if this Require line comes first. */
    if (cmd->context) {
        dc = ap_set_config_vectors(cmd->server, cmd->context, cmd->path,
                                   &pingone_consent_module, cmd->pool);
        if (dc) {
            dc->require_used = 1;
            if (dc->require_lines == NULL)
                dc->require_lines = apr_array_make(
                    cmd->pool, 2, sizeof(apr_array_header_t *));
            APR_ARRAY_PUSH(dc->require_lines, apr_array_header_t *) = scopes;
            pc_note_use(cmd, dc);
        }
    }
    return NULL;
}

static authz_status pc_authz_check(request_rec *r, const char *line,
                                   const void *parsed)
{
    pc_dir_conf *dc =
        ap_get_module_config(r->per_dir_config, &pingone_consent_module);
    const apr_array_header_t *scopes = parsed;
    pc_req_state *st;
    pc_verdict_t v;
    (void)line;

    if (scopes == NULL || scopes->nelts == 0)
        scopes = dc->scopes;
    st = lookup(r, dc);
    switch (st->state) {
    case PC_ST_NOUSER:
        return AUTHZ_DENIED_NO_USER;
    case PC_ST_CONFIG:
    case PC_ST_ERROR:
        /* Answered by pc_check_authz (500, or 503 once it sees that the
         * Require lines reach this one: require_error_pass). */
        if (st->state == PC_ST_ERROR) {
            st->provider_failed = 1;
            unavailable(r, st);
        }
        return AUTHZ_GENERAL_ERROR;
    case PC_ST_FAIL_OPEN:
        export_allow(r, dc, st);
        return AUTHZ_GRANTED;
    case PC_ST_BADUSER:
        v.result = PC_DENY_NONE;
        v.reason = st->reason;
        break;
    default:
        pc_decide(&v, st->consent, scopes, apr_time_now(), r->pool);
    }
    if (v.result == PC_ALLOW) {
        export_allow(r, dc, st);
        return AUTHZ_GRANTED;
    }
    log_deny(r, dc, st, v.reason);
    st->provider_denied = 1;
    return AUTHZ_DENIED;
}

/* Runs `PingOneConsent On` for requests whose authorization needed no
 * authentication pass (e.g. `Require all granted` with the user taken from
 * env:NAME), so the check cannot be skipped by the shape of the Require
 * lines. */
int pc_fixups(request_rec *r)
{
    pc_dir_conf *dc =
        ap_get_module_config(r->per_dir_config, &pingone_consent_module);
    pc_req_state *st =
        ap_get_module_config(r->request_config, &pingone_consent_module);

    if (dc->enabled != 1 || r->main != NULL ||
        (st && st->state != PC_ST_NONE && st->state != PC_ST_NOUSER))
        return DECLINED;
    return pc_check_authz(r);
}

const authz_provider pc_authz_provider = {
    &pc_authz_check,
    &pc_parse_require,
};

/*
 * pc_access.c - the consent check on a request: the access-phase hook for
 * `PingOneConsent On`, the `Require pingone-consent` authz provider, and
 * what both share (finding the user, asking PingOne once per request,
 * exporting the result).
 */
#include "pc_apache.h"
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
    /* APLOG_MARK would name this file for every message; that is fine, the
     * PC tags say where they come from. */
    ap_log_rerror(APLOG_MARK, level, 0, r, "PC00100: %s", msg);
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

/* Ask PingOne (at most once per request) for the consent that counts. */
static pc_req_state *lookup(request_rec *r, const pc_dir_conf *dc)
{
    pc_req_state *st = req_state(r);
    pc_srv_conf *sc;
    pc_client_t client;
    apr_array_header_t *consents;
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
        const char *id;
        if (pc_scim_quote(r->pool, user) == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PC00104: user name '%s' cannot be looked up "
                          "(empty, over %d bytes, control characters or not "
                          "UTF-8): deny",
                          pc_log_safe(r->pool, user, 64), PC_MAX_NAME_LEN);
            set_bad_user(st, "deny:bad-user");
            return st;
        }
        if (pc_client_find_user(&id, &client, user, &st->err, r->pool) !=
            APR_SUCCESS) {
            st->state = PC_ST_ERROR;
            return st;
        }
        if (id == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PC00105: PingOne has no (unique) user named '%s': "
                          "deny", pc_log_safe(r->pool, user, 64));
            set_bad_user(st, "deny:unknown-user");
            return st;
        }
        st->user_id = id;
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

    if (pc_client_get_consents(&consents, &client, st->user_id, dc->app_id,
                               dc->app_name, &st->err,
                               r->pool) != APR_SUCCESS) {
        if (st->err.kind == PC_E_NOT_FOUND) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "PC00107: PingOne does not know user %s: deny",
                          st->user_id);
            set_bad_user(st, "deny:unknown-user");
        }
        else {
            st->state = PC_ST_ERROR;
        }
        return st;
    }
    st->consent = pc_select_consent(consents, dc->app_id, dc->app_name);
    st->state = PC_ST_FOUND;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "PC00108: user %s, application %s: %d consent(s), most "
                  "recent %s (%s)",
                  st->user_id,
                  dc->app_id ? dc->app_id
                             : pc_log_safe(r->pool, dc->app_name, 100),
                  consents->nelts,
                  st->consent ? st->consent->id : "-",
                  st->consent ? pc_log_safe(r->pool, st->consent->status, 32)
                              : "none");
    return st;
}

/* ---- outcomes ----------------------------------------------------------- */

static void export_allow(request_rec *r, const pc_dir_conf *dc,
                         const pc_req_state *st)
{
    const pc_consent_t *c = st->consent;
    apr_table_t *e = r->subprocess_env;

    apr_table_setn(e, "PINGONE_CONSENT_ID", c->id);
    apr_table_setn(e, "PINGONE_CONSENT_STATUS", c->status);
    apr_table_setn(e, "PINGONE_CONSENT_SCOPES",
                   pc_scopes_join(r->pool, c->scopes));
    if (c->app_name || dc->app_name)
        apr_table_setn(e, "PINGONE_APPLICATION_NAME",
                       c->app_name ? c->app_name : dc->app_name);
    apr_table_setn(e, "PINGONE_USER_ID", st->user_id);
    apr_table_setn(e, "PINGONE_CONSENT_SOURCE", "pingone");
    apr_table_setn(r->notes, PC_NOTE, "allow");
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
        /* Fail closed, also for Require: a Require line cannot answer 503. */
        return unavailable(r, st);
    default:
        break;
    }
    if (dc->enabled != 1)
        return DECLINED; /* Require only: the provider judges */
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
    /* Tell the check_authz hook that this section needs a lookup. */
    if (cmd->context) {
        dc = ap_get_module_config(cmd->context, &pingone_consent_module);
        if (dc) {
            dc->require_used = 1;
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
        /* Normally answered by pc_check_authz already (503/500). */
        if (st->state == PC_ST_ERROR)
            unavailable(r, st);
        return AUTHZ_GENERAL_ERROR;
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
    /* The user is authenticated; re-authenticating cannot help.  With an
     * AuthType set, mod_authz_core would answer 401 and the browser would
     * prompt again, so hide the AuthType for the rest of the authz pass
     * (it is restored in fixups if another Require grants access) to get
     * a 403, and turn that 403 into the redirect when one is configured. */
    if (!st->auth_type_cleared) {
        st->saved_auth_type = r->ap_auth_type;
        st->auth_type_cleared = 1;
    }
    r->ap_auth_type = NULL;
    if (dc->deny_redirect)
        ap_custom_response(r, HTTP_FORBIDDEN, deny_location(r, dc));
    return AUTHZ_DENIED;
}

/* Restores what the provider hid, and runs `PingOneConsent On` for
 * requests whose authorization needed no authentication pass (e.g.
 * `Require all granted` with the user taken from env:NAME), so the check
 * cannot be skipped by the shape of the Require lines. */
int pc_fixups(request_rec *r)
{
    pc_dir_conf *dc =
        ap_get_module_config(r->per_dir_config, &pingone_consent_module);
    pc_req_state *st =
        ap_get_module_config(r->request_config, &pingone_consent_module);
    int rc;

    if (st && st->auth_type_cleared && r->ap_auth_type == NULL)
        r->ap_auth_type = (char *)st->saved_auth_type;
    if (dc->enabled != 1 || r->main != NULL ||
        (st && st->state != PC_ST_NONE && st->state != PC_ST_NOUSER))
        return DECLINED;
    rc = pc_check_authz(r);
    return rc == DECLINED ? DECLINED : rc;
}

const authz_provider pc_authz_provider = {
    &pc_authz_check,
    &pc_parse_require,
};

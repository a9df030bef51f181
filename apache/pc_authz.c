/*
 * pc_authz.c - `Require pingone-consent [scope ...]`: the authz provider
 * (parsed at config time, checked per request), and the two passes of
 * mod_authz_core's Require lines that the check_authz hook runs so that a
 * denial by this provider answers 403 (not 401) and an outage 503.
 */
#include "pc_apache.h"
#include "pc_parse.h"
#include "pc_text.h"

#include "http_log.h"
#include "http_request.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

/* 1 when every `Require pingone-consent` line of the section allows: none
 * of them can then be the reason for a denial. */
static int every_line_allows(request_rec *r, const pc_dir_conf *dc,
                             const pc_req_state *st)
{
    int i;

    if (st->state != PC_ST_FOUND || dc->require_lines == NULL)
        return 0;
    for (i = 0; i < dc->require_lines->nelts; i++) {
        const apr_array_header_t *sc =
            APR_ARRAY_IDX(dc->require_lines, i, apr_array_header_t *);
        pc_verdict_t v;
        pc_decide(&v, st->consent, sc->nelts ? sc : dc->scopes,
                  apr_time_now(), r->pool);
        if (v.result != PC_ALLOW)
            return 0;
    }
    return 1;
}

/* `Require pingone-consent` with an authenticated user.  mod_authz_core
 * answers a denial after authentication with 401 whenever an AuthType is
 * set, which would send a user without consent back to the login prompt.
 * Its pre-authentication pass (access_checker_ex) answers a denial with
 * 403 instead, so run that pass now that the user is known: when the
 * Require lines deny because our provider denied, the answer is 403 (or
 * the configured redirect).  Anything else is left to mod_authz_core. */
int pc_require_pass(request_rec *r, const pc_dir_conf *dc, pc_req_state *st)
{
    int rc;

    /* When our lines all allow, leave everything to mod_authz_core (and
     * do not run other providers twice). */
    if (every_line_allows(r, dc, st))
        return DECLINED;
    st->provider_denied = 0;
    rc = ap_run_access_checker_ex(r);
    if (rc == OK || rc == DECLINED || !st->provider_denied)
        return DECLINED;
    return pc_deny_status(r, dc);
}

/* `Require pingone-consent` while PingOne cannot answer.  Run the Require
 * lines now (mod_authz_core's pass, as in pc_require_pass): when
 * evaluation reaches our line, this request needed the consent, and it is
 * refused with 503 and Retry-After (the provider itself could only make it
 * a 500).  When other lines decide first - a <RequireAny> line before ours
 * that grants, a <RequireAll> line before ours that denies - their answer
 * stands, as it would if PingOne were up. */
int pc_require_error_pass(request_rec *r, pc_req_state *st)
{
    st->provider_failed = 0;
    ap_run_access_checker_ex(r);
    if (st->provider_failed)
        return HTTP_SERVICE_UNAVAILABLE; /* pc_unavailable ran in the provider */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00115: cannot check consent for user %s (%s); other "
                  "Require lines decide this request without it",
                  pc_log_safe(r->pool, st->user, 64),
                  st->err.message ? st->err.message : "unknown error");
    return DECLINED;
}

static const char *parse_require(cmd_parms *cmd, const char *line,
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

static authz_status check(request_rec *r, const char *line,
                          const void *parsed)
{
    pc_dir_conf *dc = pc_dir(r);
    const apr_array_header_t *scopes = parsed;
    pc_req_state *st;
    pc_verdict_t v;
    (void)line;

    if (scopes == NULL || scopes->nelts == 0)
        scopes = dc->scopes;
    st = pc_request_lookup(r, dc);
    switch (st->state) {
    case PC_ST_NOUSER:
        return AUTHZ_DENIED_NO_USER;
    case PC_ST_ERROR:
        /* 503 once pc_check_authz sees that the Require lines reach this
         * one (pc_require_error_pass). */
        st->provider_failed = 1;
        pc_unavailable(r, st);
        return AUTHZ_GENERAL_ERROR;
    case PC_ST_CONFIG:
        return AUTHZ_GENERAL_ERROR;   /* 500, from pc_check_authz */
    case PC_ST_FAIL_OPEN:
        pc_export_allow(r, dc, st);
        return AUTHZ_GRANTED;
    case PC_ST_BADUSER:
        v.result = PC_DENY_NONE;
        v.reason = st->reason;
        break;
    default:
        pc_decide(&v, st->consent, scopes, apr_time_now(), r->pool);
    }
    if (v.result == PC_ALLOW) {
        pc_export_allow(r, dc, st);
        return AUTHZ_GRANTED;
    }
    pc_log_deny(r, dc, st, v.reason);
    st->provider_denied = 1;
    return AUTHZ_DENIED;
}

const authz_provider pc_authz_provider = {
    &check,
    &parse_require,
};

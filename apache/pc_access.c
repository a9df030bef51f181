/*
 * pc_access.c - the access-phase hooks for `PingOneConsent On`
 * (check_authz, and fixups: the last word for every request, main request,
 * subrequest or internal redirect, whose own section says On).  The
 * request's lookup is in pc_request.c, `Require pingone-consent` in
 * pc_authz.c, how a decision becomes a response in pc_respond.c.
 */
#include "pc_apache.h"
#include "pc_handlers.h"
#include "pc_metrics.h"
#include "pc_text.h"

#include "http_log.h"
#include "http_request.h"

APLOG_USE_MODULE(pingone_consent);

/* The verdict of the consent (or the bad user) for dc's scopes. */
static void verdict(pc_verdict_t *v, request_rec *r, const pc_dir_conf *dc,
                    const pc_req_state *st)
{
    if (st->state == PC_ST_BADUSER) {
        v->reason = st->reason;
        v->result = PC_DENY_NONE;
        return;
    }
    pc_decide(v, st->consent, dc->scopes, apr_time_now(), r->pool);
}

/* A request that reached the end of the access phases with no identity at
 * all: PingOneConsent On cannot check it, so it is refused. */
static int no_identity(request_rec *r, const pc_dir_conf *dc)
{
    apr_table_setn(r->notes, PC_NOTE, "deny:no-user-id");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00117: %s has no identity (%s) although PingOneConsent "
                  "is On there: refused (403)",
                  pc_log_safe(r->pool, r->uri, 200),
                  dc->user_env ? dc->user_env : "REMOTE_USER");
    return HTTP_FORBIDDEN;
}

/* PingOneConsent On for this request: DECLINED lets it go on.  last_word:
 * the request would be served if this let it go (fixups), so a request
 * without identity is refused; before that, authentication may still
 * name the user. */
static int consent_gate(request_rec *r, const pc_dir_conf *dc,
                        pc_req_state *st, int last_word)
{
    pc_verdict_t v;

    switch (st->state) {
    case PC_ST_NOUSER:
        return last_word ? no_identity(r, dc) : DECLINED;
    case PC_ST_CONFIG:
        apr_table_setn(r->notes, PC_NOTE, st->reason);
        pc_metrics_decision(r, st->reason, NULL);
        return HTTP_INTERNAL_SERVER_ERROR;
    case PC_ST_ERROR:
        return pc_unavailable(r, st);  /* PingOneConsent On fails closed */
    case PC_ST_FAIL_OPEN:
        pc_export_allow(r, dc, st);
        st->gated = dc;
        return DECLINED;
    default:
        break;
    }
    verdict(&v, r, dc, st);
    if (v.result == PC_ALLOW) {
        pc_export_allow(r, dc, st);
        st->gated = dc;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "PC00112: consent allows user %s", st->user_id);
        return DECLINED; /* let Require and other authz run as configured */
    }
    pc_log_deny(r, dc, st, v.reason);
    return pc_deny_status(r, dc);
}

int pc_check_authz(request_rec *r)
{
    pc_dir_conf *dc = pc_dir(r);
    int gate = dc->enabled && !pc_endpoint_mounted(r);
    pc_req_state *st;

    if (!gate && !dc->require_used)
        return DECLINED;
    st = pc_request_lookup(r, dc);
    if (gate)
        return consent_gate(r, dc, st, 0);
    switch (st->state) {
    case PC_ST_NOUSER:
        return DECLINED;
    case PC_ST_CONFIG:
        apr_table_setn(r->notes, PC_NOTE, st->reason);
        return HTTP_INTERNAL_SERVER_ERROR;
    case PC_ST_ERROR:
        /* Other Require lines may decide without the consent. */
        return pc_require_error_pass(r, st);
    default:
        return pc_require_pass(r, dc, st);
    }
}

/* The last word of `PingOneConsent On`, for every request whose own section
 * says On - main request, subrequest (mod_include, mod_dir, mod_negotiation,
 * mod_autoindex, mod_rewrite's look-ahead...) or internal redirect - and
 * whatever its Require lines let through without an authorization pass.
 * A request that check_authz already let pass under the same settings goes
 * on at once; a subrequest of the same user takes over what its main
 * request learned (pc_request_lookup).  The module's own endpoints, where
 * the server configuration mounts them, have their own access control
 * (PingOne calls the webhook without any identity). */
int pc_fixups(request_rec *r)
{
    pc_dir_conf *dc = pc_dir(r);
    pc_req_state *st;
    int rc;

    if (!dc->enabled)
        return DECLINED;
    st = pc_request_state(r);
    if (st->gated == dc || pc_endpoint_mounted(r))
        return DECLINED;
    rc = consent_gate(r, dc, pc_request_lookup(r, dc), 1);
    if (rc != DECLINED && r->main)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00118: subrequest for %s made by %s refused (%d)",
                      pc_log_safe(r->pool, r->uri, 200),
                      pc_log_safe(r->pool, r->main->uri, 200), rc);
    return rc;
}

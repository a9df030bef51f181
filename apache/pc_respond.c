/*
 * pc_respond.c - how a decision becomes a response: on allow, the
 * PINGONE_* variables and the note; on deny, the log line and a 403 or the
 * redirect to the consent page; when PingOne could not answer, 503 with
 * Retry-After.
 */
#include "pc_apache.h"
#include "pc_metrics.h"
#include "pc_text.h"

#include "http_log.h"
#include "http_core.h"
#include "http_protocol.h"

#include <apr_strings.h>
#include <apr_uri.h>

APLOG_USE_MODULE(pingone_consent);

void pc_export_allow(request_rec *r, const pc_dir_conf *dc,
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
    pc_metrics_decision(r, "allow", st->source ? st->source : "pingone");
}

void pc_log_deny(request_rec *r, const pc_dir_conf *dc,
                 const pc_req_state *st, const char *reason)
{
    apr_table_setn(r->notes, PC_NOTE, reason);
    pc_metrics_decision(r, reason, st->source);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "PC00110: consent %s for user %s, application %s: %s%s",
                  "denied", pc_log_safe(r->pool, st->user, 64),
                  dc->app_id ? dc->app_id
                             : pc_log_safe(r->pool, dc->app_name, 100),
                  reason, dc->deny_redirect ? " (redirecting)" : "");
}

/* The URL to come back to after consenting: the path and query of the
 * request line as the client sent them (the initial request's, even from
 * a subrequest or after an internal redirect), parsed, under this
 * server's own scheme, name and port as httpd builds self-referential URLs
 * (ServerName or Host per UseCanonicalName).  Never the request target as
 * is: an absolute-form target (GET http://host/path) would bring the
 * client's host name along. */
static const char *return_url(request_rec *r)
{
    const request_rec *first = r;
    const char *target;
    apr_uri_t u;

    while (first->main || first->prev)
        first = first->main ? first->main : first->prev;
    target = first->unparsed_uri ? first->unparsed_uri : "/";
    while (target[0] == '/' && target[1] == '/')
        target++; /* a path, as httpd reads it, not a network path */
    if (apr_uri_parse(r->pool, target, &u) != APR_SUCCESS ||
        u.path == NULL || u.path[0] != '/')
        u.path = "/";
    return ap_construct_url(r->pool,
                            u.query ? apr_pstrcat(r->pool, u.path, "?",
                                                  u.query, NULL)
                                    : u.path,
                            r);
}

/* The redirect target for a user without consent, with return_to. */
static const char *deny_location(request_rec *r, const pc_dir_conf *dc)
{
    const char *target = dc->deny_redirect;
    const char *back = return_url(r);

    if (target[0] == '/')
        target = ap_construct_url(r->pool, target, r);
    return apr_pstrcat(r->pool, target, strchr(target, '?') ? "&" : "?",
                       "return_to=", pc_url_encode(r->pool, back), NULL);
}

int pc_deny_status(request_rec *r, const pc_dir_conf *dc)
{
    if (dc->deny_redirect == NULL)
        return HTTP_FORBIDDEN;
    apr_table_setn(r->headers_out, "Location", deny_location(r, dc));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

int pc_unavailable(request_rec *r, pc_req_state *st)
{
    st->reason = apr_pstrcat(r->pool, "error:",
                             st->err.tag ? st->err.tag : "upstream", NULL);
    apr_table_setn(r->notes, PC_NOTE, st->reason);
    pc_metrics_decision(r, st->reason, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "PC00111: cannot check consent for user %s, so the request "
                  "is refused (503): %s",
                  pc_log_safe(r->pool, st->user, 64),
                  st->err.message ? st->err.message : "unknown error");
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, st->retry_after > 0
                                         ? st->retry_after
                                         : PC_DEFAULT_RETRY_AFTER));
    return HTTP_SERVICE_UNAVAILABLE;
}

/*
 * pc_webhook_recv.c - `SetHandler pingone-consent-webhook`: PingOne pushes
 * ACTIVITY events (a subscription); consent revokes and user removals drop
 * the user's cached decisions.  Deliveries authenticate with an exact
 * Authorization header (PingOneWebhookAuthorization), compared in constant
 * time.
 */
#include "pc_apache.h"
#include "pc_dcache.h"
#include "pc_handlers.h"
#include "pc_json.h"
#include "pc_revoke.h"
#include "pc_segment.h"
#include "pc_text.h"
#include "pc_webhook.h"

#include "http_log.h"
#include "http_protocol.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_WEBHOOK_MAX_BODY (1024 * 1024)

/* The delivery's events, once it is authenticated and readable: DECLINED
 * (go on) with *events, or the handler's status after answering. */
static int accept_delivery(request_rec *r, apr_array_header_t **events)
{
    pc_dir_conf *dc = pc_dir(r);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *err;
    char *body;
    apr_size_t len;
    int rc;

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
        return pc_fail_json(r, HTTP_UNAUTHORIZED, "unauthorized");
    }
    if ((rc = pc_read_body(r, PC_WEBHOOK_MAX_BODY, &body, &len)) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00202: webhook delivery body refused (HTTP %d; "
                      "limit %d bytes); nothing changed", rc,
                      PC_WEBHOOK_MAX_BODY);
        return rc == HTTP_REQUEST_ENTITY_TOO_LARGE
                   ? pc_fail_json(r, rc, "body too large")
                   : rc;
    }
    if (pc_webhook_parse(events, body, len, r->pool, &err) != APR_SUCCESS) {
        pc_count(PC_CNT_WEBHOOK_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00203: webhook delivery is not PingOne ACTIVITY "
                      "JSON (%s); nothing changed", err);
        return pc_fail_json(r, HTTP_BAD_REQUEST, err);
    }
    return DECLINED;
}

int pc_webhook_handler(request_rec *r)
{
    apr_array_header_t *events;
    pc_revoke_result_t res;
    pc_ctx_t c = pc_ctx_of(r);
    pc_jw_t *w;
    int rc;

    if ((rc = accept_delivery(r, &events)) != DECLINED)
        return rc;
    pc_revoke_apply(&res, events, "webhook", PC_CNT_WEBHOOK_DROPPED, &c);
    w = pc_jw_make(r->pool);
    pc_jw_object(w, NULL);
    if (res.failed) {
        /* PingOne retries the delivery until it gets 200: dropping a user
         * again is harmless, losing a revocation is not. */
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        pc_jw_str(w, "error", "the decision cache failed: not every purge "
                              "took effect");
    }
    else {
        pc_count(PC_CNT_WEBHOOK_OK);
    }
    pc_jw_int(w, "events", res.events);
    pc_jw_int(w, "users_dropped", res.users_dropped);
    pc_jw_int(w, "entries_removed", res.entries_removed);
    pc_jw_int(w, "ignored", res.ignored);
    if (res.failed)
        pc_jw_int(w, "users_failed", res.failed);
    return pc_send_json(r, res.failed ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK,
                        pc_jw_text(w));
}

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
#include "pc_segment.h"
#include "pc_text.h"
#include "pc_webhook.h"

#include "http_log.h"
#include "http_protocol.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define PC_WEBHOOK_MAX_BODY (1024 * 1024)

int pc_webhook_handler(request_rec *r)
{
    pc_dir_conf *dc = pc_dir(r);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    apr_array_header_t *events;
    const char *err;
    char *body;
    apr_size_t len;
    int rc, i, n, dropped = 0, ignored = 0, removed = 0, failed = 0;

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
    if (pc_webhook_parse(&events, body, len, r->pool, &err) != APR_SUCCESS) {
        pc_count(PC_CNT_WEBHOOK_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00203: webhook delivery is not PingOne ACTIVITY "
                      "JSON (%s); nothing changed", err);
        return pc_fail_json(r, HTTP_BAD_REQUEST, err);
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
        if (pc_dcache_purge_user(&n, ev->user_id, NULL, r) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "PC00206: webhook %s: the cached decisions of user "
                          "%s could not be dropped (the decision cache "
                          "failed); answering 503 so PingOne retries",
                          pc_log_safe(r->pool, ev->type, 64), ev->user_id);
            failed++;
            continue;
        }
        removed += n;
        pc_count(PC_CNT_WEBHOOK_DROPPED);
        dropped++;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00204: webhook %s: dropped cached decisions of "
                      "user %s", pc_log_safe(r->pool, ev->type, 64),
                      ev->user_id);
    }
    if (failed) {
        /* PingOne retries the delivery until it gets 200: dropping a user
         * again is harmless, losing a revocation is not. */
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return pc_send_json(r, HTTP_SERVICE_UNAVAILABLE,
                            apr_psprintf(r->pool,
                                         "{\"error\":\"the decision cache "
                                         "failed: not every purge took "
                                         "effect\",\"events\":%d,"
                                         "\"users_failed\":%d}",
                                         events->nelts, failed));
    }
    pc_count(PC_CNT_WEBHOOK_OK);
    return pc_send_json(r, HTTP_OK,
                     apr_psprintf(r->pool,
                                  "{\"events\":%d,\"users_dropped\":%d,"
                                  "\"entries_removed\":%d,\"ignored\":%d}",
                                  events->nelts, dropped, removed, ignored));
}


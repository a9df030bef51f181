/*
 * pc_handlers.c - the handler dispatcher and what the handlers share
 * (see pc_handlers.h).
 */
#include "pc_apache.h"
#include "pc_handlers.h"
#include "pc_json.h"
#include "pc_metrics.h"
#include "pc_text.h"

#include "http_protocol.h"

#include <apr_strings.h>

int pc_read_body(request_rec *r, apr_size_t max, char **out,
                     apr_size_t *len)
{
    char *buf;
    apr_size_t used = 0;
    long n;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (r->remaining > (apr_off_t)max)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    buf = apr_palloc(r->pool, max + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + used, max + 1 - used)) > 0) {
            used += (apr_size_t)n;
            if (used > max)
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (n < 0)
            return HTTP_BAD_REQUEST;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return OK;
}

int pc_send_json(request_rec *r, int status, const char *json)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs(json, r);
    ap_rputs("\n", r);
    return OK;
}

int pc_fail_json(request_rec *r, int status, const char *why)
{
    pc_jw_t *w = pc_jw_make(r->pool);

    pc_jw_object(w, NULL);
    pc_jw_str(w, "error", why);
    return pc_send_json(r, status, pc_jw_text(w));
}

int pc_handler(request_rec *r)
{
    if (r->handler == NULL)
        return DECLINED;
    if (strcmp(r->handler, "pingone-consent-webhook") == 0)
        return pc_webhook_handler(r);
    if (strcmp(r->handler, "pingone-consent-admin") == 0)
        return pc_admin_handler(r);
    if (strcmp(r->handler, "pingone-consent-metrics") == 0)
        return pc_metrics_handler(r);
    return DECLINED;
}

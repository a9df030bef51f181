/*
 * pc_log.c - the core's messages into httpd's error log (see pc_log.h).
 * APLOG_MARK names this file for every message; the PC tag in the message
 * says where it comes from.
 */
#include "pc_log.h"

#include "http_log.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

pc_ctx_t pc_ctx_of(request_rec *r)
{
    pc_ctx_t c = {r, r->server, r->pool};
    return c;
}

pc_ctx_t pc_ctx_server(server_rec *s, apr_pool_t *p)
{
    pc_ctx_t c = {NULL, s, p};
    return c;
}

static void emit(const pc_ctx_t *c, int level, apr_status_t rv,
                 const char *msg)
{
    if (c->r)
        ap_log_rerror(APLOG_MARK, level, rv, c->r, "%s", msg);
    else
        ap_log_error(APLOG_MARK, level, rv, c->s, "%s", msg);
}

void pc_log_ctx_fn(void *baton, int level, const char *msg)
{
    emit(baton, level, 0, msg);
}

void pc_log_request(void *baton, int level, const char *msg)
{
    ap_log_rerror(APLOG_MARK, level, 0, (request_rec *)baton, "%s", msg);
}

void pc_log(const pc_ctx_t *c, int level, apr_status_t rv, const char *fmt,
            ...)
{
    va_list ap;

    /* Format only what the log level will keep. */
    if (c->r ? !APLOG_R_IS_LEVEL(c->r, level) : !APLOG_IS_LEVEL(c->s, level))
        return;
    va_start(ap, fmt);
    emit(c, level, rv, apr_pvsprintf(c->p, fmt, ap));
    va_end(ap);
}

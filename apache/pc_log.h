/*
 * pc_log.h - logging for the glue: the one bridge from the core's log
 * callback (pc_log_fn in pc_client.h: syslog levels, messages that start
 * with their PC tag) to httpd's error log, and the context that work runs
 * in - a request, or (background work, such as a watchdog) just a server
 * and a pool.
 */
#ifndef PC_LOG_H
#define PC_LOG_H

#include "httpd.h"

/* Where something runs: r may be NULL (no request); s and p never are. */
typedef struct pc_ctx_t {
    request_rec *r;
    server_rec *s;
    apr_pool_t *p;
} pc_ctx_t;

/* The context of a request. */
pc_ctx_t pc_ctx_of(request_rec *r);
/* The context of work for server s, allocating from p. */
pc_ctx_t pc_ctx_server(server_rec *s, apr_pool_t *p);

/* pc_log_fn for a context: baton is a pc_ctx_t. */
void pc_log_ctx_fn(void *baton, int level, const char *msg);
/* pc_log_fn for a request: baton is the request_rec. */
void pc_log_request(void *baton, int level, const char *msg);

/* Log a message (that starts with its PC tag) in context c: on the
 * request when there is one, else on the server. */
void pc_log(const pc_ctx_t *c, int level, apr_status_t rv, const char *fmt,
            ...) __attribute__((format(printf, 4, 5)));

#endif

/*
 * pc_handlers.h - what the module's handlers share: reading a request
 * body, answering JSON.  The handlers themselves: pc_webhook_recv.c
 * (`SetHandler pingone-consent-webhook`), pc_admin.c
 * (`SetHandler pingone-consent-admin`); the mod_status hook: pc_status.c.
 */
#ifndef PC_HANDLERS_H
#define PC_HANDLERS_H

#include "httpd.h"

/* The request body, at most `max` bytes, NUL terminated: OK, or an HTTP
 * status (413 when larger, 400 when it cannot be read). */
int pc_read_body(request_rec *r, apr_size_t max, char **out, apr_size_t *len);

/* Answer `json` (one JSON text) with `status`, not cacheable. */
int pc_send_json(request_rec *r, int status, const char *json);

/* Answer {"error": why}. */
int pc_fail_json(request_rec *r, int status, const char *why);

/* post_config: note where the server configuration mounts handlers
 * (SetHandler); the handlers run nowhere else. */
int pc_handlers_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);

/* 1 when the server configuration mounts the webhook or admin handler for
 * r: such a request has its own access control and is not gated by
 * PingOneConsent (PingOne calls the webhook without any identity). */
int pc_endpoint_mounted(request_rec *r);

int pc_webhook_handler(request_rec *r);
int pc_admin_handler(request_rec *r);

#endif

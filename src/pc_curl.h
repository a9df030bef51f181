/*
 * pc_curl.h - the libcurl transport for pc_client (pure core, no httpd).
 *
 * Keeps a small free list of easy handles so that connections (and TLS
 * sessions) to PingOne are reused across requests of one process.
 * Redirects are never followed; only http and https are allowed.
 */
#ifndef PC_CURL_H
#define PC_CURL_H

#include "pc_client.h"

typedef struct pc_curl_t pc_curl_t;

/* Once per process, before any thread starts (curl_global_init). */
apr_status_t pc_curl_global_init(void);

/* A transport living in pool p (handles are cleaned up with it).
 * ca_file may be NULL (the system store: libcurl's built-in CA file and
 * directory); when set, it is the only trust anchor.  ssl_verify 0
 * disables peer and host verification (the caller warns). */
pc_curl_t *pc_curl_create(apr_pool_t *p, const char *ca_file, int ssl_verify);

/* pc_transport_fn; the baton is the pc_curl_t. */
apr_status_t pc_curl_send(void *baton, const pc_http_req_t *req,
                          pc_http_resp_t *resp, apr_pool_t *p);

#endif

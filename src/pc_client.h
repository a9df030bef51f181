/*
 * pc_client.h - the PingOne API client (pure core, no httpd).
 *
 * The client speaks HTTP through a small transport interface (libcurl in
 * production, pc_curl.c; a scripted fake in the unit tests), keeps the
 * worker-app access token in a token store (per process by default; the
 * cache layer may supply a shared one), and turns every failure into a
 * pc_error_t that says what happened without leaking secrets.
 */
#ifndef PC_CLIENT_H
#define PC_CLIENT_H

#include "pc_consent.h"
#include "pc_stats.h"

#include <apr_thread_mutex.h>

/* ---- transport ---------------------------------------------------------- */

typedef struct pc_http_req_t {
    const char *method;        /* "GET", "POST", "PATCH" */
    const char *url;
    const char *authorization; /* whole header value or NULL; secret */
    const char *content_type;  /* for a body, else NULL */
    const char *body;
    apr_size_t body_len;
    int timeout_ms;
    int connect_timeout_ms;
    apr_size_t max_body;       /* larger answers fail with PC_HTTP_TOO_BIG */
    pc_endpoint_e endpoint;    /* what the call is for (the stats hook) */
} pc_http_req_t;

typedef enum {
    PC_HTTP_OK = 0,            /* an HTTP answer arrived (any status) */
    PC_HTTP_TIMEOUT,
    PC_HTTP_CONNECT,           /* refused, DNS, reset before an answer */
    PC_HTTP_TLS,               /* certificate or handshake failure */
    PC_HTTP_TOO_BIG,
    PC_HTTP_FAILED             /* anything else (truncated body, ...) */
} pc_http_outcome_e;

typedef struct pc_http_resp_t {
    pc_http_outcome_e outcome;
    int status;                /* HTTP status when outcome == PC_HTTP_OK */
    const char *body;          /* NUL terminated copy, body_len bytes */
    apr_size_t body_len;
    const char *retry_after;   /* Retry-After header or NULL */
    const char *location;      /* Location header or NULL */
    const char *error;         /* transport error text (no secrets) */
    long elapsed_us;
} pc_http_resp_t;

typedef apr_status_t pc_transport_fn(void *baton, const pc_http_req_t *req,
                                     pc_http_resp_t *resp, apr_pool_t *p);

/* ---- logging ------------------------------------------------------------ */

/* Levels as syslog / httpd: 3 error, 4 warning, 6 info, 7 debug. Every
 * message starts with its own "PCnnnnn: " tag (documented in
 * docs/troubleshooting.md); the callback logs it as is. */
typedef void pc_log_fn(void *baton, int level, const char *msg);

/* ---- counting ------------------------------------------------------------ */

/* Told of every HTTP exchange with PingOne, once it ended: what it was
 * for and how it ended (a status class, or the transport failure). */
typedef void pc_call_stats_fn(void *baton, pc_endpoint_e endpoint,
                              pc_call_class_e cls);

/* ---- token store -------------------------------------------------------- */

#define PC_TOKEN_MAX 8192

typedef enum {
    PC_TOKEN_USE = 0,   /* a valid token was copied into buf */
    PC_TOKEN_FETCH      /* the caller fetches one and must put() or
                           release() afterwards */
} pc_token_get_e;

typedef struct pc_token_store_t {
    /* A token usable at `now` into buf, or PC_TOKEN_FETCH.  A store shared
     * by several processes lets exactly one of them fetch: while it does,
     * the others keep using the current token if it is still valid, or
     * wait (at most wait_ms) for the new one. */
    pc_token_get_e (*get)(void *baton, apr_time_t now, int wait_ms,
                          char *buf, apr_size_t size);
    /* A new token: refresh it from `refresh_at`, unusable from `expires`. */
    void (*put)(void *baton, const char *token, apr_time_t refresh_at,
                apr_time_t expires);
    /* The fetch failed: let another caller try. */
    void (*release)(void *baton);
    /* Forget `token` if it is still the stored one (after a 401). */
    void (*drop)(void *baton, const char *token);
    void *baton;
} pc_token_store_t;

/* An in-process store guarded by a thread mutex (NULL mutex: unthreaded). */
pc_token_store_t *pc_token_store_local(apr_pool_t *p);

/* When a token fetched at `now` with `expires_in` seconds should be
 * refreshed: a margin of 10% of the lifetime (at least 5 s, at most 300 s)
 * before it expires.  Tokens too short for the margin: `now`. */
apr_time_t pc_token_expiry(apr_time_t now, apr_int64_t expires_in);

/* When it must no longer be used: 5 s before it expires (`now` when
 * shorter). */
apr_time_t pc_token_hard_expiry(apr_time_t now, apr_int64_t expires_in);

/* ---- client ------------------------------------------------------------- */

typedef struct pc_client_conf_t {
    const char *api_base;      /* e.g. https://api.pingone.com/v1 */
    const char *auth_base;     /* e.g. https://auth.pingone.com */
    const char *env_id;        /* validated UUID */
    const char *client_id;
    const char *client_secret; /* secret: never logged */
    int auth_post;             /* 1: CLIENT_SECRET_POST, 0: BASIC */
    int timeout_ms;
    int connect_timeout_ms;
    apr_size_t max_body;
} pc_client_conf_t;

typedef struct pc_client_t {
    const pc_client_conf_t *conf;
    pc_transport_fn *send;
    void *transport;
    pc_token_store_t *tokens;
    pc_log_fn *log;            /* may be NULL */
    void *log_baton;
    pc_call_stats_fn *stats;   /* may be NULL */
    void *stats_baton;
} pc_client_t;

typedef enum {
    PC_E_NONE = 0,
    PC_E_TRANSPORT,            /* no usable answer: timeout, refused, TLS... */
    PC_E_STATUS,               /* unexpected HTTP status (5xx, 400, 403...) */
    PC_E_RATE_LIMITED,         /* 429 */
    PC_E_PARSE,                /* answer not as documented */
    PC_E_TOKEN,                /* could not obtain a working access token */
    PC_E_NOT_FOUND             /* 404 for the user / consent / job */
} pc_err_e;

typedef struct pc_error_t {
    pc_err_e kind;
    int http_status;           /* 0 when none */
    const char *retry_after;   /* upstream Retry-After header, or NULL */
    /* Short tag for the request note: "upstream-503", "upstream-timeout",
     * "upstream-connect", "upstream-tls", "upstream-parse",
     * "upstream-429", "upstream-token", "upstream-too-big"... */
    const char *tag;
    const char *message;       /* one line for the error log, no secrets */
} pc_error_t;

/* All calls return APR_SUCCESS, or APR_EGENERAL with *err filled in. */

/* Consents of `user_id` for the application (app_id UUID, or app_name),
 * every page of them: _links.next.href is followed while it stays on the
 * same collection under the configured API base (anything else, or more
 * than PC_MAX_PAGES pages, is a PC_E_PARSE error).
 * A 404 (unknown user) is APR_EGENERAL with kind PC_E_NOT_FOUND. */
#define PC_MAX_PAGES 20
apr_status_t pc_client_get_consents(apr_array_header_t **consents,
                                    pc_client_t *c, const char *user_id,
                                    const char *app_id, const char *app_name,
                                    pc_error_t *err, apr_pool_t *p);

/* One consent by ID (expand=applications). */
apr_status_t pc_client_get_consent(pc_consent_t **consent, pc_client_t *c,
                                   const char *user_id,
                                   const char *consent_id, pc_error_t *err,
                                   apr_pool_t *p);

/* User ID for a username; *user_id NULL when PingOne knows no such user or
 * the answer is ambiguous (logged). */
apr_status_t pc_client_find_user(const char **user_id, pc_client_t *c,
                                 const char *username, pc_error_t *err,
                                 apr_pool_t *p);

/* Any other authorized API call (the audit activities, say): `method` on
 * `url`, with a body of `content_type` when body is not NULL.  APR_SUCCESS
 * only with a 2xx answer in *resp; otherwise *err as for every call (a 429
 * is PC_E_RATE_LIMITED with PingOne's Retry-After).  `what` names the call
 * in messages. */
apr_status_t pc_client_call(pc_http_resp_t *resp, pc_client_t *c,
                            pc_endpoint_e endpoint, const char *method,
                            const char *url, const char *content_type,
                            const char *body, const char *what,
                            pc_error_t *err, apr_pool_t *p);

/* oathJobs/{id}. */
apr_status_t pc_client_get_job(pc_job_t **job, pc_client_t *c,
                               const char *job_id, pc_error_t *err,
                               apr_pool_t *p);

#endif

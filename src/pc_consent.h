/*
 * pc_consent.h - PingOne data model and the readers of PingOne's JSON
 * answers (pure core, no httpd), on top of pc_json.
 *
 * Every reader here takes untrusted bytes from the network.  Rules:
 *  - never read past `len`; the body need not be NUL terminated;
 *  - the text must be strict JSON in valid UTF-8 (pc_json_parse);
 *  - unknown fields are ignored; a known field with the wrong JSON type makes
 *    the whole document invalid (APR_EGENERAL) with a short reason in *err
 *    (err may be NULL); the member conventions are pc_json.h's;
 *  - all output strings are copied into pool `p` (the parsed document is
 *    dropped before return), so results live exactly as long as the pool;
 *  - on failure the outputs are NULL.
 */
#ifndef PC_CONSENT_H
#define PC_CONSENT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "pc_json.h"

/* One OAuth scope consent, as far as the module cares. */
typedef struct pc_consent_t {
    const char *id;            /* consent ID (required) */
    const char *app_id;        /* application.id (may be NULL) */
    const char *app_name;      /* applicationName, or application.name when expanded */
    const char *user_id;       /* user.id (may be NULL) */
    const char *status;        /* "ACCEPTED", "REVOKED", "DECLINED", ... (required) */
    apr_array_header_t *scopes; /* const char *; empty array when absent */
    apr_time_t consented_at;   /* 0 when absent */
    apr_time_t updated_at;     /* 0 when absent */
    apr_time_t expires_at;     /* 0 when absent */
} pc_consent_t;

typedef struct pc_user_t {
    const char *id;
    const char *username;
} pc_user_t;

/* PingOne error body: {"id","code","message","details":[{"code","target","message"}]}. */
typedef struct pc_api_error_t {
    const char *code;          /* e.g. "ACCESS_FAILED" (may be NULL) */
    const char *message;       /* may be NULL */
    const char *detail_code;   /* first details[].code (may be NULL) */
} pc_api_error_t;

typedef struct pc_token_resp_t {
    const char *access_token;  /* secret: never log */
    const char *token_type;    /* "Bearer" */
    apr_int64_t expires_in;    /* seconds; 3600 when absent */
} pc_token_resp_t;

typedef enum {
    PC_JOB_RUNNING = 0,        /* any status other than DONE / FAILED */
    PC_JOB_DONE,
    PC_JOB_FAILED
} pc_job_state_e;

typedef struct pc_job_t {
    const char *id;
    const char *status;        /* as received */
    pc_job_state_e state;
    apr_int64_t revoked;       /* result.revoked, -1 when absent */
    const char *reason;        /* reason on FAILED (may be NULL) */
} pc_job_t;

/* A single consent object (GET .../oauthConsents/{id}). */
apr_status_t pc_json_parse_consent(pc_consent_t **out, const char *body,
                                   apr_size_t len, apr_pool_t *p,
                                   const char **err);

/* A consent collection (GET .../oauthConsents).  Items are taken from
 * _embedded.oauthConsents, or else from the single array found under
 * _embedded.  A collection without _embedded, or with an empty array,
 * yields an empty list.  *out holds pc_consent_t *. */
apr_status_t pc_json_parse_consent_list(apr_array_header_t **out,
                                        const char *body, apr_size_t len,
                                        apr_pool_t *p, const char **err);

/* One page of that collection: as pc_json_parse_consent_list, and *next
 * (when next is non-NULL) is _links.next.href, or NULL on the last page.
 * A _links / _links.next / href of the wrong type fails the parse. */
apr_status_t pc_json_parse_consent_page(apr_array_header_t **out,
                                        const char **next, const char *body,
                                        apr_size_t len, apr_pool_t *p,
                                        const char **err);

/* The same without the streaming pass that drops unread members first
 * (pc_json_slim.h): the fuzz target and the tests check both agree. */
apr_status_t pc_json_parse_consent_page_full(apr_array_header_t **out,
                                             const char **next,
                                             const char *body, apr_size_t len,
                                             apr_pool_t *p, const char **err);

/* A users collection (GET .../users?filter=...): _embedded.users[].
 * *out holds pc_user_t *. */
apr_status_t pc_json_parse_user_list(apr_array_header_t **out,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p, const char **err);

/* Token endpoint answer. access_token is required and must be a non-empty
 * string of printable ASCII (it goes into a header). */
apr_status_t pc_json_parse_token(pc_token_resp_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err);

/* An error body. Never fails on valid JSON of another shape (fields NULL). */
apr_status_t pc_json_parse_error(pc_api_error_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err);

/* oathJobs/{id} answer. */
apr_status_t pc_json_parse_job(pc_job_t **out, const char *body,
                               apr_size_t len, apr_pool_t *p,
                               const char **err);

#endif

/*
 * pc_apache.h - Apache glue shared between mod_pingone_consent.c and the
 * apache/ sources: configuration records, per-request state, entry points.
 */
#ifndef PC_APACHE_H
#define PC_APACHE_H

#include "httpd.h"
#include "http_config.h"
#include "mod_auth.h"

#include "pc_client.h"
#include "pc_decide.h"

/* The only symbol the shared object exports (see tools/module.map). */
extern module AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))
    pingone_consent_module;

#define PC_UNSET (-1)
#define PC_DEFAULT_TIMEOUT_MS 3000
#define PC_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define PC_DEFAULT_MAX_RESPONSE (1024 * 1024)
#define PC_DEFAULT_RETRY_AFTER 5
#define PC_NOTE "pingone-consent"

/* Server / virtual host scope. */
typedef struct pc_srv_conf {
    const char *env_id;
    const char *region;         /* as configured, for messages */
    const char *region_api;     /* from PingOneRegion */
    const char *region_auth;
    const char *api_base;       /* PingOneAPIBaseURL override */
    const char *auth_base;      /* PingOneAuthBaseURL override */
    const char *client_id;
    const char *client_secret;  /* secret */
    int auth_post;              /* PingOneClientAuthMethod post */
    int timeout_ms;
    int connect_timeout_ms;
    const char *ca_file;
    int ssl_verify;
    apr_off_t max_response;
    const char *cache_spec;     /* PingOneConsentCache (main server only) */
    int allow_ttl;              /* PingOneConsentCacheTTL */
    int deny_ttl;
    int stale_if_error;         /* PingOneConsentStaleIfError */
    int fail_open;              /* PingOneConsentFailMode open */

    /* runtime, per child process */
    pc_client_conf_t *cc;
    pc_client_t *client;
} pc_srv_conf;

/* Directory / location scope. */
typedef struct pc_dir_conf {
    int enabled;                /* PingOneConsent */
    int app_set;
    const char *app_id;         /* exactly one of app_id / app_name */
    const char *app_name;
    apr_array_header_t *scopes; /* const char *, NULL when unset */
    int user_from_set;
    const char *user_env;       /* NULL: REMOTE_USER */
    int user_is_name;           /* PingOneConsentUserIs username */
    const char *deny_redirect;
    int require_used;           /* Require pingone-consent in this section */
    apr_array_header_t *require_lines; /* their scope lists (arrays) */
    const char *webhook_auth;   /* PingOneWebhookAuthorization (secret) */
} pc_dir_conf;

/* What one request learned (request_config), shared by the access hook
 * and the authz provider so PingOne is asked at most once per request. */
typedef enum {
    PC_ST_NONE = 0,   /* not looked up yet */
    PC_ST_NOUSER,     /* no authenticated user: the check does not run */
    PC_ST_FOUND,      /* consent (or its absence) known */
    PC_ST_BADUSER,    /* user unusable or unknown: deny */
    PC_ST_ERROR,      /* PingOne failed: 503 */
    PC_ST_FAIL_OPEN,  /* PingOne failed, PingOneConsentFailMode open */
    PC_ST_CONFIG      /* location misconfigured: 500 */
} pc_state_e;

typedef struct pc_req_state {
    pc_state_e state;
    const char *user;           /* as authenticated (for logs) */
    const char *user_id;        /* PingOne user ID */
    const pc_consent_t *consent;/* NULL: none */
    const char *reason;         /* deny/error reason for the note */
    const char *source;         /* cache, pingone, stale, fail-open */
    pc_error_t err;
    int provider_denied;        /* our Require line denied (this pass) */
    int provider_failed;        /* our Require line was reached while
                                   PingOne could not answer */
} pc_req_state;

/* apache/pc_config.c */
extern const command_rec pc_cmds[];
void *pc_create_srv_conf(apr_pool_t *p, server_rec *s);
void *pc_merge_srv_conf(apr_pool_t *p, void *base, void *add);
void *pc_create_dir_conf(apr_pool_t *p, char *dir);
void *pc_merge_dir_conf(apr_pool_t *p, void *base, void *add);
int pc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int pc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s);
void pc_test_config(apr_pool_t *pconf, server_rec *s);
void pc_child_init(apr_pool_t *p, server_rec *s);
/* Records that a section uses the module (for the post-config checks). */
void pc_note_use(cmd_parms *cmd, pc_dir_conf *dc);

/* apache/pc_access.c */
int pc_check_authz(request_rec *r);
int pc_fixups(request_rec *r);
extern const authz_provider pc_authz_provider;

/* apache/pc_handlers.c */
int pc_handler(request_rec *r);
void pc_register_status_hook(void);

#endif

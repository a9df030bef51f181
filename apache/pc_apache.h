/*
 * pc_apache.h - what the Apache glue files share: the configuration
 * records, the per-request state, and each file's entry points.
 *
 * Where state lives (docs/architecture.md):
 *   request      pc_req_state (request_config)
 *   child        the PingOne clients (pc_child.c), per-process copies of
 *                remote-cache caller threads
 *   server       the shared segment (pc_segment.c and its areas)
 *   farm         the remote cache server (pc_dcache.c)
 * The config records below hold configuration only, resolved to effective
 * values once the whole configuration is read (pc_config_resolve).
 */
#ifndef PC_APACHE_H
#define PC_APACHE_H

#include "httpd.h"
#include "http_config.h"
#include "mod_auth.h"

#include "pc_client.h"
#include "pc_decide.h"
#include "pc_lookup.h"
#include "pc_parse.h"

/* The only symbol the shared object exports (see tools/module.map). */
extern module AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))
    pingone_consent_module;

#define PC_UNSET (-1)
#define PC_DEFAULT_TIMEOUT_MS 3000
#define PC_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define PC_DEFAULT_MAX_RESPONSE (1024 * 1024)
#define PC_DEFAULT_RETRY_AFTER 5
#define PC_DEFAULT_ALLOW_TTL 60
#define PC_DEFAULT_DENY_TTL 10
#define PC_DEFAULT_RATE_LIMIT 50
#define PC_DEFAULT_CACHE_ENTRIES 262144
#define PC_DEFAULT_FEED_TTL 3600
/* Shared memory a decision takes in the local table (a 256-byte slot and
 * its share of the bucket header): for sizing and the shmcb conversion. */
#define PC_BYTES_PER_DECISION 264
#define PC_NOTE "pingone-consent"

/* Server / virtual host scope.  Fields marked "raw" are as configured (for
 * merging); after pc_config_resolve every other field holds its effective
 * value, so nothing below is PC_UNSET on the request path. */
typedef struct pc_srv_conf {
    int index;                  /* position in the server list */
    const char *env_id;
    const char *region;         /* raw: as configured, for messages */
    const char *region_api;     /* raw: from PingOneRegion */
    const char *region_auth;
    const char *api_base_set;   /* raw: PingOneAPIBaseURL */
    const char *auth_base_set;  /* raw: PingOneAuthBaseURL */
    const char *api_base;       /* effective (override, region, NA) */
    const char *auth_base;
    const char *client_id;
    const char *client_secret;  /* secret */
    int auth_post;              /* PingOneClientAuthMethod post */
    int timeout_ms;
    int connect_timeout_ms;
    const char *ca_file;
    int ssl_verify;
    apr_off_t max_response;
    const char *cache_spec;     /* PingOneConsentCache (main server only) */
    const pc_cache_spec_t *cache; /* ... parsed; NULL: the default */
    apr_uint64_t cache_size;    /* PingOneConsentCacheSize (main only) */
    int cache_size_set;
    const char *cache_user;     /* PingOneConsentCacheAuth (main only) */
    const char *cache_password; /* ... secret */
    const char *sentinel_user;  /* PingOneConsentCacheSentinelAuth */
    const char *sentinel_password; /* ... secret */
    const struct pc_hmac_t *cache_key; /* PingOneConsentCacheKey */
    int allow_ttl;              /* PingOneConsentCacheTTL */
    int deny_ttl;
    int stale_if_error;         /* PingOneConsentStaleIfError */
    int fail_open;              /* PingOneConsentFailMode open */
    int rate_limit;             /* PingOneRateLimit calls/s, 0: Off (main
                                   server only) */
    int rate_burst;
    int poll_interval;          /* PingOneActivityPoll seconds, 0: Off
                                   (main server only) */
    const apr_array_header_t *revocation_events; /* PingOneRevocationEvents
                                   (const char *; main server only), NULL:
                                   the default types */
    int feed_ttl;               /* PingOneConsentFeedTTL, 0: Off */
    pc_lookup_policy_t policy;  /* the above, as the lookup policy wants */
} pc_srv_conf;

/* Directory / location scope.  Every value is effective as it is (the
 * _set flags only steer merging). */
typedef struct pc_dir_conf {
    int enabled, enabled_set;   /* PingOneConsent */
    int app_set;
    const char *app_id;         /* exactly one of app_id / app_name */
    const char *app_name;
    apr_array_header_t *scopes; /* const char *, NULL when unset */
    int user_from_set;
    const char *user_env;       /* NULL: REMOTE_USER */
    int user_is_name, user_is_set; /* PingOneConsentUserIs username */
    const char *deny_redirect;
    int require_used;           /* Require pingone-consent in this section */
    apr_array_header_t *require_lines; /* their scope lists (arrays) */
    const char *webhook_auth;   /* PingOneWebhookAuthorization (secret) */
    apr_array_header_t *admin_hosts; /* PingOneAdminHosts: host names (or
                                   patterns) the admin endpoint answers */
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
    int retry_after;            /* PC_ST_ERROR: seconds */
    int provider_denied;        /* our Require line denied (this pass) */
    int provider_failed;        /* our Require line was reached while
                                   PingOne could not answer */
    const char *app;            /* the application looked up (ID or name) */
    int user_is_name;           /* st->user was a username */
    const pc_dir_conf *gated;   /* PingOneConsent On let this request pass
                                   under this section's settings */
} pc_req_state;

static inline pc_srv_conf *pc_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &pingone_consent_module);
}

static inline pc_dir_conf *pc_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &pingone_consent_module);
}

static inline const char *pc_app_of(const pc_dir_conf *dc)
{
    return dc->app_id ? dc->app_id : dc->app_name;
}

/* apache/pc_config.c: records and their resolution */
void *pc_create_srv_conf(apr_pool_t *p, server_rec *s);
void *pc_merge_srv_conf(apr_pool_t *p, void *base, void *add);
void *pc_create_dir_conf(apr_pool_t *p, char *dir);
void *pc_merge_dir_conf(apr_pool_t *p, void *base, void *add);
/* Effective values for every server (after the config is read). */
void pc_config_resolve(server_rec *s);

/* apache/pc_directives.c */
extern const command_rec pc_cmds[];

/* apache/pc_validate.c: sections that use the module, and the checks that
 * need the whole configuration */
void pc_validate_reset(void);
void pc_note_use(cmd_parms *cmd, pc_dir_conf *dc);
int pc_any_use(server_rec *s);
const char *pc_validate(apr_pool_t *p, server_rec *s);
void pc_warn_insecure(apr_pool_t *p, server_rec *s);
/* Every environment and application configured, for purges. */
void pc_collect_targets(apr_pool_t *p, server_rec *s,
                        apr_array_header_t **envs, apr_array_header_t **apps);

/* apache/pc_startup.c: lifecycle hooks */
int pc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int pc_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s);
void pc_test_config(apr_pool_t *pconf, server_rec *s);
void pc_child_init(apr_pool_t *p, server_rec *s);

/* apache/pc_request.c: the request's consent lookup (at most once) */
pc_req_state *pc_request_state(request_rec *r);
pc_req_state *pc_request_lookup(request_rec *r, const pc_dir_conf *dc);

/* apache/pc_access.c: PingOneConsent On */
int pc_check_authz(request_rec *r);
int pc_fixups(request_rec *r);

/* apache/pc_authz.c */
extern const authz_provider pc_authz_provider;
int pc_require_pass(request_rec *r, const pc_dir_conf *dc, pc_req_state *st);
int pc_require_error_pass(request_rec *r, pc_req_state *st);

/* apache/pc_respond.c: turning a decision into a response */
void pc_export_allow(request_rec *r, const pc_dir_conf *dc,
                     const pc_req_state *st);
void pc_log_deny(request_rec *r, const pc_dir_conf *dc,
                 const pc_req_state *st, const char *reason);
/* 302 to PingOneConsentDenyRedirect, or 403. */
int pc_deny_status(request_rec *r, const pc_dir_conf *dc);
/* 503 with Retry-After (logs why). */
int pc_unavailable(request_rec *r, pc_req_state *st);

/* apache/pc_handlers.c */
int pc_handler(request_rec *r);
void pc_register_status_hook(void);

#endif

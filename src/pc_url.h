/*
 * pc_url.h - PingOne regions and the URLs the client calls (pure core).
 *
 * Callers must have validated environment, user, application, consent and
 * job IDs as UUIDs (pc_is_uuid); names arrive SCIM-quoted (pc_scim_quote)
 * and are URL-encoded here.
 */
#ifndef PC_URL_H
#define PC_URL_H

#include <apr_pools.h>

/* Region name (case-insensitive: NA, EU, CA, AU, SG, AP) to base URLs.
 * Returns 0 and sets both on success, -1 for an unknown region. */
int pc_region_urls(const char *region, const char **api_base,
                   const char **auth_base);

/* {auth_base}/{env}/as/token */
const char *pc_url_token(apr_pool_t *p, const char *auth_base,
                         const char *env_id);

/* {api_base}/environments/{env}/users?filter=username eq <name>&limit=2 */
const char *pc_url_users_by_name(apr_pool_t *p, const char *api_base,
                                 const char *env_id, const char *quoted_name);

/* The prefix every page of a user's consent collection must start with:
 * {api_base}/environments/{env}/users/{user}/oauthConsents? */
const char *pc_url_consents_prefix(apr_pool_t *p, const char *api_base,
                                   const char *env_id, const char *user_id);

/* 1 when a collection's _links.next.href may be followed: it starts with
 * `prefix` (same scheme, host, port and collection: a link elsewhere is
 * never followed), is at most 4096 bytes, and holds only characters a URL
 * may carry unescaped (no space, control, quote, '<', '>', '\\', '^', '`',
 * '{', '|', '}', '#', or non-ASCII), and every '%' starts an escape. */
int pc_next_link_ok(const char *href, const char *prefix);

/* The consent collection filtered by application.  Exactly one of app_id /
 * quoted_app_name (from pc_scim_quote) is non-NULL. */
const char *pc_url_consents(apr_pool_t *p, const char *api_base,
                            const char *env_id, const char *user_id,
                            const char *app_id, const char *quoted_app_name);

/* One consent, with expand=applications. */
const char *pc_url_consent(apr_pool_t *p, const char *api_base,
                           const char *env_id, const char *user_id,
                           const char *consent_id);

/* {api_base}/environments/{env}/oathJobs/{job} */
const char *pc_url_job(apr_pool_t *p, const char *api_base,
                       const char *env_id, const char *job_id);

#endif

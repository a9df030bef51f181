/*
 * pc_url.c - PingOne regions and URL builders.
 */
#include "pc_url.h"
#include "pc_text.h"

#include <apr_lib.h>
#include <apr_strings.h>

#include <string.h>
#include <strings.h>

static const struct {
    const char *name, *api, *auth;
} regions[] = {
    {"NA", "https://api.pingone.com/v1", "https://auth.pingone.com"},
    {"EU", "https://api.pingone.eu/v1", "https://auth.pingone.eu"},
    {"CA", "https://api.pingone.ca/v1", "https://auth.pingone.ca"},
    {"AU", "https://api.pingone.com.au/v1", "https://auth.pingone.com.au"},
    {"SG", "https://api.pingone.sg/v1", "https://auth.pingone.sg"},
    {"AP", "https://api.pingone.asia/v1", "https://auth.pingone.asia"},
};

int pc_region_urls(const char *region, const char **api_base,
                   const char **auth_base)
{
    apr_size_t i;
    for (i = 0; region && i < sizeof(regions) / sizeof(regions[0]); i++) {
        if (strcasecmp(region, regions[i].name) == 0) {
            *api_base = regions[i].api;
            *auth_base = regions[i].auth;
            return 0;
        }
    }
    return -1;
}

const char *pc_url_token(apr_pool_t *p, const char *auth_base,
                         const char *env_id)
{
    return apr_pstrcat(p, auth_base, "/", env_id, "/as/token", NULL);
}

const char *pc_url_users_by_name(apr_pool_t *p, const char *api_base,
                                 const char *env_id, const char *quoted_name)
{
    return apr_pstrcat(
        p, api_base, "/environments/", env_id, "/users?filter=",
        pc_url_encode(p, apr_pstrcat(p, "username eq ", quoted_name, NULL)),
        "&limit=2", NULL);
}

const char *pc_url_consents_prefix(apr_pool_t *p, const char *api_base,
                                   const char *env_id, const char *user_id)
{
    return apr_pstrcat(p, api_base, "/environments/", env_id, "/users/",
                       user_id, "/oauthConsents?", NULL);
}

const char *pc_url_consents(apr_pool_t *p, const char *api_base,
                            const char *env_id, const char *user_id,
                            const char *app_id, const char *quoted_app_name)
{
    const char *filter =
        app_id ? apr_pstrcat(p, "application.id eq \"", app_id, "\"", NULL)
               : apr_pstrcat(p, "application.name eq ", quoted_app_name, NULL);
    return apr_pstrcat(p, pc_url_consents_prefix(p, api_base, env_id, user_id),
                       "expand=applications&filter=", pc_url_encode(p, filter),
                       NULL);
}

int pc_next_link_ok(const char *href, const char *prefix)
{
    size_t n, i, plen;

    if (href == NULL || prefix == NULL || *prefix == '\0')
        return 0;
    n = strlen(href);
    plen = strlen(prefix);
    if (n > 4096 || n < plen || strncmp(href, prefix, plen) != 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)href[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}#", c) != NULL)
            return 0;
        if (c == '%' &&
            (!apr_isxdigit(href[i + 1]) || !apr_isxdigit(href[i + 2])))
            return 0;
    }
    return 1;
}

const char *pc_url_consent(apr_pool_t *p, const char *api_base,
                           const char *env_id, const char *user_id,
                           const char *consent_id)
{
    return apr_pstrcat(p, api_base, "/environments/", env_id, "/users/",
                       user_id, "/oauthConsents/", consent_id,
                       "?expand=applications", NULL);
}

const char *pc_url_job(apr_pool_t *p, const char *api_base,
                       const char *env_id, const char *job_id)
{
    return apr_pstrcat(p, api_base, "/environments/", env_id, "/oathJobs/",
                       job_id, NULL);
}

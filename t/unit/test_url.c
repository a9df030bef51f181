/* Unit tests: pc_url (regions, URL builders, next links). */
#include "pc_text.h"
#include "pc_url.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

static void test_urls(void)
{
    const char *api, *auth;
    static const char *regions[][3] = {
        {"NA", "https://api.pingone.com/v1", "https://auth.pingone.com"},
        {"eu", "https://api.pingone.eu/v1", "https://auth.pingone.eu"},
        {"CA", "https://api.pingone.ca/v1", "https://auth.pingone.ca"},
        {"AU", "https://api.pingone.com.au/v1", "https://auth.pingone.com.au"},
        {"SG", "https://api.pingone.sg/v1", "https://auth.pingone.sg"},
        {"AP", "https://api.pingone.asia/v1", "https://auth.pingone.asia"},
    };
    size_t i;
    for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        ok(pc_region_urls(regions[i][0], &api, &auth) == 0, "region %s known", regions[i][0]);
        is_str(api, regions[i][1], "region %s API base", regions[i][0]);
        is_str(auth, regions[i][2], "region %s auth base", regions[i][0]);
    }
    ok(pc_region_urls("US", &api, &auth) == -1, "unknown region");
    ok(pc_region_urls(NULL, &api, &auth) == -1, "NULL region");

    is_str(pc_url_token(p, "https://auth.pingone.eu", "abcdef01-2345-4678-9abc-def012345678"),
           "https://auth.pingone.eu/abcdef01-2345-4678-9abc-def012345678/as/token", "token URL");
    is_str(pc_url_consents(p, "https://api.pingone.com/v1", "E", "U", "A", NULL),
           "https://api.pingone.com/v1/environments/E/users/U/oauthConsents?expand=applications&filter=application.id%20eq%20%22A%22",
           "consents URL by application ID");
    is_str(pc_url_consents(p, "https://api.pingone.com/v1", "E", "U", NULL, pc_scim_quote(p, "Reports \"Beta\"")),
           "https://api.pingone.com/v1/environments/E/users/U/oauthConsents?expand=applications&filter=application.name%20eq%20%22Reports%20%5C%22Beta%5C%22%22",
           "consents URL by name, escaped then encoded");
    is_str(pc_url_users_by_name(p, "https://api.pingone.com/v1", "E", pc_scim_quote(p, "a&b")),
           "https://api.pingone.com/v1/environments/E/users?filter=username%20eq%20%22a%26b%22&limit=2",
           "users URL");
    is_str(pc_url_consent(p, "B", "E", "U", "C"), "B/environments/E/users/U/oauthConsents/C?expand=applications", "one consent URL");
    is_str(pc_url_job(p, "B", "E", "J"), "B/environments/E/oathJobs/J", "job URL");
}

static void test_next_links(void)
{
    const char *pre = pc_url_consents_prefix(p, "https://api.pingone.com/v1", "E", "U");
    static const struct { const char *href; int want; const char *why; } cases[] = {
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?cursor=Mg", 1, "same collection"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?expand=applications&filter=application.id%20eq%20%22A%22&cursor=Mg%3D%3D", 1, "escapes kept"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?", 1, "bare prefix"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents", 0, "no query"},
        {"http://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=1", 0, "other scheme"},
        {"https://api.pingone.com.evil/v1/environments/E/users/U/oauthConsents?c=1", 0, "other host"},
        {"https://api.pingone.com:8443/v1/environments/E/users/U/oauthConsents?c=1", 0, "other port"},
        {"https://api.pingone.com/v1/environments/E/users/V/oauthConsents?c=1", 0, "other user"},
        {"https://api.pingone.com/v1/environments/F/users/U/oauthConsents?c=1", 0, "other environment"},
        {"/v1/environments/E/users/U/oauthConsents?c=1", 0, "relative"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=1#frag", 0, "fragment"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=a b", 0, "space"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=\r\nX: y", 0, "CRLF"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=\"", 0, "quote"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=%", 0, "lone percent"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=%4", 0, "short escape"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=%zz", 0, "bad escape"},
        {"https://api.pingone.com/v1/environments/E/users/U/oauthConsents?c=\xc3\xa9", 0, "non-ASCII"},
        {"", 0, "empty"},
    };
    size_t i;
    char *huge;

    is_str(pre, "https://api.pingone.com/v1/environments/E/users/U/oauthConsents?", "page prefix");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(pc_next_link_ok(cases[i].href, pre), cases[i].want, "next link: %s", cases[i].why);
    ok(!pc_next_link_ok(NULL, pre) && !pc_next_link_ok(pre, NULL) && !pc_next_link_ok(pre, ""),
       "NULL or empty arguments refused");
    huge = apr_pcalloc(p, 5000);
    strcpy(huge, pre);
    memset(huge + strlen(pre), 'a', 4096 - strlen(pre));
    ok(pc_next_link_ok(huge, pre), "4096 bytes: followed");
    huge[4096] = 'a';
    ok(!pc_next_link_ok(huge, pre), "4097 bytes: refused");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_urls();
    test_next_links();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

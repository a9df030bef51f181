/* Unit tests: the streaming pass before json-c (src/pc_json_slim.c): what
 * it keeps and drops, that it gives up on anything it does not fully
 * understand, and that a consent page reads the same either way. */
#include "pc_consent.h"
#include "pc_json_slim.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;
static const char *const keep[] = {"id", "status", "scope", NULL};

static const char *slim(const char *in)
{
    const char *out;
    apr_size_t len;

    if (pc_json_slim(&out, &len, in, strlen(in), keep, p) != APR_SUCCESS)
        return NULL;
    return out;
}

static void test_keeps_and_drops(void)
{
    is_str(slim("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"c1\",\"browser\":"
                "{\"name\":\"x\",\"v\":[1,2.5,true,null]},\"status\":\"ACCEPTED\"}]}}"),
           "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"c1\",\"status\":"
           "\"ACCEPTED\"}]}}",
           "items keep only the listed members");
    is_str(slim(" { \"_links\" : { \"next\" : { \"href\" : \"h\" } } , "
                "\"_embedded\" : { \"x\" : [ { \"device\" : 1 } , { } ] } } "),
           "{\"_links\":{\"next\":{\"href\":\"h\"}},\"_embedded\":{\"x\":[{},{}]}}",
           "everything outside the items is kept, white space goes");
    is_str(slim("{\"browser\":1,\"_embedded\":{}}"),
           "{\"browser\":1,\"_embedded\":{}}",
           "the rule is for items under _embedded only");
    is_str(slim("{\"_embedded\":{\"a\":[{\"x\":{\"id\":1}}]},\"id\":2}"),
           "{\"_embedded\":{\"a\":[{}]},\"id\":2}",
           "nested members of a dropped one are not looked at by name");
    is_str(slim("{\"_embedded\":{\"a\":[{\"id\":\"1\",\"id\":\"2\"}]}}"),
           "{\"_embedded\":{\"a\":[{\"id\":\"1\",\"id\":\"2\"}]}}",
           "duplicate kept members stay (json-c keeps the last, as before)");
    is_str(slim("{\"_embedded\":{\"a\":[{\"scope\":[\"openid\",\"a\\\"b\"]}]}}"),
           "{\"_embedded\":{\"a\":[{\"scope\":[\"openid\",\"a\\\"b\"]}]}}",
           "escapes in kept strings are copied as they are");
}

static void test_gives_up(void)
{
    static const char *const odd[] = {
        "",
        "   ",
        "{\"_embedded\":{\"a\":[{\"x\":\"\\u00e9\"}]}}",      /* \\u in a dropped string */
        "{\"_embedded\":{\"a\":[{\"x\":1e5}]}}",              /* exponent */
        "{\"_embedded\":{\"a\":[{\"x\":1234567890123456}]}}", /* 16 digits dropped */
        "{\"_embedded\":{\"a\":[{\"x\":[1,2,}]}]}}",          /* malformed, dropped */
        "{\"_embedded\":{\"a\":[{\"x\":01}]}}",               /* leading zero */
        "{\"_embedded\":{\"a\":[{\"x\":\"\t\"}]}}",           /* raw control char */
        "{\"_embedded\":{\"a\":[{\"x\":\"\xc3\"}]}}",         /* bad UTF-8 */
        "{\"a\":1} x",                                         /* trailing data */
        "{\"a\":1",                                            /* truncated */
        "{'a':1}",
        "[NaN]",
        "{\"a\":tru}",
    };
    char deep[200];
    size_t i;
    int all = 1;

    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        if (slim(odd[i]) != NULL) {
            all = 0;
            printf("# kept: %s\n", odd[i]);
        }
    }
    ok(all, "anything odd goes to the ordinary parse unchanged");
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    deep[66] = '\0';
    ok(slim(deep) == NULL, "deeper than the parser's limit: given up");
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = '\0';
    ok(slim(deep) != NULL, "at the limit: fine");
}

/* A page like the simulator's, with the details nobody reads. */
#define ITEM(id, st, upd)                                                      \
    "{\"_links\":{\"self\":{\"href\":\"https://x/oauthConsents/" id "\"}},"   \
    "\"id\":\"" id "\",\"application\":{\"id\":\"a0000000-0000-4000-8000-"   \
    "000000000001\",\"name\":\"Web Portal\",\"type\":\"WEB_APP\"},"            \
    "\"applicationName\":\"Web Portal\",\"applicationType\":\"PINGONE\","      \
    "\"environment\":{\"id\":\"e\"},\"user\":{\"id\":\"u\"},\"scope\":"        \
    "[\"openid\",\"profile\"],\"browser\":{\"name\":\"Chrome\",\"version\":"   \
    "\"120.0\"},\"operatingSystem\":{\"name\":\"Mac\"},\"device\":{\"type\":"  \
    "\"Desktop\"},\"location\":{\"remoteIp\":\"192.0.2.1\",\"latitude\":"      \
    "37.5,\"longitude\":-122.25},\"status\":\"" st "\",\"consentedAt\":"       \
    "\"2024-01-01T00:00:00Z\",\"updatedAt\":\"" upd "\"}"

static void test_same_reading(void)
{
    const char *page =
        "{\"_links\":{\"next\":{\"href\":\"https://x/next\"}},\"_embedded\":"
        "{\"oauthConsents\":[" ITEM("c1", "REVOKED", "2024-02-01T00:00:00Z")
        "," ITEM("c2", "ACCEPTED", "2024-03-01T00:00:00Z") "]},\"count\":2}";
    apr_array_header_t *a, *b;
    const char *na, *nb, *ea = NULL, *eb = NULL, *out;
    apr_size_t len;
    static const char *const consent_keep[] = {
        "id", "status", "application", "applicationName", "user", "scope",
        "consentedAt", "updatedAt", "expiresAt", NULL};

    ok(pc_json_parse_consent_page(&a, &na, page, strlen(page), p, &ea) ==
           APR_SUCCESS &&
       pc_json_parse_consent_page_full(&b, &nb, page, strlen(page), p, &eb) ==
           APR_SUCCESS,
       "a full page reads both ways");
    ok(a->nelts == 2 && b->nelts == 2 &&
       strcmp(APR_ARRAY_IDX(a, 1, pc_consent_t *)->status, "ACCEPTED") == 0 &&
       strcmp(APR_ARRAY_IDX(a, 1, pc_consent_t *)->app_name, "Web Portal") == 0 &&
       APR_ARRAY_IDX(a, 1, pc_consent_t *)->scopes->nelts == 2 &&
       strcmp(na, nb) == 0, "to the same consents and next link");
    len = 0;
    ok(pc_json_slim(&out, &len, page, strlen(page), consent_keep, p) ==
           APR_SUCCESS && len * 10 < strlen(page) * 7,
       "and json-c is given less than 70%% of it");
    printf("# %lu of %lu bytes\n", (unsigned long)len,
           (unsigned long)strlen(page));
    page = "{\"_embedded\":{\"oauthConsents\":[{\"id\":1,\"status\":\"X\"}]}}";
    ok(pc_json_parse_consent_page(&a, &na, page, strlen(page), p, &ea) ==
           pc_json_parse_consent_page_full(&b, &nb, page, strlen(page), p,
                                           &eb) &&
       ea && eb && strcmp(ea, eb) == 0,
       "a wrong type in a kept member: the same error (%s)", ea);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_keeps_and_drops();
    test_gives_up();
    test_same_reading();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

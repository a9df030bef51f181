/* Unit tests: parsing PingOne's JSON answers, including hostile input. */
#include "pc_consent.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

#define DOC_ONE                                                                      \
    "{\"_links\":{\"self\":{\"href\":\"https://api.pingone.com/v1/x\"},"            \
    "\"consent.revoke\":{\"href\":\"https://api.pingone.com/v1/y\"}},"              \
    "\"id\":\"9ef949b9-4a1c-4b2f-8b2a-7c5d0e4b1a11\","                              \
    "\"application\":{\"id\":\"b0f21e6d-1c2d-4e5f-8a9b-0c1d2e3f4a5b\"},"            \
    "\"applicationName\":\"OIDC-Web-App_1657236350\",\"applicationType\":\"PINGONE\"," \
    "\"environment\":{\"id\":\"abcdef01-2345-4678-9abc-def012345678\"},"            \
    "\"user\":{\"id\":\"01dee5b5-1111-4222-8333-444455556666\"},"                    \
    "\"scope\":[\"openid\"],\"browser\":{\"vendor\":\"Google\",\"version\":\"104\"}," \
    "\"operatingSystem\":{\"name\":\"Mac OS\"},\"device\":{\"type\":\"Mac\"},"       \
    "\"location\":{\"remoteIp\":\"203.0.113.9\",\"city\":\"Denver\"},"              \
    "\"status\":\"ACCEPTED\",\"consentedAt\":\"2022-08-23T22:23:34.624Z\","          \
    "\"updatedAt\":\"2022-08-23T22:23:34.624Z\"}"

static apr_status_t consent(pc_consent_t **c, const char *doc, const char **err)
{
    return pc_json_parse_consent(c, doc, strlen(doc), p, err);
}

static apr_status_t list(apr_array_header_t **a, const char *doc, const char **err)
{
    return pc_json_parse_consent_list(a, doc, strlen(doc), p, err);
}

static void bad_list(const char *doc, const char *what, const char *want_err)
{
    apr_array_header_t *a;
    const char *err = NULL;
    int rv = list(&a, doc, &err);
    ok(rv != APR_SUCCESS, "rejected: %s", what);
    if (want_err)
        ok(err && strstr(err, want_err), "  reason mentions '%s' (got '%s')", want_err, err ? err : "");
}

int main(void)
{
    pc_consent_t *c;
    apr_array_header_t *a;
    pc_token_resp_t *t;
    pc_api_error_t *e;
    pc_job_t *j;
    pc_user_t *u;
    const char *err;
    apr_time_t ts;
    char *s;
    int i;

    apr_initialize();
    apr_pool_create(&p, NULL);

    /* timestamps */
    ok(pc_parse_timestamp(&ts, "2022-08-23T22:23:34.624Z") == APR_SUCCESS, "docs timestamp");
    is_int(ts, 1661293414624000LL, "exact microseconds");
    ok(pc_parse_timestamp(&ts, "2022-08-24T00:23:34.624+02:00") == APR_SUCCESS &&
       ts == 1661293414624000LL, "offset +02:00 is the same instant");
    ok(pc_parse_timestamp(&ts, "1970-01-01T00:00:00Z") == APR_SUCCESS && ts == 0, "epoch");
    ok(pc_parse_timestamp(&ts, "2024-02-29T12:00:00Z") == APR_SUCCESS, "leap day 2024");
    ok(pc_parse_timestamp(&ts, "2023-02-29T12:00:00Z") != APR_SUCCESS, "no leap day 2023");
    ok(pc_parse_timestamp(&ts, "2023-02-30T00:00:00Z") != APR_SUCCESS, "Feb 30");
    ok(pc_parse_timestamp(&ts, "2023-01-01T25:00:00Z") != APR_SUCCESS, "hour 25");
    ok(pc_parse_timestamp(&ts, "2023-01-01T00:00:00") != APR_SUCCESS, "missing Z");
    ok(pc_parse_timestamp(&ts, "2023-01-01T00:00:00Zjunk") != APR_SUCCESS, "trailing junk");
    ok(pc_parse_timestamp(&ts, "2023-01-01 00:00:00Z") != APR_SUCCESS, "space instead of T");
    ok(pc_parse_timestamp(&ts, "2023-01-01T00:00:00.1234567890Z") != APR_SUCCESS, "10 fraction digits");
    ok(pc_parse_timestamp(&ts, "") != APR_SUCCESS, "empty");
    ok(pc_parse_timestamp(&ts, "1969-12-31T23:59:59Z") != APR_SUCCESS, "before 1970");

    /* the documented read-one example */
    ok(consent(&c, DOC_ONE, &err) == APR_SUCCESS, "docs consent parses");
    is_str(c->id, "9ef949b9-4a1c-4b2f-8b2a-7c5d0e4b1a11", "id");
    is_str(c->app_id, "b0f21e6d-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "application.id");
    is_str(c->app_name, "OIDC-Web-App_1657236350", "applicationName");
    is_str(c->user_id, "01dee5b5-1111-4222-8333-444455556666", "user.id");
    is_str(c->status, "ACCEPTED", "status");
    ok(c->scopes->nelts == 1 && strcmp(APR_ARRAY_IDX(c->scopes, 0, const char *), "openid") == 0, "scope");
    is_int(c->updated_at, 1661293414624000LL, "updatedAt");
    is_int(c->expires_at, 0, "no expiresAt");

    /* lists */
    ok(list(&a, "{\"_embedded\":{\"oauthConsents\":[" DOC_ONE "," DOC_ONE "]},\"count\":2}", &err) == APR_SUCCESS &&
       a->nelts == 2, "list of two");
    ok(list(&a, "{\"_embedded\":{\"consents\":[" DOC_ONE "]}}", &err) == APR_SUCCESS && a->nelts == 1,
       "the single array under _embedded is used");
    ok(list(&a, "{\"_embedded\":{\"a\":[" DOC_ONE "],\"b\":[]}}", &err) == APR_SUCCESS && a->nelts == 0,
       "two arrays under _embedded: none is guessed");
    ok(list(&a, "{\"count\":0}", &err) == APR_SUCCESS && a->nelts == 0, "no _embedded: empty");
    ok(list(&a, "{\"_embedded\":{\"oauthConsents\":[]}}", &err) == APR_SUCCESS && a->nelts == 0, "empty array");
    ok(list(&a, "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"application\":{\"id\":\"a\",\"name\":\"Expanded\"},\"scope\":[]}]}}",
            &err) == APR_SUCCESS &&
       strcmp(APR_ARRAY_IDX(a, 0, pc_consent_t *)->app_name, "Expanded") == 0,
       "application.name from the expanded form");
    ok(list(&a, "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}]}}",
            &err) == APR_SUCCESS &&
       APR_ARRAY_IDX(a, 0, pc_consent_t *)->expires_at == 978307200000000LL, "expiresAt read");

    /* hostile and malformed */
    bad_list("{\"_embedded\":{\"oauthConsents\":[", "truncated", "truncated");
    bad_list("{} x", "trailing garbage", "JSON");
    bad_list("[1,2]", "top-level array", "not a JSON object");
    bad_list("", "empty body", "empty");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"scope\":\"openid profile\"}]}}",
             "scope as a string", "scope");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":1,\"scope\":[]}]}}", "status as a number", "status");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"scope\":[]}]}}", "status missing", "status");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"status\":\"ACCEPTED\"}]}}", "id missing", "id");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"scope\":[\"a b\"]}]}}",
             "scope token with a space", "scope");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"scope\":[\"\"]}]}}",
             "empty scope token", "scope");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"scope\":[1]}]}}",
             "scope element a number", "scope");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"application\":\"a\"}]}}",
             "application as a string", "application");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"updatedAt\":\"yesterday\"}]}}",
             "bad date", "updatedAt");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\\u0000y\",\"status\":\"ACCEPTED\"}]}}",
             "NUL inside a string", NULL);
    bad_list("{\"_embedded\":[]}", "_embedded not an object", "_embedded");
    {
        const char doc[] = "{\"a\":1}\0{}";
        ok(pc_json_parse_consent_list(&a, doc, sizeof(doc) - 1, p, &err) != APR_SUCCESS, "rejected: NUL byte in the body");
    }
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"\xff\xfe\",\"status\":\"ACCEPTED\"}]}}", "invalid UTF-8", NULL);
    s = apr_palloc(p, 2 * 1000 + 1);
    for (i = 0; i < 1000; i++) {
        s[i] = '[';
        s[1000 + i] = ']';
    }
    s[2000] = '\0';
    bad_list(s, "nesting 1000 deep", "deep");
    s = apr_pstrdup(p, "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"scope\":[");
    for (i = 0; i < 300; i++)
        s = apr_pstrcat(p, s, i ? "," : "", "\"s\"", NULL);
    s = apr_pstrcat(p, s, "]}]}}", NULL);
    bad_list(s, "300 scopes", "256");
    {
        char *big = apr_palloc(p, 1024 * 1024 + 1);
        memset(big, 'x', 1024 * 1024);
        big[1024 * 1024] = '\0';
        s = apr_pstrcat(p, "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"x\",\"status\":\"ACCEPTED\",\"junk\":\"", big,
                        "\"}]}}", NULL);
        ok(list(&a, s, &err) == APR_SUCCESS && a->nelts == 1, "a 1 MB unknown field is ignored");
    }
    ok(consent(&c, "{\"id\":\"x\",\"status\":\"REVOKED\",\"status\":\"ACCEPTED\"}", &err) == APR_SUCCESS,
       "duplicate keys parse");
    is_str(c->status, "ACCEPTED", "  the last duplicate wins (json-c)");

    /* users */
#define USERS(d) pc_json_parse_user_list(&a, d, strlen(d), p, &err)
    ok(USERS("{\"_embedded\":{\"users\":[{\"id\":\"u1\",\"username\":\"alice\"}]}}") ==
       APR_SUCCESS, "users");
    u = APR_ARRAY_IDX(a, 0, pc_user_t *);
    ok(strcmp(u->id, "u1") == 0 && strcmp(u->username, "alice") == 0, "user fields");
    ok(USERS("{\"_embedded\":{\"users\":[{\"username\":\"alice\"}]}}") != APR_SUCCESS,
       "user without id rejected");
    ok(USERS("{\"_embedded\":{\"users\":[1]}}") != APR_SUCCESS, "user not an object");

    /* tokens */
#define TOK(d) pc_json_parse_token(&t, d, strlen(d), p, &err)
    ok(TOK("{\"access_token\":\"abc.def-ghi\",\"token_type\":\"Bearer\",\"expires_in\":3600}") == APR_SUCCESS &&
       t->expires_in == 3600, "token");
    ok(TOK("{\"access_token\":\"abc\"}") == APR_SUCCESS && t->expires_in == 3600, "expires_in defaults to 3600");
    ok(TOK("{\"access_token\":\"abc\",\"expires_in\":\"120\"}") == APR_SUCCESS && t->expires_in == 120,
       "expires_in as a digit string");
    ok(TOK("{\"access_token\":\"abc\",\"expires_in\":-5}") == APR_SUCCESS && t->expires_in == 0, "negative clamped to 0");
    ok(TOK("{\"access_token\":\"abc\",\"expires_in\":99999999999}") == APR_SUCCESS && t->expires_in == 86400LL * 366,
       "huge clamped");
    ok(TOK("{\"access_token\":\"a b\"}") != APR_SUCCESS, "space in the token rejected");
    ok(TOK("{\"access_token\":\"a\\r\\nX-Evil: 1\"}") != APR_SUCCESS, "CR LF in the token rejected");
    ok(TOK("{\"access_token\":\"\"}") != APR_SUCCESS, "empty token rejected");
    ok(TOK("{\"access_token\":\"abc\",\"token_type\":\"mac\"}") != APR_SUCCESS, "token_type mac rejected");
    ok(TOK("{\"access_token\":\"abc\",\"expires_in\":\"soon\"}") != APR_SUCCESS, "expires_in text rejected");
    ok(TOK("{\"token\":\"abc\"}") != APR_SUCCESS, "no access_token rejected");
    ok(TOK("{\"access_token\":42}") != APR_SUCCESS, "access_token a number rejected");

    /* error bodies */
#define ERR(d) pc_json_parse_error(&e, d, strlen(d), p, &err)
    ok(ERR("{\"id\":\"1\",\"code\":\"ACCESS_FAILED\",\"message\":\"no\",\"details\":[{\"code\":\"INVALID_TOKEN\"}]}") ==
       APR_SUCCESS, "PingOne error");
    ok(strcmp(e->code, "ACCESS_FAILED") == 0 && strcmp(e->detail_code, "INVALID_TOKEN") == 0, "code and detail");
    ok(ERR("{\"error\":\"invalid_client\",\"error_description\":\"bad\"}") == APR_SUCCESS &&
       strcmp(e->code, "invalid_client") == 0 && strcmp(e->message, "bad") == 0, "OAuth error shape");
    ok(ERR("{\"code\":5,\"details\":\"x\"}") == APR_SUCCESS && e->code == NULL && e->detail_code == NULL,
       "wrong types are ignored");
    ok(ERR("<html>") != APR_SUCCESS, "HTML rejected");

    /* jobs */
#define JOB(d) pc_json_parse_job(&j, d, strlen(d), p, &err)
    ok(JOB("{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":5}}") == APR_SUCCESS && j->state == PC_JOB_DONE &&
       j->revoked == 5, "DONE with result.revoked");
    ok(JOB("{\"id\":\"j\",\"status\":\"FAILED\",\"reason\":\"offline\"}") == APR_SUCCESS && j->state == PC_JOB_FAILED &&
       strcmp(j->reason, "offline") == 0, "FAILED with reason");
    ok(JOB("{\"id\":\"j\",\"status\":\"IN_PROGRESS\"}") == APR_SUCCESS && j->state == PC_JOB_RUNNING && j->revoked == -1,
       "other status: running");
    ok(JOB("{\"id\":\"j\",\"status\":\"done\"}") == APR_SUCCESS && j->state == PC_JOB_RUNNING, "lowercase done: running");
    ok(JOB("{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":\"5\"}}") != APR_SUCCESS, "revoked as text rejected");
    ok(JOB("{\"status\":\"DONE\"}") != APR_SUCCESS, "job without id rejected");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

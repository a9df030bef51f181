/*
 * Unit tests for pc_consent.c: the PingOne JSON readers and the timestamp
 * parser, with the documented examples and hostile input.
 *
 * Every body is handed to the parser in a malloc'd buffer of exactly `len`
 * bytes with no terminating NUL, so AddressSanitizer reports any read past
 * the end.
 */
#include "pc_consent.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

#include <stdlib.h>

static apr_pool_t *p;

/* The read-one example of the PingOne docs, complete with the parts the
 * module ignores. */
#define DOC_ONE                                                                \
    "{\"_links\":{"                                                           \
    "\"self\":{\"href\":\"https://api.pingone.com/v1/environments/"            \
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/users/"                              \
    "01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4/oauthConsents/"                      \
    "9ef949b9-e0a0-4d85-ba3d-3ea5ba7d4b8c\"},"                                 \
    "\"environment\":{\"href\":\"https://api.pingone.com/v1/environments/"     \
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6\"},"                                 \
    "\"user\":{\"href\":\"https://api.pingone.com/v1/environments/"            \
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/users/"                              \
    "01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4\"},"                                 \
    "\"consent.revoke\":{\"href\":\"https://api.pingone.com/v1/environments/"  \
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/users/"                              \
    "01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4/oauthConsents/"                      \
    "9ef949b9-e0a0-4d85-ba3d-3ea5ba7d4b8c\"}},"                                \
    "\"id\":\"9ef949b9-e0a0-4d85-ba3d-3ea5ba7d4b8c\","                         \
    "\"application\":{\"id\":\"b0f21e6d-8b11-4b9b-8d6a-2e7a8e5d2f3c\"},"       \
    "\"applicationName\":\"OIDC-Web-App_1657236350\","                         \
    "\"applicationType\":\"PINGONE\","                                         \
    "\"environment\":{\"id\":\"abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6\"},"       \
    "\"user\":{\"id\":\"01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4\"},"              \
    "\"scope\":[\"openid\"],"                                                  \
    "\"browser\":{\"vendor\":\"Google Inc.\",\"name\":\"Chrome\","             \
    "\"version\":\"104.0.0.0\",\"userAgent\":\"Mozilla/5.0 (Macintosh; "       \
    "Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "          \
    "Chrome/104.0.0.0 Safari/537.36\"},"                                       \
    "\"operatingSystem\":{\"name\":\"Mac OS\",\"version\":\"10.15.7\"},"       \
    "\"device\":{\"type\":\"Mac\"},"                                           \
    "\"location\":{\"remoteIp\":\"203.0.113.17\",\"city\":\"Denver\","         \
    "\"state\":\"Colorado\",\"country\":\"United States\","                    \
    "\"latitude\":39.7392,\"longitude\":-104.9847},"                           \
    "\"status\":\"ACCEPTED\","                                                 \
    "\"consentedAt\":\"2022-08-23T22:23:34.624Z\","                            \
    "\"updatedAt\":\"2022-08-23T22:23:34.624Z\"}"

/* 2022-08-23T22:23:34.624Z in microseconds since the epoch. */
#define T_EXAMPLE 1661293414624000LL

/* ---- helpers ------------------------------------------------------------ */

static char *exact(const char *body, apr_size_t len)
{
    char *b = malloc(len ? len : 1);
    if (b == NULL)
        abort();
    memcpy(b, body, len);
    return b;
}

static apr_status_t consent_n(pc_consent_t **c, const char *body,
                              apr_size_t len, const char **err)
{
    char *b = exact(body, len);
    apr_status_t rv = pc_json_parse_consent(c, b, len, p, err);
    free(b);
    return rv;
}

static apr_status_t consent(pc_consent_t **c, const char *doc,
                            const char **err)
{
    return consent_n(c, doc, strlen(doc), err);
}

static apr_status_t list_n(apr_array_header_t **a, const char *body,
                           apr_size_t len, const char **err)
{
    char *b = exact(body, len);
    apr_status_t rv = pc_json_parse_consent_list(a, b, len, p, err);
    free(b);
    return rv;
}

static apr_status_t list(apr_array_header_t **a, const char *doc,
                         const char **err)
{
    return list_n(a, doc, strlen(doc), err);
}

static apr_status_t users(apr_array_header_t **a, const char *doc,
                          const char **err)
{
    apr_size_t len = strlen(doc);
    char *b = exact(doc, len);
    apr_status_t rv = pc_json_parse_user_list(a, b, len, p, err);
    free(b);
    return rv;
}

static apr_status_t token(pc_token_resp_t **t, const char *doc,
                          const char **err)
{
    apr_size_t len = strlen(doc);
    char *b = exact(doc, len);
    apr_status_t rv = pc_json_parse_token(t, b, len, p, err);
    free(b);
    return rv;
}

static apr_status_t apierr(pc_api_error_t **e, const char *doc,
                           const char **err)
{
    apr_size_t len = strlen(doc);
    char *b = exact(doc, len);
    apr_status_t rv = pc_json_parse_error(e, b, len, p, err);
    free(b);
    return rv;
}

static apr_status_t job(pc_job_t **j, const char *doc, const char **err)
{
    apr_size_t len = strlen(doc);
    char *b = exact(doc, len);
    apr_status_t rv = pc_json_parse_job(j, b, len, p, err);
    free(b);
    return rv;
}

/* NULL-safe string equality (a failing check must not crash the run). */
static int streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int has(const char *err, const char *want)
{
    return err != NULL && strstr(err, want) != NULL;
}

/* A consent body that must be refused, with a reason mentioning `want`. */
static void bad_consent_n(const char *body, apr_size_t len, const char *what,
                          const char *want)
{
    pc_consent_t *c = (pc_consent_t *)&c; /* must be reset to NULL */
    const char *err = NULL;
    apr_status_t rv = consent_n(&c, body, len, &err);

    ok(rv == APR_EGENERAL && c == NULL && has(err, want),
       "consent refused: %s (reason '%s')", what, err ? err : "(none)");
}

static void bad_consent(const char *doc, const char *what, const char *want)
{
    bad_consent_n(doc, strlen(doc), what, want);
}

static void bad_list(const char *doc, const char *what, const char *want)
{
    apr_array_header_t *a = (apr_array_header_t *)&a;
    const char *err = NULL;
    apr_status_t rv = list(&a, doc, &err);

    ok(rv == APR_EGENERAL && a == NULL && has(err, want),
       "list refused: %s (reason '%s')", what, err ? err : "(none)");
}

static void bad_token(const char *doc, const char *what, const char *want)
{
    pc_token_resp_t *t = (pc_token_resp_t *)&t;
    const char *err = NULL;
    apr_status_t rv = token(&t, doc, &err);

    ok(rv == APR_EGENERAL && t == NULL && has(err, want),
       "token refused: %s (reason '%s')", what, err ? err : "(none)");
}

static void bad_job(const char *doc, const char *what, const char *want)
{
    pc_job_t *j = (pc_job_t *)&j;
    const char *err = NULL;
    apr_status_t rv = job(&j, doc, &err);

    ok(rv == APR_EGENERAL && j == NULL && has(err, want),
       "job refused: %s (reason '%s')", what, err ? err : "(none)");
}

static void bad_users(const char *doc, const char *what, const char *want)
{
    apr_array_header_t *a = (apr_array_header_t *)&a;
    const char *err = NULL;
    apr_status_t rv = users(&a, doc, &err);

    ok(rv == APR_EGENERAL && a == NULL && has(err, want),
       "user list refused: %s (reason '%s')", what, err ? err : "(none)");
}

/* A minimal valid consent with `extra` members spliced in first (json-c
 * keeps the last of duplicate keys, so `extra` cannot override id/status;
 * use consent_with_tail for that). */
static const char *consent_with(const char *extra)
{
    return apr_pstrcat(p, "{", extra, extra[0] ? "," : "",
                       "\"id\":\"c1\",\"status\":\"ACCEPTED\"}", NULL);
}

/* ---- one consent -------------------------------------------------------- */

static void test_consent_example(void)
{
    pc_consent_t *c = NULL;
    const char *err = "unset";
    apr_status_t rv = consent(&c, DOC_ONE, &err);

    ok(rv == APR_SUCCESS && c != NULL, "documented read-one example parses");
    if (c == NULL)
        return;
    ok(err == NULL, "  err cleared on success");
    is_str(c->id, "9ef949b9-e0a0-4d85-ba3d-3ea5ba7d4b8c", "  id");
    is_str(c->status, "ACCEPTED", "  status");
    is_str(c->app_id, "b0f21e6d-8b11-4b9b-8d6a-2e7a8e5d2f3c", "  app_id");
    is_str(c->app_name, "OIDC-Web-App_1657236350", "  app_name");
    is_str(c->user_id, "01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4", "  user_id");
    ok(c->scopes != NULL && c->scopes->nelts == 1, "  one scope");
    if (c->scopes && c->scopes->nelts == 1)
        is_str(APR_ARRAY_IDX(c->scopes, 0, const char *), "openid",
               "  scope openid");
    is_int(c->consented_at, T_EXAMPLE, "  consentedAt");
    is_int(c->updated_at, T_EXAMPLE, "  updatedAt");
    is_int(c->expires_at, 0, "  no expiresAt");

    /* Trailing JSON white space is fine. */
    rv = consent(&c, DOC_ONE " \r\n\t", &err);
    ok(rv == APR_SUCCESS, "trailing white space accepted");
}

static void test_consent_fields(void)
{
    pc_consent_t *c;
    const char *err;
    apr_status_t rv;

    rv = consent(&c, "{\"id\":\"c1\",\"status\":\"REVOKED\"}", &err);
    ok(rv == APR_SUCCESS, "minimal consent parses");
    if (rv == APR_SUCCESS) {
        is_str(c->status, "REVOKED", "  status as received");
        ok(c->scopes != NULL && c->scopes->nelts == 0,
           "  no scope: empty array, not NULL");
        ok(c->app_id == NULL && c->app_name == NULL && c->user_id == NULL,
           "  app and user absent");
        ok(c->consented_at == 0 && c->updated_at == 0 && c->expires_at == 0,
           "  times absent are 0");
    }

    /* expand=applications: name inside the application object */
    rv = consent(&c, consent_with("\"application\":{\"id\":\"a1\","
                                  "\"name\":\"Expanded App\","
                                  "\"protocol\":\"OPENID_CONNECT\"}"),
                 &err);
    ok(rv == APR_SUCCESS, "expanded application parses");
    if (rv == APR_SUCCESS) {
        is_str(c->app_name, "Expanded App", "  app_name from application.name");
        is_str(c->app_id, "a1", "  app_id");
    }
    rv = consent(&c, consent_with("\"applicationName\":\"Top\","
                                  "\"application\":{\"name\":\"Inner\"}"),
                 &err);
    ok(rv == APR_SUCCESS, "both names present");
    if (rv == APR_SUCCESS)
        is_str(c->app_name, "Top", "  applicationName wins");

    rv = consent(&c, consent_with("\"scope\":[\"openid\",\"profile\","
                                  "\"p1:read:user\",\"email\"],"
                                  "\"expiresAt\":\"2024-02-29T12:00:00Z\""),
                 &err);
    ok(rv == APR_SUCCESS, "several scopes and expiresAt");
    if (rv == APR_SUCCESS) {
        is_int(c->scopes->nelts, 4, "  four scopes");
        if (c->scopes->nelts == 4) {
            is_str(APR_ARRAY_IDX(c->scopes, 0, const char *), "openid",
                   "  scope 0");
            is_str(APR_ARRAY_IDX(c->scopes, 2, const char *), "p1:read:user",
                   "  scope 2");
            is_str(APR_ARRAY_IDX(c->scopes, 3, const char *), "email",
                   "  scope 3");
        }
        is_int(c->expires_at, 1709208000000000LL, "  expiresAt");
    }

    /* JSON null reads as absent for optional fields. */
    rv = consent(&c, consent_with("\"scope\":null,\"application\":null,"
                                  "\"applicationName\":null,"
                                  "\"expiresAt\":null,\"user\":null"),
                 &err);
    ok(rv == APR_SUCCESS && c->scopes && c->scopes->nelts == 0 &&
           c->app_name == NULL && c->expires_at == 0,
       "null optional fields read as absent");

    /* Non-ASCII names are kept byte for byte. */
    rv = consent(&c, consent_with("\"applicationName\":\"Caf\xc3\xa9 "
                                  "\xe2\x82\xac \xf0\x9f\x98\x80\""),
                 &err);
    ok(rv == APR_SUCCESS, "UTF-8 application name accepted");
    if (rv == APR_SUCCESS)
        is_str(c->app_name, "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
               "  copied intact");
    rv = consent(&c, consent_with("\"applicationName\":\"Caf\\u00e9\""), &err);
    ok(rv == APR_SUCCESS && streq(c->app_name, "Caf\xc3\xa9"),
       "\\u escape decoded to UTF-8");

    /* Empty optional names read as absent. */
    rv = consent(&c, consent_with("\"applicationName\":\"\","
                                  "\"application\":{\"id\":\"\","
                                  "\"name\":\"Fallback\"}"),
                 &err);
    ok(rv == APR_SUCCESS && c->app_id == NULL &&
           streq(c->app_name, "Fallback"),
       "empty applicationName falls back, empty app id is NULL");

    /* The err pointer may be NULL. */
    ok(pc_json_parse_consent(&c, "[]", 2, p, NULL) == APR_EGENERAL,
       "err may be NULL");
}

static void test_consent_types(void)
{
    bad_consent(consent_with("\"scope\":\"openid\""), "scope as string",
                "consent.scope is not an array of strings");
    bad_consent(consent_with("\"scope\":{\"0\":\"openid\"}"),
                "scope as object", "consent.scope is not an array of strings");
    bad_consent("{\"id\":\"c1\",\"status\":1}", "status as number",
                "consent.status is not a string");
    bad_consent("{\"id\":\"c1\",\"status\":true}", "status as boolean",
                "consent.status is not a string");
    bad_consent("{\"id\":\"c1\",\"status\":[\"ACCEPTED\"]}", "status as array",
                "consent.status is not a string");
    bad_consent("{\"id\":\"c1\"}", "status missing",
                "consent.status is missing");
    bad_consent("{\"id\":\"c1\",\"status\":null}", "status null",
                "consent.status is missing");
    bad_consent("{\"id\":\"c1\",\"status\":\"\"}", "status empty",
                "consent.status is missing or empty");
    bad_consent("{\"status\":\"ACCEPTED\"}", "id missing",
                "consent.id is missing");
    bad_consent("{\"id\":\"\",\"status\":\"ACCEPTED\"}", "id empty",
                "consent.id is missing or empty");
    bad_consent("{\"id\":42,\"status\":\"ACCEPTED\"}", "id as number",
                "consent.id is not a string");
    bad_consent(consent_with("\"application\":\"b0f21e6d\""),
                "application as string", "consent.application is not an object");
    bad_consent(consent_with("\"application\":{\"id\":7}"),
                "application.id as number",
                "consent.application.id is not a string");
    bad_consent(consent_with("\"application\":{\"name\":{}}"),
                "application.name as object",
                "consent.application.name is not a string");
    bad_consent(consent_with("\"applicationName\":[]"),
                "applicationName as array",
                "consent.applicationName is not a string");
    bad_consent(consent_with("\"user\":[\"u\"]"), "user as array",
                "consent.user is not an object");
    bad_consent(consent_with("\"user\":{\"id\":1.5}"), "user.id as number",
                "consent.user.id is not a string");
    bad_consent(consent_with("\"consentedAt\":1661293414"),
                "consentedAt as number",
                "consent.consentedAt is not a valid timestamp");
    bad_consent(consent_with("\"updatedAt\":\"2023-02-30T00:00:00Z\""),
                "updatedAt 2023-02-30",
                "consent.updatedAt is not a valid timestamp");
    bad_consent(consent_with("\"updatedAt\":\"2023-02-01T25:00:00Z\""),
                "updatedAt 25:00", "consent.updatedAt is not a valid timestamp");
    bad_consent(consent_with("\"expiresAt\":\"2023-02-01T10:00:00\""),
                "expiresAt without Z",
                "consent.expiresAt is not a valid timestamp");
    bad_consent(consent_with("\"expiresAt\":\"tomorrow\""), "expiresAt text",
                "consent.expiresAt is not a valid timestamp");
    bad_consent(consent_with("\"expiresAt\":\"\""), "expiresAt empty",
                "consent.expiresAt is not a valid timestamp");
}

static void test_scopes(void)
{
    pc_consent_t *c;
    const char *err;
    apr_status_t rv;
    char *big;
    int i;

    bad_consent(consent_with("\"scope\":[\"openid profile\"]"),
                "scope with a space", "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"openid\",\"\"]"), "empty scope",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"openid\",3]"), "numeric scope",
                "consent.scope is not an array of strings");
    bad_consent(consent_with("\"scope\":[\"openid\",null]"), "null scope",
                "consent.scope is not an array of strings");
    bad_consent(consent_with("\"scope\":[[\"openid\"]]"), "nested array",
                "consent.scope is not an array of strings");
    bad_consent(consent_with("\"scope\":[{\"name\":\"openid\"}]"),
                "object scope", "consent.scope is not an array of strings");
    bad_consent(consent_with("\"scope\":[\"open\\tid\"]"), "escaped tab",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"open\\nid\"]"), "escaped newline",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"a\\\"b\"]"), "double quote",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"a\\\\b\"]"), "backslash",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"caf\xc3\xa9\"]"), "non-ASCII",
                "invalid scope token");
    bad_consent(consent_with("\"scope\":[\"a\\u007fb\"]"), "DEL",
                "invalid scope token");

    rv = consent(&c, consent_with("\"scope\":[\"!#[]~\",\"p1:read:user\"]"),
                 &err);
    ok(rv == APR_SUCCESS && c->scopes->nelts == 2,
       "scope tokens with edge characters accepted");

    /* exactly 256 scopes are fine, 257 and 300 are not */
    for (i = 0; i < 3; i++) {
        int n = i == 0 ? 256 : i == 1 ? 257 : 300, k;
        big = apr_pstrdup(p, "\"scope\":[");
        for (k = 0; k < n; k++)
            big = apr_psprintf(p, "%s%s\"s%d\"", big, k ? "," : "", k);
        big = apr_pstrcat(p, big, "]", NULL);
        if (n == 256) {
            rv = consent(&c, consent_with(big), &err);
            ok(rv == APR_SUCCESS && c->scopes->nelts == 256,
               "256 scopes accepted");
            if (rv == APR_SUCCESS)
                is_str(APR_ARRAY_IDX(c->scopes, 255, const char *), "s255",
                       "  last scope");
        }
        else {
            bad_consent(consent_with(big),
                        n == 257 ? "257 scopes" : "300 scopes",
                        "more than 256");
        }
    }
}

/* ---- hostile bodies ----------------------------------------------------- */

static void test_hostile(void)
{
    pc_consent_t *c;
    const char *err;
    apr_status_t rv;
    apr_size_t len = strlen(DOC_ONE), i, bad = 0;
    char *buf, *doc;

    /* Every proper prefix of the example is truncated JSON. */
    for (i = 0; i < len; i++) {
        c = NULL;
        if (consent_n(&c, DOC_ONE, i, &err) != APR_EGENERAL || c != NULL)
            bad++;
    }
    ok(bad == 0, "all %lu truncations of the example refused",
       (unsigned long)len);
    bad_consent_n(DOC_ONE, len - 1, "missing final brace", "truncated JSON");
    bad_consent_n(DOC_ONE, 20, "cut inside a string", "truncated JSON");
    bad_consent_n("", 0, "empty body", "empty body");
    ok(pc_json_parse_consent(&c, NULL, 0, p, &err) == APR_EGENERAL && c == NULL,
       "NULL body refused");
    bad_consent("   ", "white space only", "truncated JSON");

    bad_consent(DOC_ONE "x", "trailing garbage", "invalid JSON");
    bad_consent(DOC_ONE "{}", "second object", "invalid JSON");
    bad_consent(DOC_ONE "   \"x\"", "trailing string", "invalid JSON");
    bad_consent(DOC_ONE "\f", "trailing form feed", "invalid JSON");

    /* NUL bytes */
    memcpy(buf = apr_palloc(p, len + 1), DOC_ONE, len);
    buf[len] = '\0';
    bad_consent_n(buf, len + 1, "NUL after the document", "NUL byte");
    memcpy(buf, DOC_ONE, len);
    buf[10] = '\0';
    bad_consent_n(buf, len, "NUL in the middle", "NUL byte");
    bad_consent_n("{\"id\":\"c\0\",\"status\":\"ACCEPTED\"}", 31,
                  "raw NUL inside a string", "NUL byte");
    bad_consent("{\"id\":\"c1\\u0000x\",\"status\":\"ACCEPTED\"}",
                "\\u0000 in the id", "NUL character");
    bad_consent("{\"id\":\"c1\",\"status\":\"ACCEPTED\\u0000\"}",
                "\\u0000 in the status", "NUL character");
    bad_consent(consent_with("\"x\\u0000\":1"), "\\u0000 in a key",
                "NUL character");
    rv = consent(&c, consent_with("\"note\":\"\\\\u0000\""), &err);
    ok(rv == APR_SUCCESS, "escaped backslash then u0000 is plain text");

    /* not UTF-8, or not strict JSON */
    bad_consent(consent_with("\"applicationName\":\"\xff\""), "byte 0xFF",
                "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"caf\xe9\""),
                "Latin-1 byte", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\xc0\xaf\""),
                "overlong encoding", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\xe0\x80\xaf\""),
                "overlong 3-byte encoding", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\xed\xa0\x80\""),
                "UTF-16 surrogate", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\xf4\x90\x80\x80\""),
                "above U+10FFFF", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\xe2\x82\""),
                "cut sequence", "UTF-8");
    bad_consent(consent_with("\"applicationName\":\"\x80\""),
                "lone continuation byte", "UTF-8");
    bad_consent_n("{\"id\":\"\xe2\x82", 9, "sequence cut by the end", "UTF-8");
    bad_consent(consent_with("\"note\":\"a\tb\""), "raw tab in a string",
                "control character");
    bad_consent(consent_with("\"note\":\"a\nb\""), "raw newline in a string",
                "control character");
    bad_consent("\xef\xbb\xbf{\"id\":\"c1\",\"status\":\"ACCEPTED\"}",
                "byte order mark", "invalid JSON");
    bad_consent("{'id':'c1','status':'ACCEPTED'}", "single quotes",
                "invalid JSON");
    bad_consent(consent_with("\"n\":NaN"), "NaN", "invalid JSON");
    bad_consent(consent_with("\"n\":-Infinity"), "-Infinity", "invalid JSON");
    bad_consent(consent_with("/* c */\"n\":1"), "comment", "invalid JSON");
    bad_consent(consent_with("\"n\":[1,]"), "trailing comma", "invalid JSON");
    bad_consent(consent_with("\"n\":True"), "True", "invalid JSON");
    bad_consent(consent_with("\"n\":\"\\x41\""), "bad escape", "invalid JSON");

    /* nesting */
    doc = apr_pstrcat(p, "{\"deep\":", NULL);
    for (i = 0; i < 1000; i++)
        doc = apr_pstrcat(p, doc, "[", NULL);
    for (i = 0; i < 1000; i++)
        doc = apr_pstrcat(p, doc, "]", NULL);
    doc = apr_pstrcat(p, doc, ",\"id\":\"c1\",\"status\":\"ACCEPTED\"}", NULL);
    bad_consent(doc, "1000 levels deep", "nested too deeply");
    for (i = 31; i <= 32; i++) {
        /* the object itself is level 1 */
        apr_size_t k;
        doc = "{\"deep\":";
        for (k = 0; k < i; k++)
            doc = apr_pstrcat(p, doc, "[", NULL);
        for (k = 0; k < i; k++)
            doc = apr_pstrcat(p, doc, "]", NULL);
        doc = apr_pstrcat(p, doc, ",\"id\":\"c1\",\"status\":\"ACCEPTED\"}",
                          NULL);
        if (i == 31) {
            rv = consent(&c, doc, &err);
            ok(rv == APR_SUCCESS, "exactly %d levels accepted",
               PC_JSON_MAX_DEPTH);
        }
        else {
            bad_consent(doc, "33 levels", "nested too deeply");
        }
    }

    /* A 1 MB unknown string is parsed and ignored. */
    {
        apr_size_t n = 1024 * 1024;
        char *s = apr_palloc(p, n + 1);
        memset(s, 'A', n);
        s[n] = '\0';
        doc = apr_pstrcat(p, "{\"huge\":\"", s, "\",\"id\":\"c1\","
                          "\"status\":\"ACCEPTED\",\"scope\":[\"openid\"]}",
                          NULL);
        rv = consent(&c, doc, &err);
        ok(rv == APR_SUCCESS && streq(c->id, "c1") &&
               c->scopes->nelts == 1,
           "1 MB unknown string field ignored");
    }

    /* Duplicate keys: json-c keeps the last one (documented). */
    rv = consent(&c, "{\"id\":\"c1\",\"status\":\"REVOKED\","
                     "\"status\":\"ACCEPTED\"}",
                 &err);
    ok(rv == APR_SUCCESS, "duplicate status parses");
    if (rv == APR_SUCCESS)
        is_str(c->status, "ACCEPTED", "  last duplicate wins");
    rv = consent(&c, "{\"id\":\"c1\",\"status\":\"ACCEPTED\","
                     "\"scope\":\"bad\",\"scope\":[\"openid\"],"
                     "\"application\":{\"id\":\"a1\"},"
                     "\"application\":{\"id\":\"a2\"}}",
                 &err);
    ok(rv == APR_SUCCESS && c->scopes->nelts == 1 &&
           streq(c->app_id, "a2"),
       "duplicate scope/application: last wins, no leak");
    bad_consent("{\"id\":\"c1\",\"status\":\"ACCEPTED\","
                "\"scope\":[\"openid\"],\"scope\":\"bad\"}",
                "duplicate scope ending with a bad one", "consent.scope");

    /* Top level of the wrong type. */
    bad_consent("[" DOC_ONE "]", "top-level array", "not a JSON object");
    bad_consent("\"ACCEPTED\"", "top-level string", "not a JSON object");
    bad_consent("42", "top-level number", "not a JSON object");
    bad_consent("null", "top-level null", "not a JSON object");
    bad_consent("true", "top-level true", "not a JSON object");

    /* Reasons never quote the body. */
    err = NULL;
    consent(&c, "{\"id\":\"c1\",\"status\":\"ACCEPTED\",\"scope\":"
                "[\"SECRET-SCOPE value\"]}",
            &err);
    ok(err != NULL && strstr(err, "SECRET") == NULL,
       "reason does not echo body content");
}

/* ---- collections -------------------------------------------------------- */

#define ITEM(id, st, app, upd)                                                 \
    "{\"id\":\"" id "\",\"status\":\"" st "\",\"application\":{\"id\":\"" app  \
    "\"},\"user\":{\"id\":\"u1\"},\"scope\":[\"openid\",\"profile\"],"         \
    "\"updatedAt\":\"" upd "\"}"

static void test_lists(void)
{
    apr_array_header_t *a;
    const char *err;
    apr_status_t rv;
    pc_consent_t *c;
    char *doc;
    int i;

    rv = list(&a,
              "{\"_links\":{\"self\":{\"href\":\"https://x/\"}},"
              "\"_embedded\":{\"oauthConsents\":["
              ITEM("c1", "REVOKED", "a1", "2022-01-01T00:00:00Z") ","
              ITEM("c2", "ACCEPTED", "a1", "2022-08-23T22:23:34.624Z") ","
              ITEM("c3", "DECLINED", "a2", "2023-01-01T00:00:00+01:00")
              "]},\"count\":3,\"size\":3}",
              &err);
    ok(rv == APR_SUCCESS && a != NULL, "list of three consents parses");
    if (rv == APR_SUCCESS) {
        is_int(a->nelts, 3, "  three items");
        if (a->nelts == 3) {
            c = APR_ARRAY_IDX(a, 0, pc_consent_t *);
            is_str(c->id, "c1", "  item 0 id");
            is_str(c->status, "REVOKED", "  item 0 status");
            c = APR_ARRAY_IDX(a, 1, pc_consent_t *);
            is_str(c->id, "c2", "  item 1 id");
            is_str(c->status, "ACCEPTED", "  item 1 status");
            is_int(c->updated_at, T_EXAMPLE, "  item 1 updatedAt");
            is_int(c->scopes->nelts, 2, "  item 1 scopes");
            is_str(c->user_id, "u1", "  item 1 user");
            c = APR_ARRAY_IDX(a, 2, pc_consent_t *);
            is_str(c->app_id, "a2", "  item 2 app");
            is_int(c->updated_at, 1672527600000000LL, "  item 2 offset time");
        }
    }

    rv = list(&a, "{\"_embedded\":{\"consents\":["
                  ITEM("c9", "ACCEPTED", "a9", "2022-01-01T00:00:00Z")
                  "],\"note\":\"x\",\"more\":{}}}",
              &err);
    ok(rv == APR_SUCCESS && a->nelts == 1 &&
           streq(APR_ARRAY_IDX(a, 0, pc_consent_t *)->id, "c9"),
       "the single array under _embedded is used");
    rv = list(&a, "{\"_embedded\":{\"other\":[1,2],\"oauthConsents\":["
                  ITEM("c8", "ACCEPTED", "a8", "2022-01-01T00:00:00Z") "]}}",
              &err);
    ok(rv == APR_SUCCESS && a->nelts == 1 &&
           streq(APR_ARRAY_IDX(a, 0, pc_consent_t *)->id, "c8"),
       "oauthConsents preferred over other arrays");
    bad_list("{\"_embedded\":{\"x\":[],\"y\":[]}}", "two unnamed arrays",
             "several arrays");

    rv = list(&a, "{\"_embedded\":{\"oauthConsents\":[]},\"count\":0}", &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 0, "empty list");
    rv = list(&a, "{\"_embedded\":{}}", &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 0, "empty _embedded");
    rv = list(&a, "{\"count\":0,\"size\":0}", &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 0, "missing _embedded");
    rv = list(&a, "{}", &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 0, "empty object");
    rv = list(&a, "{\"_embedded\":null}", &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 0, "_embedded null");

    bad_list("[]", "top-level array", "not a JSON object");
    bad_list("null", "top-level null", "not a JSON object");
    bad_list("{\"_embedded\":[]}", "_embedded as array",
             "_embedded is not an object");
    bad_list("{\"_embedded\":{\"oauthConsents\":{}}}",
             "oauthConsents as object", "not an array");
    bad_list("{\"_embedded\":{\"oauthConsents\":[\"c1\"]}}",
             "string item", "consent is not an object");
    bad_list("{\"_embedded\":{\"oauthConsents\":[" ITEM("c1", "ACCEPTED", "a",
             "2022-01-01T00:00:00Z") ",{\"id\":\"c2\"}]}}",
             "second item without status", "consent.status is missing");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"c1\","
             "\"status\":\"ACCEPTED\",\"scope\":\"openid\"}]}}",
             "item scope as string", "consent.scope");
    bad_list("{\"_embedded\":{\"oauthConsents\":[{\"id\":\"c1\","
             "\"status\":\"ACCEPTED\",\"updatedAt\":\"2023-02-30T00:00:00Z\"}]}}",
             "item with a bad date", "consent.updatedAt");
    bad_list("{\"_embedded\":{\"oauthConsents\":[" ITEM("c1", "ACCEPTED", "a",
             "2022-01-01T00:00:00Z") "]}", "truncated list", "truncated");

    /* 1000 items fine, 1001 not */
    doc = apr_pstrdup(p, "{\"_embedded\":{\"oauthConsents\":[");
    for (i = 0; i < 1000; i++)
        doc = apr_pstrcat(p, doc, i ? "," : "",
                          "{\"id\":\"c\",\"status\":\"ACCEPTED\"}", NULL);
    rv = list(&a, apr_pstrcat(p, doc, "]}}", NULL), &err);
    ok(rv == APR_SUCCESS && a->nelts == 1000, "1000 items accepted");
    bad_list(apr_pstrcat(p, doc, ",{\"id\":\"c\",\"status\":\"ACCEPTED\"}]}}",
                         NULL),
             "1001 items", "more than 1000");
}

static void test_pages(void)
{
    static const struct { const char *doc; int ok; const char *next; const char *why; } cases[] = {
        {"{\"_embedded\":{\"oauthConsents\":[]}}", 1, NULL, "no _links: last page"},
        {"{\"_links\":{\"self\":{\"href\":\"s\"}},\"_embedded\":{\"oauthConsents\":[]}}", 1, NULL, "no next: last page"},
        {"{\"_links\":{\"next\":{\"href\":\"https://n/?c=1\"}},\"_embedded\":{\"oauthConsents\":[]}}", 1, "https://n/?c=1", "next href"},
        {"{\"_links\":{\"next\":null},\"_embedded\":{\"oauthConsents\":[]}}", 1, NULL, "next null: last page"},
        {"{\"_links\":null}", 1, NULL, "_links null"},
        {"{\"_links\":[],\"_embedded\":{\"oauthConsents\":[]}}", 0, NULL, "_links an array"},
        {"{\"_links\":{\"next\":\"https://n/\"}}", 0, NULL, "next a string"},
        {"{\"_links\":{\"next\":{\"href\":7}}}", 0, NULL, "href a number"},
        {"{\"_links\":{\"next\":{\"href\":\"\"}}}", 0, NULL, "href empty"},
        {"{\"_links\":{\"next\":{}}}", 0, NULL, "href missing"},
        {"{\"_links\":{\"next\":{\"href\":\"a\\u0000b\"}}}", 0, NULL, "href with NUL"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_array_header_t *a = (apr_array_header_t *)1;
        const char *next = "unset", *err = NULL;
        apr_status_t rv = pc_json_parse_consent_page(&a, &next, cases[i].doc,
                                                     strlen(cases[i].doc), p, &err);
        if (cases[i].ok)
            ok(rv == APR_SUCCESS && a != NULL &&
                   (cases[i].next ? next && strcmp(next, cases[i].next) == 0 : next == NULL),
               "page: %s", cases[i].why);
        else
            ok(rv != APR_SUCCESS && a == NULL && next == NULL && err && *err,
               "page refused: %s (%s)", cases[i].why, err ? err : "-");
    }
    {
        apr_array_header_t *a;
        const char *err;
        const char *doc = "{\"_links\":{\"next\":{\"href\":\"https://n/\"}},"
                          "\"_embedded\":{\"oauthConsents\":[]}}";
        ok(pc_json_parse_consent_page(&a, NULL, doc, strlen(doc), p, &err) == APR_SUCCESS,
           "page without a next out-parameter");
    }
}

static void test_users(void)
{
    apr_array_header_t *a;
    const char *err;
    apr_status_t rv;
    pc_user_t *u;
    char *doc;
    int i;

    rv = users(&a,
               "{\"_links\":{\"self\":{\"href\":\"x\"}},\"count\":2,\"size\":2,"
               "\"_embedded\":{\"users\":["
               "{\"id\":\"01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4\","
               "\"username\":\"Alice\",\"email\":\"a@example.com\","
               "\"enabled\":true,\"name\":{\"given\":\"A\"}},"
               "{\"id\":\"u2\"}]}}",
               &err);
    ok(rv == APR_SUCCESS && a != NULL && a->nelts == 2, "user list parses");
    if (rv == APR_SUCCESS && a->nelts == 2) {
        u = APR_ARRAY_IDX(a, 0, pc_user_t *);
        is_str(u->id, "01dee5b5-70f5-4e51-b6c5-0e4ca3e4a2e4", "  user 0 id");
        is_str(u->username, "Alice", "  user 0 username");
        u = APR_ARRAY_IDX(a, 1, pc_user_t *);
        is_str(u->id, "u2", "  user 1 id");
        is_str(u->username, NULL, "  user 1 without username");
    }
    rv = users(&a, "{\"_embedded\":{\"users\":[]}}", &err);
    ok(rv == APR_SUCCESS && a->nelts == 0, "no users");
    rv = users(&a, "{\"count\":0}", &err);
    ok(rv == APR_SUCCESS && a->nelts == 0, "users without _embedded");

    bad_users("{\"_embedded\":{\"users\":[{\"username\":\"a\"}]}}",
              "user without id", "user.id is missing");
    bad_users("{\"_embedded\":{\"users\":[{\"id\":5}]}}", "numeric id",
              "user.id is not a string");
    bad_users("{\"_embedded\":{\"users\":[{\"id\":\"u\",\"username\":[]}]}}",
              "username as array", "user.username is not a string");
    bad_users("{\"_embedded\":{\"users\":[\"u1\"]}}", "string item",
              "user is not an object");
    bad_users("{\"_embedded\":{\"users\":{}}}", "users as object",
              "not an array");
    bad_users("{\"_embedded\":\"x\"}", "_embedded as string",
              "_embedded is not an object");
    bad_users("[]", "top-level array", "not a JSON object");
    doc = apr_pstrdup(p, "{\"_embedded\":{\"users\":[");
    for (i = 0; i < 1001; i++)
        doc = apr_pstrcat(p, doc, i ? "," : "", "{\"id\":\"u\"}", NULL);
    bad_users(apr_pstrcat(p, doc, "]}}", NULL), "1001 users",
              "more than 1000");
}

/* ---- token -------------------------------------------------------------- */

static void test_token(void)
{
    pc_token_resp_t *t;
    const char *err;
    apr_status_t rv;
    char *tok;

    rv = token(&t, "{\"access_token\":\"eyJhbGciOi.JSUzI1Ni-_Iz~+/=\","
                   "\"token_type\":\"Bearer\",\"expires_in\":3600}",
               &err);
    ok(rv == APR_SUCCESS && t != NULL, "token answer parses");
    if (rv == APR_SUCCESS) {
        is_str(t->access_token, "eyJhbGciOi.JSUzI1Ni-_Iz~+/=", "  access_token");
        is_str(t->token_type, "Bearer", "  token_type");
        is_int(t->expires_in, 3600, "  expires_in");
    }
    rv = token(&t, "{\"access_token\":\"abc\"}", &err);
    ok(rv == APR_SUCCESS && t->expires_in == 3600 &&
           streq(t->token_type, "Bearer"),
       "defaults: 3600 s, Bearer");
    rv = token(&t, "{\"access_token\":\"abc\",\"token_type\":\"bEARER\","
                   "\"expires_in\":60,\"scope\":\"x\"}",
               &err);
    ok(rv == APR_SUCCESS && t->expires_in == 60 &&
           streq(t->token_type, "Bearer"),
       "token_type case-insensitive");

    /* expires_in */
    rv = token(&t, "{\"access_token\":\"abc\",\"expires_in\":-5}", &err);
    ok(rv == APR_SUCCESS && t->expires_in == 0, "negative expires_in -> 0");
    rv = token(&t, "{\"access_token\":\"abc\",\"expires_in\":0}", &err);
    ok(rv == APR_SUCCESS && t->expires_in == 0, "expires_in 0");
    rv = token(&t, "{\"access_token\":\"abc\",\"expires_in\":99999999999}",
               &err);
    ok(rv == APR_SUCCESS && t->expires_in == 86400 * 366,
       "huge expires_in clamped");
    rv = token(&t, "{\"access_token\":\"abc\","
                   "\"expires_in\":99999999999999999999999}",
               &err);
    ok(rv == APR_SUCCESS && t->expires_in == 86400 * 366,
       "expires_in beyond 64 bits clamped");
    rv = token(&t, "{\"access_token\":\"abc\","
                   "\"expires_in\":-99999999999999999999999}",
               &err);
    ok(rv == APR_SUCCESS && t->expires_in == 0,
       "expires_in below -2^63 clamped to 0");
    rv = token(&t, "{\"access_token\":\"abc\",\"expires_in\":\"7200\"}", &err);
    ok(rv == APR_SUCCESS && t->expires_in == 7200, "expires_in as digits");
    rv = token(&t, "{\"access_token\":\"abc\","
                   "\"expires_in\":\"999999999999999999999999999\"}",
               &err);
    ok(rv == APR_SUCCESS && t->expires_in == 86400 * 366,
       "huge digit string clamped");
    rv = token(&t, "{\"access_token\":\"abc\",\"expires_in\":null}", &err);
    ok(rv == APR_SUCCESS && t->expires_in == 3600, "expires_in null -> 3600");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":\"-5\"}",
              "expires_in \"-5\"", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":\"1h\"}",
              "expires_in \"1h\"", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":\"\"}",
              "expires_in \"\"", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":\" 60\"}",
              "expires_in \" 60\"", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":3600.5}",
              "fractional expires_in", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":true}",
              "boolean expires_in", "expires_in is not an integer");
    bad_token("{\"access_token\":\"abc\",\"expires_in\":[3600]}",
              "array expires_in", "expires_in is not an integer");

    /* token_type */
    bad_token("{\"access_token\":\"abc\",\"token_type\":\"mac\"}",
              "token_type mac", "token_type is not Bearer");
    bad_token("{\"access_token\":\"abc\",\"token_type\":\"Bearer \"}",
              "token_type with a space", "token_type is not Bearer");
    bad_token("{\"access_token\":\"abc\",\"token_type\":\"\"}",
              "empty token_type", "token_type is not Bearer");
    bad_token("{\"access_token\":\"abc\",\"token_type\":1}",
              "numeric token_type", "token_type is not a string");

    /* access_token */
    bad_token("{\"token_type\":\"Bearer\"}", "no access_token",
              "access_token is missing");
    bad_token("{\"access_token\":null}", "null access_token",
              "access_token is missing");
    bad_token("{\"access_token\":\"\"}", "empty access_token",
              "access_token is empty");
    bad_token("{\"access_token\":12345}", "numeric access_token",
              "access_token is not a string");
    bad_token("{\"access_token\":\"abc\\r\\nX-Evil: 1\"}", "CR LF in token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"abc\\ndef\"}", "LF in token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"abc def\"}", "space in token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"abc\\tdef\"}", "tab in token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"abc\\u007f\"}", "DEL in token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"caf\xc3\xa9\"}", "non-ASCII token",
              "not allowed in a header");
    bad_token("{\"access_token\":\"abc\\u0000def\"}", "NUL in token",
              "NUL character");

    /* no secret in the reason */
    err = NULL;
    token(&t, "{\"access_token\":\"SECRET-TOKEN-XYZ \"}", &err);
    ok(err != NULL && strstr(err, "SECRET") == NULL,
       "reason does not echo the token");

    tok = apr_palloc(p, 8193 + 1);
    memset(tok, 'a', 8193);
    tok[8193] = '\0';
    bad_token(apr_pstrcat(p, "{\"access_token\":\"", tok, "\"}", NULL),
              "8193-byte token", "longer than 8192");
    tok[8192] = '\0';
    rv = token(&t, apr_pstrcat(p, "{\"access_token\":\"", tok, "\"}", NULL),
               &err);
    ok(rv == APR_SUCCESS && strlen(t->access_token) == 8192,
       "8192-byte token accepted");

    bad_token("[\"abc\"]", "top-level array", "not a JSON object");
    bad_token("{\"access_token\":\"abc\"", "truncated", "truncated");
    bad_token("{\"access_token\":\"abc\"}x", "trailing garbage", "invalid");
}

/* ---- error body --------------------------------------------------------- */

static void test_error_body(void)
{
    pc_api_error_t *e;
    const char *err;
    apr_status_t rv;

    rv = apierr(&e,
                "{\"id\":\"5f3a8e07-1234-4abc-8def-0123456789ab\","
                "\"code\":\"INVALID_DATA\",\"message\":\"The request could "
                "not be completed. One or more validation errors were in the "
                "request.\",\"details\":[{\"code\":\"INVALID_FILTER\","
                "\"target\":\"filter\",\"message\":\"bad filter\"},"
                "{\"code\":\"INVALID_VALUE\"}]}",
                &err);
    ok(rv == APR_SUCCESS && e != NULL, "error body with details parses");
    if (rv == APR_SUCCESS) {
        is_str(e->code, "INVALID_DATA", "  code");
        ok(e->message && strncmp(e->message, "The request could", 17) == 0,
           "  message");
        is_str(e->detail_code, "INVALID_FILTER", "  first detail code");
    }
    rv = apierr(&e, "{\"code\":\"ACCESS_FAILED\",\"message\":\"no\"}", &err);
    ok(rv == APR_SUCCESS && streq(e->code, "ACCESS_FAILED") &&
           e->detail_code == NULL,
       "error body without details");
    rv = apierr(&e, "{\"error\":\"invalid_client\","
                    "\"error_description\":\"Unsupported authentication "
                    "method\"}",
                &err);
    ok(rv == APR_SUCCESS && e->code && streq(e->code, "invalid_client") &&
           e->message && strncmp(e->message, "Unsupported", 11) == 0,
       "OAuth error shape");
    rv = apierr(&e, "{\"code\":5,\"message\":[\"x\"],\"details\":\"y\"}", &err);
    ok(rv == APR_SUCCESS && e->code == NULL && e->message == NULL &&
           e->detail_code == NULL,
       "wrong types ignored, not fatal");
    rv = apierr(&e, "{\"code\":\"X\",\"details\":[\"y\",{\"code\":\"Z\"}]}",
                &err);
    ok(rv == APR_SUCCESS && streq(e->code, "X") &&
           e->detail_code == NULL,
       "first detail not an object: no detail code");
    rv = apierr(&e, "{\"details\":[{\"code\":7}]}", &err);
    ok(rv == APR_SUCCESS && e->detail_code == NULL, "numeric detail code");
    rv = apierr(&e, "{\"details\":[]}", &err);
    ok(rv == APR_SUCCESS && e->detail_code == NULL, "empty details");
    rv = apierr(&e, "{}", &err);
    ok(rv == APR_SUCCESS && e->code == NULL && e->message == NULL,
       "empty object");
    rv = apierr(&e, "{\"code\":\"\",\"message\":\"\"}", &err);
    ok(rv == APR_SUCCESS && e->code == NULL && e->message == NULL,
       "empty strings read as absent");

    e = (pc_api_error_t *)&e;
    rv = apierr(&e, "[{\"code\":\"X\"}]", &err);
    ok(rv == APR_EGENERAL && e == NULL && has(err, "not a JSON object"),
       "top-level array refused");
    rv = apierr(&e, "\"oops\"", &err);
    ok(rv == APR_EGENERAL && e == NULL, "top-level string refused");
    rv = apierr(&e, "<html>502 Bad Gateway</html>", &err);
    ok(rv == APR_EGENERAL && e == NULL && has(err, "invalid JSON"),
       "HTML refused");
    rv = apierr(&e, "{\"code\":\"X\"", &err);
    ok(rv == APR_EGENERAL && has(err, "truncated"), "truncated refused");
}

/* ---- job ---------------------------------------------------------------- */

static void test_job(void)
{
    pc_job_t *j;
    const char *err;
    apr_status_t rv;

    rv = job(&j, "{\"_links\":{\"self\":{\"href\":\"x\"}},"
                 "\"id\":\"f1e2d3c4-0000-4000-8000-000000000001\","
                 "\"environment\":{\"id\":\"e\"},"
                 "\"type\":\"REVOKE_OATH_TOKENS\",\"async\":true,"
                 "\"status\":\"DONE\",\"result\":{\"revoked\":5}}",
             &err);
    ok(rv == APR_SUCCESS && j != NULL, "DONE job parses");
    if (rv == APR_SUCCESS) {
        is_str(j->id, "f1e2d3c4-0000-4000-8000-000000000001", "  id");
        is_str(j->status, "DONE", "  status");
        is_int(j->state, PC_JOB_DONE, "  state DONE");
        is_int(j->revoked, 5, "  revoked");
        is_str(j->reason, NULL, "  no reason");
    }
    rv = job(&j, "{\"id\":\"j\",\"status\":\"FAILED\","
                 "\"reason\":\"Token not found\"}",
             &err);
    ok(rv == APR_SUCCESS && j->state == PC_JOB_FAILED && j->revoked == -1,
       "FAILED job");
    if (rv == APR_SUCCESS)
        is_str(j->reason, "Token not found", "  reason");
    rv = job(&j, "{\"id\":\"j\",\"status\":\"IN_PROGRESS\"}", &err);
    ok(rv == APR_SUCCESS && j->state == PC_JOB_RUNNING && j->revoked == -1,
       "IN_PROGRESS is running");
    rv = job(&j, "{\"id\":\"j\",\"status\":\"SOMETHING_NEW\",\"result\":{}}",
             &err);
    ok(rv == APR_SUCCESS && j->state == PC_JOB_RUNNING && j->revoked == -1,
       "unknown status is running");
    if (rv == APR_SUCCESS)
        is_str(j->status, "SOMETHING_NEW", "  status as received");
    rv = job(&j, "{\"id\":\"j\",\"status\":\"done\"}", &err);
    ok(rv == APR_SUCCESS && j->state == PC_JOB_RUNNING,
       "lower-case done is not DONE");
    rv = job(&j, "{\"id\":\"j\",\"status\":\"DONE \"}", &err);
    ok(rv == APR_SUCCESS && j->state == PC_JOB_RUNNING,
       "DONE with a space is not DONE");
    rv = job(&j, "{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":0}}",
             &err);
    ok(rv == APR_SUCCESS && j->revoked == 0, "revoked 0");

    bad_job("{\"status\":\"DONE\"}", "no id", "job.id is missing");
    bad_job("{\"id\":3,\"status\":\"DONE\"}", "numeric id",
            "job.id is not a string");
    bad_job("{\"id\":\"j\"}", "no status", "job.status is missing");
    bad_job("{\"id\":\"j\",\"status\":1}", "numeric status",
            "job.status is not a string");
    bad_job("{\"id\":\"j\",\"status\":\"DONE\",\"result\":5}",
            "result as number", "job.result is not an object");
    bad_job("{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":-1}}",
            "negative revoked", "job.result.revoked");
    bad_job("{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":\"5\"}}",
            "revoked as string", "job.result.revoked");
    bad_job("{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":2.5}}",
            "fractional revoked", "job.result.revoked");
    bad_job("{\"id\":\"j\",\"status\":\"FAILED\",\"reason\":{}}",
            "reason as object", "job.reason is not a string");
    bad_job("[]", "top-level array", "not a JSON object");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);

    test_consent_example();
    test_consent_fields();
    test_consent_types();
    test_scopes();
    test_hostile();
    test_lists();
    test_pages();
    test_users();
    test_token();
    test_error_body();
    test_job();

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

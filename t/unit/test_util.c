/* Unit tests: validation, escaping, URL building, directive values. */
#include "pc_util.h"
#include "tap.h"

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

static apr_pool_t *p;

static void test_uuid(void)
{
    ok(pc_is_uuid("abcdef01-2345-4678-9abc-def012345678"), "lowercase UUID");
    ok(pc_is_uuid("ABCDEF01-2345-4678-9ABC-DEF012345678"), "uppercase UUID");
    ok(!pc_is_uuid(NULL), "NULL is no UUID");
    ok(!pc_is_uuid(""), "empty is no UUID");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567"), "35 chars");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def0123456789"), "37 chars");
    ok(!pc_is_uuid("abcdef0112345-4678-9abc-def012345678"), "dash missing");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567g"), "non-hex");
    ok(!pc_is_uuid("../../../../../../etc/passwd/x/y/z/w"), "path traversal, 36 chars");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def0123456%2F"), "percent");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567\""), "quote");
}

static void test_escaping(void)
{
    char *big = apr_palloc(p, 300);
    memset(big, 'a', 299);
    big[299] = '\0';

    is_str(pc_url_encode(p, "a b/c?d=e&f\"g%"), "a%20b%2Fc%3Fd%3De%26f%22g%25", "url encode reserved");
    is_str(pc_url_encode(p, "AZaz09-._~"), "AZaz09-._~", "unreserved kept");
    is_str(pc_url_encode(p, "\xc3\xa9"), "%C3%A9", "UTF-8 bytes encoded");
    is_str(pc_scim_quote(p, "Web Portal"), "\"Web Portal\"", "plain name quoted");
    is_str(pc_scim_quote(p, "Reports \"Beta\""), "\"Reports \\\"Beta\\\"\"", "quotes escaped");
    is_str(pc_scim_quote(p, "a\\b"), "\"a\\\\b\"", "backslash escaped");
    is_str(pc_scim_quote(p, "x\" or username pr \""), "\"x\\\" or username pr \\\"\"", "filter injection neutralised");
    ok(pc_scim_quote(p, "") == NULL, "empty name refused");
    ok(pc_scim_quote(p, "a\nb") == NULL, "newline refused");
    ok(pc_scim_quote(p, "a\x7f") == NULL, "DEL refused");
    ok(pc_scim_quote(p, big) == NULL, "over 256 bytes refused");
    ok(pc_scim_quote(p, "\xff\xfe") == NULL, "invalid UTF-8 refused");
    ok(pc_scim_quote(p, "\xc0\xaf") == NULL, "overlong UTF-8 refused");
    ok(pc_scim_quote(p, "\xed\xa0\x80") == NULL, "surrogate refused");
    ok(pc_scim_quote(p, "J\xc3\xbcrgen") != NULL, "valid UTF-8 accepted");
    is_str(pc_log_safe(p, "a\"b\n\x01", 100), "a\\x22b\\x0a\\x01", "log_safe escapes");
    is_str(pc_log_safe(p, "abcdef", 3), "abc...", "log_safe truncates");
    is_str(pc_log_safe(p, NULL, 3), "(null)", "log_safe NULL");
    is_str(pc_base64(p, "id:secret", 9), "aWQ6c2VjcmV0", "base64");
}

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

static void test_directives(void)
{
    const char *out, *err, *secret, *env;
    int t, c;
    char *path;
    apr_file_t *f;

    ok(pc_parse_base_url(p, "https://api.pingone.com/v1/", &out) == NULL, "https URL");
    is_str(out, "https://api.pingone.com/v1", "trailing slash removed");
    ok(pc_parse_base_url(p, "http://127.0.0.1:8091", &out) == NULL, "http URL with port");
    ok(pc_parse_base_url(p, "ftp://x", &out) != NULL, "ftp refused");
    ok(pc_parse_base_url(p, "https://", &out) != NULL, "no host refused");
    ok(pc_parse_base_url(p, "https:///x", &out) != NULL, "empty host refused");
    ok(pc_parse_base_url(p, "https://a/b?c", &out) != NULL, "query refused");
    ok(pc_parse_base_url(p, "https://a/b#c", &out) != NULL, "fragment refused");
    ok(pc_parse_base_url(p, "https://u:p@a/b", &out) != NULL, "userinfo refused");
    ok(pc_parse_base_url(p, "https://a/b c", &out) != NULL, "space refused");
    ok(pc_parse_base_url(p, "https://a/b@c", &out) == NULL, "@ in the path is fine");

    ok(pc_parse_timeout(p, "3000", NULL, &t, &c) == NULL, "timeout total only");
    ok(t == 3000 && c == 1000, "connect defaults to 1000");
    ok(pc_parse_timeout(p, "500", NULL, &t, &c) == NULL && c == 500, "connect capped by total");
    ok(pc_parse_timeout(p, "2000", "300", &t, &c) == NULL && t == 2000 && c == 300, "both given");
    ok(pc_parse_timeout(p, "0", NULL, &t, &c) != NULL, "0 refused");
    ok(pc_parse_timeout(p, "-5", NULL, &t, &c) != NULL, "negative refused");
    ok(pc_parse_timeout(p, "10s", NULL, &t, &c) != NULL, "unit suffix refused");
    ok(pc_parse_timeout(p, "600001", NULL, &t, &c) != NULL, "over 600000 refused");
    ok(pc_parse_timeout(p, "99999999999999999999", NULL, &t, &c) != NULL, "overflow refused");
    ok(pc_parse_timeout(p, "1000", "2000", &t, &c) != NULL, "connect over total refused");

    ok(pc_parse_secret(p, "plain-secret", &secret) == NULL, "inline secret");
    is_str(secret, "plain-secret", "inline secret value");
    ok(pc_parse_secret(p, "", &secret) != NULL, "empty secret refused");
    apr_env_set("PC_UNIT_SECRET", "from-env", p);
    ok(pc_parse_secret(p, "env:PC_UNIT_SECRET", &secret) == NULL, "env secret");
    is_str(secret, "from-env", "env secret value");
    err = pc_parse_secret(p, "env:PC_UNIT_NOT_SET", &secret);
    ok(err && strstr(err, "PC_UNIT_NOT_SET"), "unset env names the variable");
    path = apr_pstrdup(p, "/tmp/pc_unit_secretXXXXXX");
    apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    apr_file_puts("file-secret\r\nsecond line\n", f);
    apr_file_close(f);
    ok(pc_parse_secret(p, apr_pstrcat(p, "file:", path, NULL), &secret) == NULL, "file secret");
    is_str(secret, "file-secret", "file secret: first line, CR LF stripped");
    apr_file_remove(path, p);
    err = pc_parse_secret(p, "file:/nonexistent/x", &secret);
    ok(err && strstr(err, "cannot read secret file") && strstr(err, "/nonexistent/x"), "missing file named");
    ok(pc_parse_secret(p, "a\tb", &secret) != NULL, "control chars refused");

    ok(pc_parse_user_from(p, "REMOTE_USER", &env) == NULL && env == NULL, "REMOTE_USER");
    ok(pc_parse_user_from(p, "env:OIDC_CLAIM_sub", &env) == NULL, "env:NAME");
    is_str(env, "OIDC_CLAIM_sub", "env name");
    ok(pc_parse_user_from(p, "env:", &env) != NULL, "env: without name refused");
    ok(pc_parse_user_from(p, "env:A B", &env) != NULL, "bad env name refused");
    ok(pc_parse_user_from(p, "HTTP_X_USER", &env) != NULL, "other value refused");

    ok(pc_check_scope(p, "openid") == NULL, "scope openid");
    ok(pc_check_scope(p, "p1:read/all") == NULL, "scope with : and /");
    ok(pc_check_scope(p, "a b") != NULL, "scope with space refused");
    ok(pc_check_scope(p, "a\"b") != NULL, "scope with quote refused");
    ok(pc_check_scope(p, "a\\b") != NULL, "scope with backslash refused");
    ok(pc_check_scope(p, "") != NULL, "empty scope refused");
    ok(pc_check_scope(p, "\xc3\xa9") != NULL, "non-ASCII scope refused");
}

static void test_retry_after(void)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    char date[APR_RFC822_DATE_LEN];

    is_int(pc_retry_after_seconds("7", now, 5), 7, "delta seconds");
    is_int(pc_retry_after_seconds(NULL, now, 5), 5, "absent -> default");
    is_int(pc_retry_after_seconds("soon", now, 5), 5, "garbage -> default");
    is_int(pc_retry_after_seconds("0", now, 5), 1, "0 -> at least 1");
    is_int(pc_retry_after_seconds("999999", now, 5), 3600, "clamped to 3600");
    is_int(pc_retry_after_seconds("99999999999999999999999", now, 5), 5, "overflow -> default");
    apr_rfc822_date(date, now + apr_time_from_sec(30));
    is_int(pc_retry_after_seconds(date, now, 5), 30, "HTTP date 30 s ahead");
    apr_rfc822_date(date, now - apr_time_from_sec(30));
    is_int(pc_retry_after_seconds(date, now, 5), 1, "HTTP date in the past -> 1");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_uuid();
    test_escaping();
    test_urls();
    test_directives();
    test_retry_after();
    test_next_links();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

/*
 * pc_util.c - validation, escaping, URL building and directive values.
 */
#include "pc_util.h"

#include <apr_base64.h>
#include <apr_date.h>
#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pc_is_uuid(const char *s)
{
    static const int dash_at[] = {8, 13, 18, 23};
    int i, d = 0;

    if (s == NULL || strlen(s) != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        if (d < 4 && i == dash_at[d]) {
            if (s[i] != '-')
                return 0;
            d++;
        }
        else if (!apr_isxdigit(s[i])) {
            return 0;
        }
    }
    return 1;
}

const char *pc_uuid_lower(apr_pool_t *p, const char *s)
{
    char *out;
    int i;

    if (!pc_is_uuid(s))
        return s;
    for (i = 0; i < 36 && !apr_isupper(s[i]); i++)
        ;
    if (i == 36)
        return s;
    out = apr_pstrdup(p, s);
    for (; i < 36; i++)
        out[i] = (char)apr_tolower(out[i]);
    return out;
}

static int is_unreserved(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

const char *pc_url_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = strlen(s);
    char *out = apr_palloc(p, n * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_unreserved(c)) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *pc_form_encode(apr_pool_t *p, const char *s)
{
    return pc_url_encode(p, s);
}

/* Strict UTF-8 check: no overlongs, no surrogates, max U+10FFFF. */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned char c = *s;
        int n;
        unsigned long cp;

        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        }
        else {
            return 0;
        }
        s++;
        while (n--) {
            if ((*s & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (*s & 0x3F);
            s++;
        }
        if (cp < 0x80 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF ||
            (cp < 0x800 && c >= 0xE0) || (cp < 0x10000 && c >= 0xF0))
            return 0;
    }
    return 1;
}

const char *pc_scim_quote(apr_pool_t *p, const char *s)
{
    apr_size_t n;
    const char *c;
    char *out, *o;

    if (s == NULL || (n = strlen(s)) == 0 || n > PC_MAX_NAME_LEN ||
        !valid_utf8((const unsigned char *)s))
        return NULL;
    for (c = s; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return NULL;
    }
    out = o = apr_palloc(p, n * 2 + 3);
    *o++ = '"';
    for (c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            *o++ = '\\';
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *pc_log_safe(apr_pool_t *p, const char *s, apr_size_t max)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t n = 0;
    char *out, *o;

    if (s == NULL)
        return "(null)";
    out = o = apr_palloc(p, max * 4 + 4);
    for (; *s && n < max; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        else {
            *o++ = (char)c;
        }
    }
    if (*s) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

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

const char *pc_base64(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, apr_base64_encode_len((int)len));
    apr_base64_encode(out, s, (int)len);
    return out;
}

int pc_secret_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), i;
    volatile unsigned char diff = (unsigned char)(na != nb);

    for (i = 0; i < na; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return nb != 0 && diff == 0;
}

/* --- directive values --------------------------------------------------- */

const char *pc_parse_base_url(apr_pool_t *p, const char *arg,
                              const char **out)
{
    const char *host, *c;
    apr_size_t n;
    char *url;

    if (strncasecmp(arg, "https://", 8) == 0)
        host = arg + 8;
    else if (strncasecmp(arg, "http://", 7) == 0)
        host = arg + 7;
    else
        return apr_psprintf(p, "'%s' is not an http(s):// URL",
                            pc_log_safe(p, arg, 200));
    if (*host == '\0' || *host == '/' || *host == ':')
        return apr_psprintf(p, "'%s' has no host", pc_log_safe(p, arg, 200));
    for (c = arg; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u >= 0x7f)
            return "URL contains whitespace, control or non-ASCII characters";
        if (*c == '?' || *c == '#')
            return "URL must not contain a query or fragment";
    }
    c = strchr(host, '/');
    if (memchr(host, '@', c ? (apr_size_t)(c - host) : strlen(host)))
        return "URL must not contain user information (user@host)";
    url = apr_pstrdup(p, arg);
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    *out = url;
    return NULL;
}

int pc_parse_int(const char *s, long min, long max, int *out)
{
    char *end;
    long v;

    if (s == NULL || !apr_isdigit(*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_ms(const char *s, int *out)
{
    return pc_parse_int(s, 1, 600000, out);
}

const char *pc_parse_timeout(apr_pool_t *p, const char *total_arg,
                             const char *connect_arg, int *total_ms,
                             int *connect_ms)
{
    int t, c;

    if (parse_ms(total_arg, &t))
        return apr_psprintf(p, "total timeout '%s' must be 1..600000 ms",
                            pc_log_safe(p, total_arg, 40));
    if (connect_arg == NULL) {
        c = t < 1000 ? t : 1000;
    }
    else if (parse_ms(connect_arg, &c)) {
        return apr_psprintf(p, "connect timeout '%s' must be 1..600000 ms",
                            pc_log_safe(p, connect_arg, 40));
    }
    if (c > t)
        return "connect timeout must not exceed the total timeout";
    *total_ms = t;
    *connect_ms = c;
    return NULL;
}

/* Secrets go into an Authorization header or a form body: printable only. */
static int secret_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    }
    return 1;
}

const char *pc_parse_secret(apr_pool_t *p, const char *arg,
                            const char **secret)
{
    if (strncmp(arg, "file:", 5) == 0) {
        const char *path = arg + 5;
        apr_file_t *f;
        apr_status_t rv;
        char buf[4096];
        apr_size_t n = sizeof(buf) - 1;
        char *nl;

        rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            char err[120];
            return apr_psprintf(p, "cannot read secret file '%s': %s",
                                pc_log_safe(p, path, 200),
                                apr_strerror(rv, err, sizeof(err)));
        }
        rv = apr_file_read(f, buf, &n);
        apr_file_close(f);
        if (rv != APR_SUCCESS && rv != APR_EOF)
            return apr_psprintf(p, "cannot read secret file '%s'",
                                pc_log_safe(p, path, 200));
        buf[rv == APR_EOF ? 0 : n] = '\0';
        if ((nl = strpbrk(buf, "\r\n")) != NULL)
            *nl = '\0';
        if (!secret_ok(buf))
            return apr_psprintf(p, "secret file '%s' is empty or its first "
                                "line holds control characters",
                                pc_log_safe(p, path, 200));
        *secret = apr_pstrdup(p, buf);
        return NULL;
    }
    if (strncmp(arg, "env:", 4) == 0) {
        char *val = NULL;
        if (apr_env_get(&val, arg + 4, p) != APR_SUCCESS || val == NULL)
            return apr_psprintf(p, "environment variable '%s' is not set",
                                pc_log_safe(p, arg + 4, 100));
        if (!secret_ok(val))
            return apr_psprintf(p, "environment variable '%s' is empty or "
                                "holds control characters",
                                pc_log_safe(p, arg + 4, 100));
        *secret = val;
        return NULL;
    }
    if (!secret_ok(arg))
        return "the secret is empty or holds control characters";
    *secret = arg;
    return NULL;
}

const char *pc_parse_user_from(apr_pool_t *p, const char *arg,
                               const char **env_name)
{
    const char *c;

    if (strcasecmp(arg, "REMOTE_USER") == 0) {
        *env_name = NULL;
        return NULL;
    }
    if (strncasecmp(arg, "env:", 4) != 0 || arg[4] == '\0')
        return apr_psprintf(p, "'%s' must be REMOTE_USER or env:NAME",
                            pc_log_safe(p, arg, 100));
    for (c = arg + 4; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-' && *c != '.')
            return apr_psprintf(p, "'%s' is not a valid variable name",
                                pc_log_safe(p, arg + 4, 100));
    }
    *env_name = arg + 4;
    return NULL;
}

const char *pc_check_scope(apr_pool_t *p, const char *scope)
{
    const unsigned char *c;
    apr_size_t n = strlen(scope);

    if (n == 0 || n > 128)
        return "a scope must be 1..128 characters";
    for (c = (const unsigned char *)scope; *c; c++) {
        if (*c < 0x21 || *c == 0x22 || *c == 0x5c || *c > 0x7e)
            return apr_psprintf(p, "'%s' is not a valid OAuth scope",
                                pc_log_safe(p, scope, 130));
    }
    return NULL;
}

int pc_retry_after_seconds(const char *value, long long now_usec, int dflt)
{
    long long secs = dflt;

    if (value && *value) {
        if (apr_isdigit(*value)) {
            char *end;
            long long v;
            errno = 0;
            v = strtoll(value, &end, 10);
            if (!errno && !*end)
                secs = v;
        }
        else {
            apr_time_t t = apr_date_parse_http(value);
            if (t != APR_DATE_BAD)
                secs = (t - now_usec + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
        }
    }
    if (secs < 1)
        secs = 1;
    if (secs > 3600)
        secs = 3600;
    return (int)secs;
}

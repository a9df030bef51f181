/*
 * pc_text.c - checks and encodings of text.
 */
#include "pc_text.h"

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* On every hit several IDs pass here: no ctype call per character. */
static int hex_digit(unsigned char c)
{
    unsigned char l = c | 0x20;

    return (c >= '0' && c <= '9') || (l >= 'a' && l <= 'f');
}

int pc_is_uuid(const char *s)
{
    int i;

    if (s == NULL)
        return 0;
    for (i = 0; i < 36; i++) {   /* stops at a NUL: neither '-' nor hex */
        unsigned char c = (unsigned char)s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23 ? c != '-'
                                                    : !hex_digit(c))
            return 0;
    }
    return s[36] == '\0';
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

apr_size_t pc_utf8_char(const char *str, apr_size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char lo = 0x80, hi = 0xBF;
    apr_size_t need, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1; /* 0xC0, 0xC1 would only start overlong forms */
    }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        if (s[0] == 0xE0)
            lo = 0xA0; /* overlong */
        else if (s[0] == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        if (s[0] == 0xF0)
            lo = 0x90; /* overlong */
        else if (s[0] == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    }
    else {
        return 0;
    }
    if (n <= need || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return need + 1;
}

int pc_utf8_valid(const char *s, apr_size_t n)
{
    apr_size_t i = 0, k;

    while (i < n) {
        if ((k = pc_utf8_char(s + i, n - i)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

int pc_scope_token_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    if (u == NULL || *u == '\0')
        return 0;
    for (; *u; u++) {
        if (*u < 0x21 || *u == 0x22 || *u == 0x5C || *u > 0x7E)
            return 0;
    }
    return 1;
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

const char *pc_scim_quote(apr_pool_t *p, const char *s)
{
    apr_size_t n;
    const char *c;
    char *out, *o;

    if (s == NULL || (n = strlen(s)) == 0 || n > PC_MAX_NAME_LEN ||
        !pc_utf8_valid(s, n))
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

int pc_decimal(const char *s, long min, long max, int *out)
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

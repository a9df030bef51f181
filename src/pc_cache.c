/*
 * pc_cache.c - cache keys, values and TTL arithmetic (pure core).
 *
 * Encoding notes beyond the layout drawn in pc_cache.h:
 *  - The kind byte holds pc_cache_kind_e (1, 2 or 4) in its low bits and the
 *    unknown-user flag in its high bit (PC_KIND_UNKNOWN_USER, 0x80).  The
 *    flag is only written for entries without a consent, and a value with
 *    the flag and a consent status is rejected.
 *  - Times are stored as whole seconds (apr_time_sec, i.e. truncated), in a
 *    u32 clamped to 0..UINT32_MAX: anything before the epoch is stored as
 *    0, anything after 2106-02-07 as UINT32_MAX.  Truncation only ever makes
 *    fresh_until and a consent's expires_at earlier, never later.
 *  - An entry without a consent (status PC_CS_NONE) has no scopes, an empty
 *    consent ID and an empty app name; the decoder insists on that too.
 *  - Decoding copies every string into the pool; an empty app name becomes
 *    NULL (as when PingOne leaves it out), an empty consent ID stays "" so
 *    callers can print it.
 *  - Strings (every one, scopes included) that are canonical lowercase
 *    UUIDs are packed as PC_STR_UUID + 16 bytes; only those, so anything
 *    else, an uppercase UUID included, comes back byte for byte.  A text
 *    string holding a canonical UUID is rejected on decode: it would
 *    re-encode differently.
 */
#include "pc_cache.h"

#include <apr_sha1.h>
#include <apr_strings.h>
#include <limits.h>
#include <string.h>

#define PC_KIND_UNKNOWN_USER 0x80u
#define PC_KIND_MASK 0x7Fu
#define PC_STR_MAX 254u    /* longest text string */
#define PC_STR_UUID 0xFFu  /* length byte marking a packed UUID */
#define PC_UUID_TEXT 36u
#define PC_UUID_BIN 16u
#define PC_SCOPES_MAX 255u
#define PC_HEAD_LEN 16u /* 4 single bytes + 3 u32 */

/* ---- key ---------------------------------------------------------------- */

/* apr_sha1_update_binary takes an unsigned int length; feed long input in
 * pieces so no length is ever truncated. */
static void sha1_str(apr_sha1_ctx_t *sha, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    const unsigned char *u = (const unsigned char *)s;

    while (n > 0) {
        unsigned int chunk = n > UINT_MAX ? UINT_MAX : (unsigned int)n;
        apr_sha1_update_binary(sha, u, chunk);
        u += chunk;
        n -= chunk;
    }
}

void pc_cache_key(unsigned char key[PC_CACHE_KEY_LEN], pc_cache_kind_e kind,
                  const char *env_id, const char *user, const char *app)
{
    apr_sha1_ctx_t sha;
    const unsigned char k = (unsigned char)kind, nul = 0;

    apr_sha1_init(&sha);
    apr_sha1_update_binary(&sha, &k, 1);
    sha1_str(&sha, env_id);
    apr_sha1_update_binary(&sha, &nul, 1); /* keeps ("ab","c") != ("a","bc") */
    sha1_str(&sha, user);
    apr_sha1_update_binary(&sha, &nul, 1);
    sha1_str(&sha, app);
    apr_sha1_final(key, &sha);
}

/* ---- UUIDs -------------------------------------------------------------- */

static int is_dash_pos(apr_size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

static int hex_val(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1; /* uppercase is not canonical */
}

/* 1 when s[0..n) is a canonical lowercase UUID. */
static int is_uuid(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n != PC_UUID_TEXT)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (is_dash_pos(i) ? ch != '-' : hex_val(ch) < 0)
            return 0;
    }
    return 1;
}

/* Only for strings is_uuid() accepted. */
static void uuid_pack(unsigned char bin[PC_UUID_BIN], const char *s)
{
    apr_size_t i, k = 0;

    for (i = 0; i < PC_UUID_TEXT; i++) {
        if (is_dash_pos(i))
            continue;
        bin[k] = (unsigned char)(hex_val((unsigned char)s[i]) << 4 |
                                 hex_val((unsigned char)s[i + 1]));
        k++;
        i++;
    }
}

static char *uuid_unpack(const unsigned char bin[PC_UUID_BIN], apr_pool_t *p)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(p, PC_UUID_TEXT + 1), *w = s;
    apr_size_t k;

    for (k = 0; k < PC_UUID_BIN; k++) {
        *w++ = digits[bin[k] >> 4];
        *w++ = digits[bin[k] & 0x0F];
        if (k == 3 || k == 5 || k == 7 || k == 9)   /* 8-4-4-4-12 */
            *w++ = '-';
    }
    *w = '\0';
    return s;
}

/* ---- encode ------------------------------------------------------------- */

static unsigned int status_code(const pc_consent_t *c)
{
    if (c == NULL)
        return PC_CS_NONE;
    if (c->status == NULL)
        return PC_CS_OTHER;
    if (strcmp(c->status, "ACCEPTED") == 0)
        return PC_CS_ACCEPTED;
    if (strcmp(c->status, "REVOKED") == 0)
        return PC_CS_REVOKED;
    if (strcmp(c->status, "DECLINED") == 0)
        return PC_CS_DECLINED;
    return PC_CS_OTHER;
}

static apr_uint32_t time_to_u32(apr_time_t t)
{
    apr_time_t s = apr_time_sec(t);

    if (s <= 0)
        return 0;
    if (s >= (apr_time_t)0xFFFFFFFFu)
        return 0xFFFFFFFFu;
    return (apr_uint32_t)s;
}

/* Adds the encoded size of string s to *total; 0 when it is not storable. */
static int str_size(apr_size_t *total, const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;

    if (is_uuid(s, n)) {
        *total += 1 + PC_UUID_BIN;
        return 1;
    }
    if (n > PC_STR_MAX)
        return 0;
    *total += 1 + n;
    return 1;
}

static unsigned char *put_u32(unsigned char *w, apr_uint32_t v)
{
    w[0] = (unsigned char)(v >> 24);
    w[1] = (unsigned char)(v >> 16);
    w[2] = (unsigned char)(v >> 8);
    w[3] = (unsigned char)v;
    return w + 4;
}

/* Only called after str_size() accepted s. */
static unsigned char *put_str(unsigned char *w, const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;

    if (is_uuid(s, n)) {
        *w++ = PC_STR_UUID;
        uuid_pack(w, s);
        return w + PC_UUID_BIN;
    }
    *w++ = (unsigned char)n;
    if (n)
        memcpy(w, s, n);
    return w + n;
}

apr_status_t pc_cache_encode(unsigned char **buf, unsigned int *len,
                             const pc_cache_entry_t *e, apr_pool_t *p)
{
    const pc_consent_t *c = e->consent;
    const apr_array_header_t *sc = c ? c->scopes : NULL;
    int nscopes = sc ? sc->nelts : 0, i;
    unsigned int kind = (unsigned int)e->kind, status = status_code(c);
    apr_size_t total = PC_HEAD_LEN;
    unsigned char *out, *w;

    if ((kind != PC_CK_CONSENT && kind != PC_CK_USER &&
         kind != PC_CK_NAME_OF) || nscopes < 0 ||
        nscopes > (int)PC_SCOPES_MAX)
        return APR_EINVAL;
    if (c == NULL && e->unknown_user)
        kind |= PC_KIND_UNKNOWN_USER;

    /* Size everything first: one exact allocation, no partial output. */
    if (!str_size(&total, e->user_id) || !str_size(&total, e->app) ||
        !str_size(&total, c ? c->id : NULL) ||
        !str_size(&total, c ? c->app_name : NULL))
        return APR_EINVAL;
    for (i = 0; i < nscopes; i++)
        if (!str_size(&total, APR_ARRAY_IDX(sc, i, const char *)))
            return APR_EINVAL;
    if (total > PC_CACHE_MAX_VALUE)
        return APR_EINVAL;

    out = w = apr_palloc(p, total);
    *w++ = PC_CACHE_FORMAT;
    *w++ = (unsigned char)kind;
    *w++ = (unsigned char)status;
    *w++ = (unsigned char)nscopes;
    w = put_u32(w, time_to_u32(e->fetched_at));
    w = put_u32(w, time_to_u32(e->fresh_until));
    w = put_u32(w, c ? time_to_u32(c->expires_at) : 0);
    w = put_str(w, e->user_id);
    w = put_str(w, e->app);
    w = put_str(w, c ? c->id : NULL);
    w = put_str(w, c ? c->app_name : NULL);
    for (i = 0; i < nscopes; i++)
        w = put_str(w, APR_ARRAY_IDX(sc, i, const char *));

    *buf = out;
    *len = (unsigned int)(w - out);
    return APR_SUCCESS;
}

/* ---- decode ------------------------------------------------------------- */

/* A cursor over untrusted bytes: every read checks what is left first. */
typedef struct pc_reader_t {
    const unsigned char *b;
    apr_size_t left;
} pc_reader_t;

static int get_u8(pc_reader_t *r, unsigned int *v)
{
    if (r->left < 1)
        return 0;
    *v = r->b[0];
    r->b++;
    r->left--;
    return 1;
}

static int get_time(pc_reader_t *r, apr_time_t *t)
{
    apr_uint32_t v;

    if (r->left < 4)
        return 0;
    v = (apr_uint32_t)r->b[0] << 24 | (apr_uint32_t)r->b[1] << 16 |
        (apr_uint32_t)r->b[2] << 8 | (apr_uint32_t)r->b[3];
    r->b += 4;
    r->left -= 4;
    *t = apr_time_from_sec((apr_time_t)v);
    return 1;
}

/* A packed UUID, or a u8-length text string without NUL bytes that is not
 * a canonical UUID; copied (NUL terminated) to p. */
static int get_str(pc_reader_t *r, const char **s, apr_size_t *n_out,
                   apr_pool_t *p)
{
    unsigned int n;

    if (!get_u8(r, &n))
        return 0;
    if (n == PC_STR_UUID) {
        if (r->left < PC_UUID_BIN)
            return 0;
        *s = uuid_unpack(r->b, p);
        *n_out = PC_UUID_TEXT;
        r->b += PC_UUID_BIN;
        r->left -= PC_UUID_BIN;
        return 1;
    }
    if (n > r->left || memchr(r->b, '\0', n) != NULL ||
        is_uuid((const char *)r->b, n))
        return 0;
    *s = apr_pstrmemdup(p, (const char *)r->b, n);
    *n_out = n;
    r->b += n;
    r->left -= n;
    return 1;
}

apr_status_t pc_cache_decode(pc_cache_entry_t *e, const unsigned char *buf,
                             unsigned int len, const char *expect_user,
                             const char *expect_app, apr_pool_t *p)
{
    static const char *const names[] = {NULL, "ACCEPTED", "REVOKED",
                                        "DECLINED", "OTHER"};
    pc_reader_t r;
    pc_cache_entry_t d;
    unsigned int fmt, kind, status, nscopes, i;
    apr_time_t expires;
    const char *cid, *app_name;
    apr_size_t cid_len, app_name_len, n;

    if (buf == NULL || len > PC_CACHE_MAX_VALUE)
        return APR_EINVAL;
    r.b = buf;
    r.left = len;
    memset(&d, 0, sizeof(d));

    if (!get_u8(&r, &fmt) || fmt != PC_CACHE_FORMAT || !get_u8(&r, &kind) ||
        !get_u8(&r, &status) || !get_u8(&r, &nscopes))
        return APR_EINVAL;
    d.unknown_user = (kind & PC_KIND_UNKNOWN_USER) != 0;
    kind &= PC_KIND_MASK;
    if ((kind != PC_CK_CONSENT && kind != PC_CK_USER &&
         kind != PC_CK_NAME_OF) || status > PC_CS_OTHER)
        return APR_EINVAL;
    /* Combinations the encoder never writes. */
    if (status != PC_CS_NONE && d.unknown_user)
        return APR_EINVAL;
    if (status == PC_CS_NONE && nscopes != 0)
        return APR_EINVAL;
    d.kind = (pc_cache_kind_e)kind;

    if (!get_time(&r, &d.fetched_at) || !get_time(&r, &d.fresh_until) ||
        !get_time(&r, &expires) || !get_str(&r, &d.user_id, &n, p) ||
        !get_str(&r, &d.app, &n, p) || !get_str(&r, &cid, &cid_len, p) ||
        !get_str(&r, &app_name, &app_name_len, p))
        return APR_EINVAL;

    if (status == PC_CS_NONE) {
        if (expires != 0 || cid_len != 0 || app_name_len != 0)
            return APR_EINVAL;
    }
    else {
        pc_consent_t *c = apr_pcalloc(p, sizeof(*c));

        c->id = cid;
        c->app_name = app_name_len ? app_name : NULL;
        c->user_id = kind == PC_CK_CONSENT ? d.user_id : NULL;
        c->status = names[status];
        c->expires_at = expires;
        c->scopes = apr_array_make(p, nscopes ? (int)nscopes : 1,
                                   sizeof(const char *));
        for (i = 0; i < nscopes; i++) {
            const char *s;
            if (!get_str(&r, &s, &n, p))
                return APR_EINVAL;
            APR_ARRAY_PUSH(c->scopes, const char *) = s;
        }
        d.consent = c;
    }
    if (r.left != 0)
        return APR_EINVAL; /* trailing bytes */

    if ((expect_user && strcmp(expect_user, d.user_id) != 0) ||
        (expect_app && strcmp(expect_app, d.app) != 0))
        return APR_EMISMATCH;
    *e = d;
    return APR_SUCCESS;
}

/* ---- time --------------------------------------------------------------- */

apr_time_t pc_cache_fresh_until(apr_time_t now, const pc_consent_t *consent,
                                int allow_ttl, int deny_ttl)
{
    int accepted = consent && consent->status &&
                   strcmp(consent->status, "ACCEPTED") == 0;
    int ttl = accepted ? allow_ttl : deny_ttl;
    apr_time_t until;

    if (ttl <= 0)
        return 0;
    until = now + apr_time_from_sec(ttl);
    if (accepted && consent->expires_at != 0 && consent->expires_at < until) {
        until = consent->expires_at;
        /* Already expired: the decision is a deny, so it is cached like
         * one rather than stored stale (which would send every request
         * to PingOne). */
        if (until <= now)
            return deny_ttl > 0 ? now + apr_time_from_sec(deny_ttl) : 0;
    }
    return until;
}

static apr_time_t window(int stale_window)
{
    return apr_time_from_sec(stale_window > 0 ? stale_window : 0);
}

apr_time_t pc_cache_store_expiry(apr_time_t fresh_until, int stale_window)
{
    return fresh_until + window(stale_window);
}

pc_freshness_e pc_cache_freshness(const pc_cache_entry_t *e, apr_time_t now,
                                  int stale_window)
{
    if (now < e->fresh_until)
        return PC_FRESH;
    if (now < e->fresh_until + window(stale_window))
        return PC_STALE;
    return PC_EXPIRED;
}

/* ---- purge tombstones --------------------------------------------------- */

#define PC_TOMBSTONE_TAG "PCT1 "

unsigned int pc_cache_tombstone_encode(char buf[PC_TOMBSTONE_MAX],
                                       apr_time_t purged_at)
{
    if (purged_at < 1)
        purged_at = 1;
    return (unsigned int)apr_snprintf(buf, PC_TOMBSTONE_MAX,
                                      PC_TOMBSTONE_TAG "%" APR_INT64_T_FMT,
                                      (apr_int64_t)purged_at);
}

apr_status_t pc_cache_tombstone_decode(apr_time_t *purged_at,
                                       const unsigned char *buf,
                                       unsigned int len)
{
    const unsigned int tag = sizeof(PC_TOMBSTONE_TAG) - 1;
    apr_uint64_t v = 0;
    unsigned int i;

    *purged_at = 0;
    if (buf == NULL || len <= tag || len > tag + 19 ||
        memcmp(buf, PC_TOMBSTONE_TAG, tag) != 0 || buf[tag] == '0')
        return APR_EINVAL;
    for (i = tag; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return APR_EINVAL;
        v = v * 10 + (apr_uint64_t)(buf[i] - '0');
    }
    /* 19 digits can exceed INT64_MAX: refuse rather than wrap. */
    if (v > (apr_uint64_t)APR_INT64_MAX)
        return APR_EINVAL;
    *purged_at = (apr_time_t)v;
    return APR_SUCCESS;
}

int pc_cache_purge_raced(apr_time_t purged_at, apr_time_t asked_at,
                         apr_interval_time_t slack)
{
    if (purged_at <= 0)
        return 0;
    if (slack < 0)
        slack = 0;
    /* purged_at + slack >= asked_at, written so it cannot overflow */
    return purged_at >= asked_at || asked_at - purged_at <= slack;
}

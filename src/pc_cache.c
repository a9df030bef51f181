/*
 * pc_cache.c - cache keys, values and TTL arithmetic.
 *
 * The kind byte carries the unknown-user flag in its high bit (0x80); the
 * low bits are pc_cache_kind_e.  Times are stored as u32 seconds, clamped
 * to 0..UINT32_MAX (enough until 2106).
 */
#include "pc_cache.h"

#include <apr_sha1.h>
#include <apr_strings.h>
#include <string.h>

#define UNKNOWN_USER_FLAG 0x80

void pc_cache_key(unsigned char key[PC_CACHE_KEY_LEN], pc_cache_kind_e kind,
                  const char *env_id, const char *user, const char *app)
{
    apr_sha1_ctx_t sha;
    unsigned char k = (unsigned char)kind, nul = 0;
    const char *parts[3];
    int i;

    parts[0] = env_id ? env_id : "";
    parts[1] = user ? user : "";
    parts[2] = app ? app : "";
    apr_sha1_init(&sha);
    apr_sha1_update_binary(&sha, &k, 1);
    for (i = 0; i < 3; i++) {
        if (i)
            apr_sha1_update_binary(&sha, &nul, 1);
        apr_sha1_update(&sha, parts[i], (unsigned int)strlen(parts[i]));
    }
    apr_sha1_final(key, &sha);
}

/* ---- writer ------------------------------------------------------------- */

typedef struct wbuf_t {
    unsigned char *b;
    unsigned int len;
    int bad;
} wbuf_t;

static void put_u8(wbuf_t *w, unsigned int v)
{
    if (w->len + 1 > PC_CACHE_MAX_VALUE) {
        w->bad = 1;
        return;
    }
    w->b[w->len++] = (unsigned char)v;
}

static void put_u32(wbuf_t *w, apr_time_t t)
{
    apr_int64_t s = t > 0 ? apr_time_sec(t) : 0;
    apr_uint32_t v = s > 0xFFFFFFFFLL ? 0xFFFFFFFFu : (apr_uint32_t)s;
    put_u8(w, v >> 24);
    put_u8(w, (v >> 16) & 0xFF);
    put_u8(w, (v >> 8) & 0xFF);
    put_u8(w, v & 0xFF);
}

static void put_str(wbuf_t *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 255 || w->len + 1 + n > PC_CACHE_MAX_VALUE) {
        w->bad = 1;
        return;
    }
    put_u8(w, (unsigned int)n);
    if (n)
        memcpy(w->b + w->len, s, n);
    w->len += (unsigned int)n;
}

static unsigned int status_code(const pc_consent_t *c)
{
    if (c == NULL)
        return PC_CS_NONE;
    if (c->status && strcmp(c->status, "ACCEPTED") == 0)
        return PC_CS_ACCEPTED;
    if (c->status && strcmp(c->status, "REVOKED") == 0)
        return PC_CS_REVOKED;
    if (c->status && strcmp(c->status, "DECLINED") == 0)
        return PC_CS_DECLINED;
    return PC_CS_OTHER;
}

apr_status_t pc_cache_encode(unsigned char **buf, unsigned int *len,
                             const pc_cache_entry_t *e, apr_pool_t *p)
{
    const pc_consent_t *c = e->consent;
    int nscopes = c && c->scopes ? c->scopes->nelts : 0, i;
    wbuf_t w;

    if (nscopes > 255)
        return APR_EINVAL;
    w.b = apr_palloc(p, PC_CACHE_MAX_VALUE);
    w.len = 0;
    w.bad = 0;
    put_u8(&w, PC_CACHE_FORMAT);
    put_u8(&w, (unsigned int)e->kind |
                   (e->unknown_user && !c ? UNKNOWN_USER_FLAG : 0));
    put_u8(&w, status_code(c));
    put_u8(&w, (unsigned int)nscopes);
    put_u32(&w, e->fetched_at);
    put_u32(&w, e->fresh_until);
    put_u32(&w, c ? c->expires_at : 0);
    put_str(&w, e->user_id);
    put_str(&w, e->app);
    put_str(&w, c ? c->id : NULL);
    put_str(&w, c ? c->app_name : NULL);
    for (i = 0; i < nscopes; i++)
        put_str(&w, APR_ARRAY_IDX(c->scopes, i, const char *));
    if (w.bad)
        return APR_EINVAL;
    *buf = w.b;
    *len = w.len;
    return APR_SUCCESS;
}

/* ---- reader ------------------------------------------------------------- */

typedef struct rbuf_t {
    const unsigned char *b;
    unsigned int len, pos;
} rbuf_t;

static int get_u8(rbuf_t *r, unsigned int *v)
{
    if (r->pos + 1 > r->len)
        return -1;
    *v = r->b[r->pos++];
    return 0;
}

static int get_u32(rbuf_t *r, apr_time_t *t)
{
    apr_uint32_t v;
    if (r->pos + 4 > r->len)
        return -1;
    v = (apr_uint32_t)r->b[r->pos] << 24 | (apr_uint32_t)r->b[r->pos + 1] << 16 |
        (apr_uint32_t)r->b[r->pos + 2] << 8 | r->b[r->pos + 3];
    r->pos += 4;
    *t = apr_time_from_sec((apr_time_t)v);
    return 0;
}

static int get_str(rbuf_t *r, const char **s, apr_pool_t *p)
{
    unsigned int n;
    if (get_u8(r, &n) || r->pos + n > r->len ||
        memchr(r->b + r->pos, '\0', n) != NULL)
        return -1;
    *s = apr_pstrmemdup(p, (const char *)r->b + r->pos, n);
    r->pos += n;
    return 0;
}

apr_status_t pc_cache_decode(pc_cache_entry_t *e, const unsigned char *buf,
                             unsigned int len, const char *expect_user,
                             const char *expect_app, apr_pool_t *p)
{
    static const char *names[] = {NULL, "ACCEPTED", "REVOKED", "DECLINED",
                                  "OTHER"};
    rbuf_t r = {buf, len, 0};
    unsigned int fmt, kind, status, nscopes, i;
    apr_time_t expires;
    const char *cid, *app_name;

    memset(e, 0, sizeof(*e));
    if (buf == NULL || len > PC_CACHE_MAX_VALUE)
        return APR_EINVAL;
    if (get_u8(&r, &fmt) || fmt != PC_CACHE_FORMAT || get_u8(&r, &kind) ||
        get_u8(&r, &status) || get_u8(&r, &nscopes))
        return APR_EINVAL;
    e->unknown_user = (kind & UNKNOWN_USER_FLAG) != 0;
    kind &= ~(unsigned int)UNKNOWN_USER_FLAG;
    if ((kind != PC_CK_CONSENT && kind != PC_CK_USER) || status > PC_CS_OTHER ||
        (status == PC_CS_NONE && nscopes))
        return APR_EINVAL;
    e->kind = (pc_cache_kind_e)kind;
    if (get_u32(&r, &e->fetched_at) || get_u32(&r, &e->fresh_until) ||
        get_u32(&r, &expires) || get_str(&r, &e->user_id, p) ||
        get_str(&r, &e->app, p) || get_str(&r, &cid, p) ||
        get_str(&r, &app_name, p))
        return APR_EINVAL;
    if (status != PC_CS_NONE) {
        pc_consent_t *c = apr_pcalloc(p, sizeof(*c));
        c->id = cid;
        c->app_name = *app_name ? app_name : NULL;
        c->status = names[status];
        c->expires_at = expires;
        c->user_id = e->user_id;
        c->scopes = apr_array_make(p, (int)(nscopes ? nscopes : 1),
                                   sizeof(const char *));
        for (i = 0; i < nscopes; i++) {
            const char *s;
            if (get_str(&r, &s, p))
                return APR_EINVAL;
            APR_ARRAY_PUSH(c->scopes, const char *) = s;
        }
        e->consent = c;
    }
    if (r.pos != r.len)
        return APR_EINVAL;
    if ((expect_user && strcmp(expect_user, e->user_id) != 0) ||
        (expect_app && strcmp(expect_app, e->app) != 0))
        return APR_EMISMATCH;
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
    if (accepted && consent->expires_at && consent->expires_at < until) {
        until = consent->expires_at;
        if (until <= now) /* already expired: cache it as the deny it is */
            return deny_ttl > 0 ? now + apr_time_from_sec(deny_ttl) : 0;
    }
    return until;
}

apr_time_t pc_cache_store_expiry(apr_time_t fresh_until, int stale_window)
{
    return fresh_until + apr_time_from_sec(stale_window > 0 ? stale_window : 0);
}

int pc_cache_freshness(const pc_cache_entry_t *e, apr_time_t now,
                       int stale_window)
{
    if (now < e->fresh_until)
        return 1;
    if (now < e->fresh_until + apr_time_from_sec(stale_window > 0 ? stale_window : 0))
        return 0;
    return -1;
}

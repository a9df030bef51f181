/*
 * pc_l1.c - per-process copies of decisions (see pc_l1.h).
 *
 * 2048 slots found by an FNV hash of the identity (kind, env, user, app),
 * guarded by 16 striped thread mutexes.  Each slot holds the entry already
 * decoded and laid out flat, so a hit copies one block and sets a few
 * pointers instead of decoding a cache value again.
 */
#include "pc_l1.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <stddef.h>

#define L1_SLOTS 2048
#define L1_IDENT 200
#define L1_STRINGS 320
#define L1_SCOPES 24
#define L1_STRIPES 16

/* Offsets of the strings in a flat entry. */
enum { F_USER, F_APP, F_CID, F_APPNAME, F_STATUS, F_FIXED };
#define F_NONE 0xFFFF

typedef struct l1_flat_t {
    apr_time_t fetched_at, fresh_until, expires_at;
    unsigned char kind, unknown_user, has_consent, nscopes;
    unsigned short used;                     /* bytes of str in use */
    unsigned short off[F_FIXED + L1_SCOPES];
    char str[L1_STRINGS];
} l1_flat_t;

typedef struct l1_slot_t {
    unsigned int ident_len;
    char ident[L1_IDENT];
    apr_uint32_t gen;
    apr_time_t until;
    int valid;
    l1_flat_t flat;
} l1_slot_t;

static l1_slot_t *g_l1;
static apr_thread_mutex_t *g_locks[L1_STRIPES];

void pc_l1_child_init(apr_pool_t *p, int enabled)
{
    int i;

    g_l1 = NULL;
    if (!enabled)
        return;
    for (i = 0; i < L1_STRIPES; i++) {
        if (apr_thread_mutex_create(&g_locks[i], APR_THREAD_MUTEX_DEFAULT,
                                    p) != APR_SUCCESS)
            return;
    }
    g_l1 = apr_pcalloc(p, sizeof(l1_slot_t) * L1_SLOTS);
}

/* kind, env, NUL, user, NUL, app: the fields the SHA-1 key covers.  0
 * when too long for a slot (then there is no copy). */
static unsigned int ident_of(const pc_entry_id_t *id, char *buf)
{
    size_t a = strlen(id->env), b = strlen(id->user), c = strlen(id->app);

    if (a + b + c + 3 > L1_IDENT)
        return 0;
    buf[0] = (char)id->kind;
    memcpy(buf + 1, id->env, a);
    buf[1 + a] = '\0';
    memcpy(buf + 2 + a, id->user, b);
    buf[2 + a + b] = '\0';
    memcpy(buf + 3 + a + b, id->app, c);
    return (unsigned int)(a + b + c + 3);
}

static unsigned int index_of(const char *ident, unsigned int n)
{
    apr_uint32_t h = 2166136261u; /* FNV-1a: spreading, not security */
    unsigned int i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)ident[i]) * 16777619u;
    return h % L1_SLOTS;
}

static int flat_add(l1_flat_t *f, int field, const char *v)
{
    size_t n;

    if (v == NULL) {
        f->off[field] = F_NONE;
        return 1;
    }
    n = strlen(v) + 1;
    if (f->used + n > L1_STRINGS)
        return 0;
    memcpy(f->str + f->used, v, n);
    f->off[field] = f->used;
    f->used = (unsigned short)(f->used + n);
    return 1;
}

/* 0 when the entry does not fit a slot (then it simply is not kept). */
static int flatten(l1_flat_t *f, const pc_cache_entry_t *e)
{
    const pc_consent_t *c = e->consent;
    int i, n = c && c->scopes ? c->scopes->nelts : 0;

    if (n > L1_SCOPES)
        return 0;
    f->used = 0;
    f->fetched_at = e->fetched_at;
    f->fresh_until = e->fresh_until;
    f->expires_at = c ? c->expires_at : 0;
    f->kind = (unsigned char)e->kind;
    f->unknown_user = (unsigned char)(e->unknown_user != 0);
    f->has_consent = c != NULL;
    f->nscopes = (unsigned char)n;
    if (!flat_add(f, F_USER, e->user_id) || !flat_add(f, F_APP, e->app) ||
        !flat_add(f, F_CID, c ? c->id : NULL) ||
        !flat_add(f, F_APPNAME, c ? c->app_name : NULL) ||
        !flat_add(f, F_STATUS, c ? c->status : NULL))
        return 0;
    for (i = 0; i < n; i++) {
        if (!flat_add(f, F_FIXED + i,
                      APR_ARRAY_IDX(c->scopes, i, const char *)))
            return 0;
    }
    return 1;
}

static void unflatten(pc_cache_entry_t *e, const l1_flat_t *src,
                      apr_pool_t *p)
{
    char *str = apr_pmemdup(p, src->str, src->used);
#define S(k) (src->off[k] == F_NONE ? NULL : str + src->off[k])
    int i;

    memset(e, 0, sizeof(*e));
    e->kind = (pc_cache_kind_e)src->kind;
    e->fetched_at = src->fetched_at;
    e->fresh_until = src->fresh_until;
    e->unknown_user = src->unknown_user;
    e->user_id = S(F_USER);
    e->app = S(F_APP);
    if (src->has_consent) {
        pc_consent_t *c = apr_pcalloc(p, sizeof(*c));
        c->id = S(F_CID);
        c->app_name = S(F_APPNAME);
        c->status = S(F_STATUS);
        c->user_id = e->user_id;
        c->expires_at = src->expires_at;
        c->scopes = apr_array_make(p, src->nscopes ? src->nscopes : 1,
                                   sizeof(const char *));
        for (i = 0; i < src->nscopes; i++)
            APR_ARRAY_PUSH(c->scopes, const char *) = S(F_FIXED + i);
        e->consent = c;
    }
#undef S
}

int pc_l1_get(const pc_entry_id_t *id, apr_uint32_t gen, apr_time_t now,
              pc_cache_entry_t *e, apr_pool_t *p)
{
    char ident[L1_IDENT];
    unsigned int n, i;
    apr_thread_mutex_t *m;
    l1_slot_t *sl;
    l1_flat_t copy;
    int found = 0;

    if (g_l1 == NULL || (n = ident_of(id, ident)) == 0)
        return 0;
    i = index_of(ident, n);
    m = g_locks[i % L1_STRIPES];
    sl = &g_l1[i];
    apr_thread_mutex_lock(m);
    if (sl->valid && sl->ident_len == n && memcmp(sl->ident, ident, n) == 0 &&
        sl->gen == gen && now < sl->until) {
        memcpy(&copy, &sl->flat, offsetof(l1_flat_t, str) + sl->flat.used);
        found = 1;
    }
    apr_thread_mutex_unlock(m);
    if (found)
        unflatten(e, &copy, p);
    return found;
}

void pc_l1_put(const pc_entry_id_t *id, apr_uint32_t gen, apr_time_t until,
               const pc_cache_entry_t *e)
{
    char ident[L1_IDENT];
    unsigned int n, i;
    apr_thread_mutex_t *m;
    l1_slot_t *sl;
    l1_flat_t flat;

    if (g_l1 == NULL || (n = ident_of(id, ident)) == 0 || !flatten(&flat, e))
        return;
    i = index_of(ident, n);
    m = g_locks[i % L1_STRIPES];
    sl = &g_l1[i];
    apr_thread_mutex_lock(m);
    memcpy(sl->ident, ident, n);
    sl->ident_len = n;
    memcpy(&sl->flat, &flat, offsetof(l1_flat_t, str) + flat.used);
    sl->until = until;
    sl->gen = gen;
    sl->valid = 1;
    apr_thread_mutex_unlock(m);
}

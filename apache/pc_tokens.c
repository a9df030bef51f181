/*
 * pc_tokens.c - the shared token store (see pc_tokens.h).
 *
 * Exactly one process fetches: the first to find the token missing or due
 * for refresh marks the slot as fetching; the others keep using the
 * current token while it is valid, or wait (bounded) for the new one.  A
 * fetch that takes longer than twice the wait is taken to have died.
 */
#include "pc_tokens.h"

#include <apr_sha1.h>

#define TK_SLOTS 8
#define TK_POLL apr_time_from_msec(5)

typedef struct tk_slot_t {
    unsigned char id[APR_SHA1_DIGESTSIZE];
    apr_time_t refresh_at, expires, fetching_since;
    char token[PC_TOKEN_MAX];
} tk_slot_t;

typedef struct tk_baton_t {
    unsigned char id[APR_SHA1_DIGESTSIZE];
} tk_baton_t;

static tk_slot_t *g_slots;   /* TK_SLOTS, in the shared segment */

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_slots = mem;
}

pc_seg_area_t pc_tokens_area(void)
{
    pc_seg_area_t a = {sizeof(tk_slot_t) * TK_SLOTS, attach};
    return a;
}

static int unused(const tk_slot_t *t)
{
    return t->expires == 0 && t->fetching_since == 0 && t->token[0] == '\0';
}

/* Under the mutex: this identity's slot; with claim, an unused one or,
 * when all are taken by other identities, one taken over. */
static tk_slot_t *slot_of(const tk_baton_t *b, int claim)
{
    tk_slot_t *empty = NULL;
    int i;

    for (i = 0; i < TK_SLOTS; i++) {
        tk_slot_t *t = &g_slots[i];
        if (memcmp(t->id, b->id, sizeof(t->id)) == 0)
            return t;
        if (empty == NULL && unused(t))
            empty = t;
    }
    if (!claim)
        return NULL;
    if (empty == NULL)
        empty = &g_slots[b->id[0] % TK_SLOTS];
    memset(empty, 0, sizeof(*empty));
    memcpy(empty->id, b->id, sizeof(empty->id));
    return empty;
}

static pc_token_get_e shared_get(void *baton, apr_time_t now, int wait_ms,
                                 char *buf, apr_size_t size)
{
    tk_baton_t *b = baton;
    apr_time_t deadline = now + apr_time_from_msec(wait_ms);

    for (;;) {
        tk_slot_t *t;
        int fetching;

        now = apr_time_now();
        pc_segment_lock();
        t = slot_of(b, 1);
        fetching = t->fetching_since &&
                   now - t->fetching_since < apr_time_from_msec(wait_ms) * 2;
        if (t->token[0] && now < t->expires && strlen(t->token) < size &&
            (now < t->refresh_at || fetching)) {
            strcpy(buf, t->token);
            pc_segment_unlock();
            return PC_TOKEN_USE;
        }
        if (!fetching || now >= deadline) {
            t->fetching_since = now;
            pc_segment_unlock();
            pc_count(PC_CNT_TOKEN);
            return PC_TOKEN_FETCH;
        }
        pc_segment_unlock();
        apr_sleep(TK_POLL);
    }
}

static void shared_put(void *baton, const char *token, apr_time_t refresh_at,
                       apr_time_t expires)
{
    tk_slot_t *t;

    pc_segment_lock();
    t = slot_of(baton, 1);
    if (strlen(token) < sizeof(t->token)) {
        strcpy(t->token, token);
        t->refresh_at = refresh_at;
        t->expires = expires;
    }
    t->fetching_since = 0;
    pc_segment_unlock();
}

static void shared_release(void *baton)
{
    tk_slot_t *t;

    pc_segment_lock();
    if ((t = slot_of(baton, 0)) != NULL)
        t->fetching_since = 0;
    pc_segment_unlock();
}

static void shared_drop(void *baton, const char *token)
{
    tk_slot_t *t;

    pc_segment_lock();
    if ((t = slot_of(baton, 0)) != NULL && strcmp(t->token, token) == 0) {
        memset(t->token, 0, sizeof(t->token));
        t->refresh_at = t->expires = 0;
    }
    pc_segment_unlock();
}

pc_token_store_t *pc_tokens_store(apr_pool_t *p, const char *identity)
{
    pc_token_store_t *ts;
    tk_baton_t *b;
    apr_sha1_ctx_t sha;

    if (g_slots == NULL)
        return pc_token_store_local(p);
    ts = apr_pcalloc(p, sizeof(*ts));
    b = apr_pcalloc(p, sizeof(*b));
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, identity, (unsigned int)strlen(identity));
    apr_sha1_final(b->id, &sha);
    ts->get = shared_get;
    ts->put = shared_put;
    ts->release = shared_release;
    ts->drop = shared_drop;
    ts->baton = b;
    return ts;
}

int pc_tokens_seconds_left(void)
{
    apr_time_t now = apr_time_now(), best = 0;
    int i;

    if (g_slots == NULL)
        return -1;
    pc_segment_lock();
    for (i = 0; i < TK_SLOTS; i++) {
        const tk_slot_t *t = &g_slots[i];
        if (t->token[0] && t->expires > now && t->expires > best)
            best = t->expires;
    }
    pc_segment_unlock();
    return best ? (int)apr_time_sec(best - now) : -1;
}

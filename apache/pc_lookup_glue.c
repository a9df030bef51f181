/*
 * pc_lookup_glue.c - the lookup policy's world, for one request (see
 * pc_lookup_glue.h).  Each ops function is a line or two over the glue
 * unit that owns the state.
 */
#include "pc_lookup_glue.h"
#include "pc_dcache.h"
#include "pc_flight.h"
#include "pc_log.h"
#include "pc_poll.h"
#include "pc_ratelimit.h"
#include "pc_segment.h"

#include <apr_strings.h>

/* One lookup's baton. */
typedef struct glue_t {
    request_rec *r;
    pc_ctx_t ctx;
    pc_client_t client;        /* the child's client, logging to r */
    pc_cache_ref_t ref;        /* the entry looked up (epoch read once) */
    int have_ref;
} glue_t;

static int same_id(const pc_entry_id_t *a, const pc_entry_id_t *b)
{
    return a->kind == b->kind && strcmp(a->env, b->env) == 0 &&
           strcmp(a->user, b->user) == 0 && strcmp(a->app, b->app) == 0;
}

/* The cache reference of id: made on first use, which is the start of
 * the lookup, so the purge-all epoch is the one the lookup began in. */
static pc_cache_ref_t *ref_of(glue_t *g, const pc_entry_id_t *id)
{
    if (!g->have_ref || !same_id(&g->ref.id, id)) {
        pc_cache_ref_init(&g->ref, id, &g->ctx);
        g->have_ref = 1;
    }
    return &g->ref;
}

static apr_time_t g_now(void *b)
{
    (void)b;
    return apr_time_now();
}

static pc_get_e g_get(void *b, const pc_entry_id_t *id, pc_cache_entry_t *e,
                      apr_pool_t *p)
{
    glue_t *g = b;
    (void)p;
    return pc_dcache_get(e, ref_of(g, id), &g->ctx);
}

static pc_put_e g_put(void *b, const pc_entry_id_t *id,
                      const pc_cache_entry_t *e, apr_time_t store_until,
                      apr_time_t asked_at, apr_pool_t *p)
{
    glue_t *g = b;
    (void)p;
    return pc_dcache_put(ref_of(g, id), e, store_until, asked_at, &g->ctx);
}

static pc_flight_e g_begin(void *b, const pc_entry_id_t *id, int wait_ms,
                           pc_flight_answer_t *ans, apr_pool_t *p)
{
    glue_t *g = b;
    pc_flight_result_t *res = apr_palloc(p, sizeof(*res));
    pc_cache_entry_t *e;
    int consent = id->kind == PC_CK_CONSENT;
    pc_flight_e how;

    how = pc_flight_begin(pc_cache_ref_key(ref_of(g, id)), wait_ms, res, p);
    if (how != PC_FLIGHT_FOLLOWED)
        return how;
    ans->ok = res->ok;
    ans->err_tag = res->err_tag;
    ans->retry_after = res->retry_after;
    ans->entry = NULL;
    /* The handed-over value is checked like a cache value. */
    e = apr_palloc(p, sizeof(*e));
    if (res->ok && res->value_len &&
        pc_cache_decode(e, res->value, res->value_len,
                        consent ? id->user : NULL, consent ? id->app : NULL,
                        p) == APR_SUCCESS)
        ans->entry = e;
    return how;
}

static void g_end(void *b, const pc_entry_id_t *id,
                  const pc_flight_answer_t *ans, apr_pool_t *p)
{
    glue_t *g = b;
    unsigned char *v = NULL;
    unsigned int vlen = 0;

    if (ans->ok && ans->entry &&
        (pc_cache_encode(&v, &vlen, ans->entry, p) != APR_SUCCESS ||
         vlen > PC_FLIGHT_VALUE))
        vlen = 0;
    pc_flight_end(pc_cache_ref_key(ref_of(g, id)), ans->ok, ans->err_tag,
                  ans->retry_after, v, vlen);
}

static int g_backoff_left(void *b, apr_time_t now)
{
    (void)b;
    return pc_backoff_left(now);
}

static void g_backoff_set(void *b, apr_time_t until)
{
    (void)b;
    pc_backoff_set(until);
}

static int g_budget(void *b, int wait_ms, int *retry_after)
{
    return pc_ratelimit_take(((glue_t *)b)->r, wait_ms, retry_after);
}

static void g_count(void *b, pc_counter_e which)
{
    (void)b;
    pc_count(which);
}

static void g_latency(void *b, apr_interval_time_t elapsed)
{
    (void)b;
    pc_latency_record(elapsed);
}

static apr_status_t g_consents(void *b, const char *user_id,
                               const char *app_id, const char *app_name,
                               apr_array_header_t **consents, pc_error_t *err,
                               apr_pool_t *p)
{
    glue_t *g = b;
    return pc_client_get_consents(consents, &g->client, user_id, app_id,
                                  app_name, err, p);
}

static apr_status_t g_find_user(void *b, const char *username,
                                const char **user_id, pc_error_t *err,
                                apr_pool_t *p)
{
    glue_t *g = b;
    return pc_client_find_user(user_id, &g->client, username, err, p);
}

static void g_log(void *b, int level, const char *msg)
{
    pc_log_request(((glue_t *)b)->r, level, msg);
}

static apr_time_t g_feed_since(void *b, const char *env_id, apr_time_t now)
{
    (void)b;
    return pc_poll_feed_since(env_id, now);
}

static const pc_lookup_ops_t ops_template = {
    .now = g_now,
    .cache_get = g_get,
    .cache_put = g_put,
    .flight_begin = g_begin,
    .flight_end = g_end,
    .backoff_left = g_backoff_left,
    .backoff_set = g_backoff_set,
    .budget_take = g_budget,
    .count = g_count,
    .latency = g_latency,
    .get_consents = g_consents,
    .find_user = g_find_user,
    .log = g_log,
    .feed_since = g_feed_since,
};

static void glue_init(glue_t *g, pc_lookup_ops_t *ops, request_rec *r,
                      const pc_client_t *client)
{
    memset(g, 0, sizeof(*g));
    g->r = r;
    g->ctx = pc_ctx_of(r);
    g->client = *client;
    g->client.log = pc_log_request;
    g->client.log_baton = r;
    *ops = ops_template;
    ops->baton = g;
}

void pc_glue_lookup_consent(pc_outcome_t *out, request_rec *r,
                            const pc_client_t *client, const pc_srv_conf *sc,
                            const pc_lookup_key_t *key)
{
    glue_t g;
    pc_lookup_ops_t ops;

    glue_init(&g, &ops, r, client);
    pc_lookup_consent(out, &ops, &sc->policy, key, r->pool);
}

void pc_glue_lookup_user(pc_outcome_t *out, request_rec *r,
                         const pc_client_t *client, const pc_srv_conf *sc,
                         const char *username)
{
    glue_t g;
    pc_lookup_ops_t ops;

    glue_init(&g, &ops, r, client);
    pc_lookup_user(out, &ops, &sc->policy, sc->env_id, username, r->pool);
}

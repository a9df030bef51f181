/* Unit tests: the lookup policy (src/pc_lookup.c) against fakes of the
 * cache, the single-flight table, the back-off, the clock, the counters
 * and the PingOne client. */
#include "pc_lookup.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

#define ENV "abcdef01-2345-4678-9abc-def012345678"
#define USER "e0000000-0000-4000-8000-00000000a11c"
#define APP "a0000000-0000-4000-8000-000000000001"
#define SEC(n) apr_time_from_sec(n)
#define T0 ((apr_time_t)1700000000 * APR_USEC_PER_SEC)

/* ---- the fake world ------------------------------------------------------ */

typedef struct slot_t {
    pc_entry_id_t id;
    pc_cache_entry_t e;
    apr_time_t until;
    int used;
} slot_t;

typedef struct world_t {
    apr_time_t now;
    apr_interval_time_t call_takes;   /* the clock moves during a call */
    /* cache */
    slot_t slots[8];
    int cache_down, puts, gets;
    pc_put_e put_result;              /* PC_PUT_KEPT unless a test says so */
    apr_time_t last_store_until, last_asked_at;
    /* flight */
    pc_flight_e flight_mode;
    pc_flight_answer_t follow;        /* what a follower gets */
    const pc_cache_entry_t *follow_stores; /* the leader stores this */
    int flight_begins, flight_ends;
    pc_flight_answer_t ended;         /* what the leader handed over */
    int ended_has_entry;
    /* back-off */
    apr_time_t backoff_until;
    /* counters, latency, log */
    int counts[PC_CNT_MAX];
    int latencies;
    char log[4096];
    /* PingOne */
    int calls, user_calls;
    pc_err_e fail_kind;               /* PC_E_NONE: answer */
    const char *fail_tag, *fail_retry_after;
    const char *status;               /* consent status, NULL: no consent */
    const char *user_found;           /* find_user answer */
    int budget, budget_asks, budget_waited;
    /* the activity feed: healthy since feed_since (0: not healthy) */
    apr_time_t feed_since;
    int feed_asks;
    const char *feed_env;
} world_t;

static int same_id(const pc_entry_id_t *a, const pc_entry_id_t *b)
{
    return a->kind == b->kind && strcmp(a->env, b->env) == 0 &&
           strcmp(a->user, b->user) == 0 && strcmp(a->app, b->app) == 0;
}

static apr_time_t w_now(void *b)
{
    return ((world_t *)b)->now;
}

static pc_get_e w_get(void *b, const pc_entry_id_t *id, pc_cache_entry_t *e,
                      apr_pool_t *pool)
{
    world_t *w = b;
    int i;
    (void)pool;
    w->gets++;
    if (w->cache_down)
        return PC_GET_ERROR;
    for (i = 0; i < 8; i++) {
        if (w->slots[i].used && same_id(&w->slots[i].id, id) &&
            w->now < w->slots[i].until) {
            *e = w->slots[i].e;
            return PC_GET_HIT;
        }
    }
    return PC_GET_MISS;
}

static pc_put_e w_put(void *b, const pc_entry_id_t *id,
                      const pc_cache_entry_t *e, apr_time_t store_until,
                      apr_time_t asked_at, apr_pool_t *pool)
{
    world_t *w = b;
    int i;
    w->puts++;
    w->last_store_until = store_until;
    w->last_asked_at = asked_at;
    if (w->cache_down)
        return PC_PUT_NOT_STORED;
    if (w->put_result == PC_PUT_RACED)
        return PC_PUT_RACED;
    for (i = 0; i < 8; i++) {
        if (!w->slots[i].used || same_id(&w->slots[i].id, id)) {
            w->slots[i].used = 1;
            w->slots[i].id.kind = id->kind;
            w->slots[i].id.env = apr_pstrdup(pool, id->env);
            w->slots[i].id.user = apr_pstrdup(pool, id->user);
            w->slots[i].id.app = apr_pstrdup(pool, id->app);
            w->slots[i].e = *e;
            w->slots[i].until = store_until;
            return PC_PUT_KEPT;
        }
    }
    return PC_PUT_NOT_STORED;
}

static pc_flight_e w_begin(void *b, const pc_entry_id_t *id, int wait_ms,
                           pc_flight_answer_t *ans, apr_pool_t *pool)
{
    world_t *w = b;
    (void)wait_ms;
    w->flight_begins++;
    if (w->flight_mode == PC_FLIGHT_FOLLOWED) {
        *ans = w->follow;
        if (w->follow_stores)
            w_put(b, id, w->follow_stores, w->now + SEC(60), 0, pool);
    }
    return w->flight_mode;
}

static void w_end(void *b, const pc_entry_id_t *id,
                  const pc_flight_answer_t *ans, apr_pool_t *pool)
{
    world_t *w = b;
    (void)id; (void)pool;
    w->flight_ends++;
    w->ended = *ans;
    w->ended_has_entry = ans->entry != NULL;
}

static int w_backoff_left(void *b, apr_time_t now)
{
    world_t *w = b;
    return w->backoff_until > now
               ? (int)((w->backoff_until - now + APR_USEC_PER_SEC - 1) /
                       APR_USEC_PER_SEC)
               : 0;
}

static void w_backoff_set(void *b, apr_time_t until)
{
    world_t *w = b;
    if (until > w->backoff_until)
        w->backoff_until = until;
}

static void w_count(void *b, pc_counter_e which)
{
    ((world_t *)b)->counts[which]++;
}

static void w_latency(void *b, apr_interval_time_t t)
{
    (void)t;
    ((world_t *)b)->latencies++;
}

static apr_status_t w_fail(world_t *w, pc_error_t *err)
{
    memset(err, 0, sizeof(*err));
    err->kind = w->fail_kind;
    err->tag = w->fail_tag;
    err->retry_after = w->fail_retry_after;
    err->message = "simulated failure";
    return APR_EGENERAL;
}

static apr_status_t w_consents(void *b, const char *user_id,
                               const char *app_id, const char *app_name,
                               apr_array_header_t **out, pc_error_t *err,
                               apr_pool_t *pool)
{
    world_t *w = b;
    pc_consent_t *c;
    (void)user_id; (void)app_name;
    w->calls++;
    w->now += w->call_takes;
    if (w->fail_kind != PC_E_NONE)
        return w_fail(w, err);
    *out = apr_array_make(pool, 1, sizeof(pc_consent_t *));
    if (w->status) {
        c = apr_pcalloc(pool, sizeof(*c));
        c->id = "c1";
        c->app_id = app_id;
        c->status = w->status;
        c->scopes = apr_array_make(pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(c->scopes, const char *) = "openid";
        APR_ARRAY_PUSH(*out, pc_consent_t *) = c;
    }
    return APR_SUCCESS;
}

static apr_status_t w_find_user(void *b, const char *username,
                                const char **user_id, pc_error_t *err,
                                apr_pool_t *pool)
{
    world_t *w = b;
    (void)username; (void)pool;
    w->user_calls++;
    if (w->fail_kind != PC_E_NONE)
        return w_fail(w, err);
    *user_id = w->user_found;
    return APR_SUCCESS;
}

static void w_log(void *b, int level, const char *msg)
{
    world_t *w = b;
    (void)level;
    apr_cpystrn(w->log + strlen(w->log), msg, sizeof(w->log) - strlen(w->log));
}

static apr_time_t w_feed_since(void *b, const char *env_id, apr_time_t now)
{
    world_t *w = b;
    (void)now;
    w->feed_asks++;
    w->feed_env = env_id;
    return w->feed_since;
}

static world_t W;
static pc_lookup_ops_t OPS;
static pc_lookup_policy_t POL;

static void reset(void)
{
    memset(&W, 0, sizeof(W));
    W.now = T0;
    W.status = "ACCEPTED";
    W.flight_mode = PC_FLIGHT_LEAD;
    W.put_result = PC_PUT_KEPT;
    OPS.baton = &W;
    OPS.now = w_now;
    OPS.cache_get = w_get;
    OPS.cache_put = w_put;
    OPS.flight_begin = w_begin;
    OPS.flight_end = w_end;
    OPS.backoff_left = w_backoff_left;
    OPS.backoff_set = w_backoff_set;
    OPS.count = w_count;
    OPS.latency = w_latency;
    OPS.get_consents = w_consents;
    OPS.find_user = w_find_user;
    OPS.log = w_log;
    OPS.budget_take = NULL;
    OPS.feed_since = w_feed_since;
    POL.feed_ttl = 0;
    POL.allow_ttl = 60;
    POL.deny_ttl = 10;
    POL.stale_window = 0;
    POL.fail_open = 0;
    POL.wait_ms = 3000;
    POL.default_retry_after = 5;
}

static void fail_with(pc_err_e kind, const char *tag, const char *retry)
{
    W.fail_kind = kind;
    W.fail_tag = tag;
    W.fail_retry_after = retry;
}

static pc_outcome_t look(void)
{
    pc_outcome_t out;
    pc_lookup_key_t k = {ENV, USER, APP, NULL, "alice"};
    pc_lookup_consent(&out, &OPS, &POL, &k, p);
    return out;
}

/* ---- tests -------------------------------------------------------------- */

static void test_miss_then_hit(void)
{
    pc_outcome_t o;

    reset();
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_PINGONE,
       "a miss asks PingOne");
    ok(o.consent && strcmp(o.consent->status, "ACCEPTED") == 0,
       "the consent that counts is returned");
    ok(W.calls == 1 && W.counts[PC_CNT_MISS] == 1 &&
       W.counts[PC_CNT_PINGONE] == 1 && W.latencies == 1,
       "one call, one miss, one latency sample");
    ok(W.puts == 1 && W.last_store_until == T0 + SEC(60),
       "an allow is cached for the allow TTL");
    ok(W.last_asked_at == T0, "the store names when the call started");
    ok(W.flight_ends == 1 && W.ended.ok && W.ended_has_entry,
       "the leader hands its answer to the followers");
    ok(strstr(W.log, "PC00108") != NULL, "what PingOne returned is logged");

    W.now += SEC(30);
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_CACHE,
       "within the TTL the cache decides");
    ok(W.calls == 1 && W.counts[PC_CNT_HIT] == 1, "no second call, one hit");
    ok(W.flight_begins == 1, "a hit joins no flight");

    W.now += SEC(31);
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 2,
       "past the TTL PingOne is asked again");
}

static void test_negative_caching(void)
{
    pc_outcome_t o;

    reset();
    W.status = "REVOKED";
    o = look();
    ok(o.result == PC_LK_FOUND && o.consent &&
       strcmp(o.consent->status, "REVOKED") == 0, "a revoked consent");
    ok(W.last_store_until == T0 + SEC(10), "a deny is cached for the deny TTL");
    W.now += SEC(9);
    o = look();
    ok(o.source == PC_SRC_CACHE && W.calls == 1, "the cached deny decides");

    reset();
    W.status = NULL;
    o = look();
    ok(o.result == PC_LK_FOUND && o.consent == NULL, "no consent at all");
    ok(W.last_store_until == T0 + SEC(10), "no consent: deny TTL");

    reset();
    fail_with(PC_E_NOT_FOUND, "upstream-404", NULL);
    o = look();
    ok(o.result == PC_LK_UNKNOWN_USER && o.source == PC_SRC_PINGONE,
       "a 404 is an unknown user, not an outage");
    ok(strstr(W.log, "PC00107") != NULL, "logged");
    ok(W.puts == 1 && W.counts[PC_CNT_ERROR] == 0, "cached, not an error");
    ok(W.ended.ok && W.ended_has_entry, "followers get the unknown user too");
    W.fail_kind = PC_E_NONE;
    W.now += SEC(5);
    o = look();
    ok(o.result == PC_LK_UNKNOWN_USER && o.source == PC_SRC_CACHE &&
       W.calls == 1, "the unknown user is answered from the cache");
}

static void test_ttl_zero(void)
{
    pc_outcome_t o;

    reset();
    POL.allow_ttl = 0;
    POL.deny_ttl = 0;
    o = look();
    ok(o.result == PC_LK_FOUND && W.puts == 0, "TTL 0: nothing cached");
    ok(W.flight_ends == 1 && W.ended.ok && W.ended_has_entry,
       "TTL 0: the leader still hands its answer to the followers");
    look();
    ok(W.calls == 2, "TTL 0: every lookup asks PingOne");

    reset();
    POL.allow_ttl = 60;
    POL.deny_ttl = 0;
    W.status = "REVOKED";
    look();
    ok(W.puts == 0, "deny TTL 0: a deny is not cached");
}

static void test_stale(void)
{
    pc_outcome_t o;

    reset();
    POL.allow_ttl = 1;
    POL.stale_window = 60;
    look();
    ok(W.last_store_until == T0 + SEC(61),
       "the cache keeps the entry for the stale window too");
    W.now += SEC(30);
    fail_with(PC_E_STATUS, "upstream-503", NULL);
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_STALE,
       "PingOne failing, a stale entry within the window decides");
    ok(W.counts[PC_CNT_STALE] == 1 && W.counts[PC_CNT_ERROR] == 1,
       "counted as stale and error");
    ok(strstr(W.log, "PC00113") && strstr(W.log, "29 s past"),
       "logged with its age");
    ok(W.flight_ends == 2 && !W.ended.ok &&
       strcmp(W.ended.err_tag, "upstream-503") == 0,
       "the leader's failure reaches the followers");

    W.now += SEC(31);
    o = look();
    ok(o.result == PC_LK_ERROR, "past the window: an error");
    ok(o.retry_after == 5, "with the default Retry-After");

    reset();
    POL.allow_ttl = 1;
    POL.stale_window = 60;
    look();
    W.now += SEC(5);
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 2,
       "PingOne up: a stale entry does not decide, PingOne does");
}

static void test_fail_modes(void)
{
    pc_outcome_t o;

    reset();
    fail_with(PC_E_TRANSPORT, "upstream-timeout", NULL);
    o = look();
    ok(o.result == PC_LK_ERROR && strcmp(o.err.tag, "upstream-timeout") == 0,
       "fail closed: an error with PingOne's tag");
    ok(W.puts == 0, "nothing cached on failure");

    reset();
    POL.fail_open = 1;
    fail_with(PC_E_TRANSPORT, "upstream-timeout", NULL);
    o = look();
    ok(o.result == PC_LK_FAIL_OPEN && o.source == PC_SRC_FAIL_OPEN,
       "fail open: allowed");
    ok(W.counts[PC_CNT_FAIL_OPEN] == 1, "counted");
    ok(strstr(W.log, "PC00114") && strstr(W.log, "ALLOWING user alice"),
       "logged with the user as authenticated");

    reset();
    fail_with(PC_E_STATUS, "upstream-503", "17");
    o = look();
    ok(o.retry_after == 17, "PingOne's Retry-After is passed on");
}

static void test_backoff(void)
{
    pc_outcome_t o;

    reset();
    fail_with(PC_E_RATE_LIMITED, "upstream-429", "30");
    o = look();
    ok(o.result == PC_LK_ERROR && o.retry_after == 30, "429: an error");
    ok(W.backoff_until == T0 + SEC(30), "429: everyone backs off 30 s");

    W.fail_kind = PC_E_NONE;
    W.now += SEC(10);
    o = look();
    ok(o.result == PC_LK_ERROR && W.calls == 1,
       "during the back-off nobody asks PingOne");
    ok(strcmp(o.err.tag, "upstream-429") == 0 && o.retry_after == 20,
       "the answer says how long the back-off still runs");
    ok(W.flight_begins == 1, "no flight during the back-off");

    reset();
    POL.allow_ttl = 1;
    POL.stale_window = 60;
    look();
    W.backoff_until = W.now + SEC(30);
    W.now += SEC(5);
    o = look();
    ok(o.source == PC_SRC_STALE, "during the back-off a stale entry decides");

    reset();
    W.backoff_until = W.now + SEC(30);
    look();
    W.now += SEC(31);
    o = look();
    ok(o.source == PC_SRC_PINGONE, "after the back-off PingOne is asked");

    reset();
    W.flight_mode = PC_FLIGHT_ALONE;
    W.user_found = NULL;
    fail_with(PC_E_RATE_LIMITED, "upstream-429", NULL);
    {
        pc_outcome_t u;
        pc_lookup_user(&u, &OPS, &POL, ENV, "alice", p);
        ok(u.result == PC_LK_ERROR && W.backoff_until == T0 + SEC(5),
           "a 429 on the user lookup backs off too (default 5 s)");
    }
}

static void test_follower(void)
{
    pc_outcome_t o;
    pc_cache_entry_t e;
    pc_consent_t c;

    /* The leader handed its answer over. */
    reset();
    memset(&e, 0, sizeof(e));
    memset(&c, 0, sizeof(c));
    c.id = "from-leader";
    c.status = "ACCEPTED";
    e.kind = PC_CK_CONSENT;
    e.consent = &c;
    e.fresh_until = W.now + SEC(60);
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 1;
    W.follow.entry = &e;
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_CACHE &&
       strcmp(o.consent->id, "from-leader") == 0,
       "a follower gets the leader's answer");
    ok(W.calls == 0 && W.flight_ends == 0, "without a call of its own");
    ok(W.counts[PC_CNT_COALESCED] == 1, "a call saved, counted");

    /* Answered through the cache only: the leader stored its answer
     * while this lookup waited. */
    reset();
    look();                       /* an entry to copy */
    e = W.slots[0].e;
    e.consent->id = "stored-by-leader";
    memset(W.slots, 0, sizeof(W.slots));
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 1;
    W.follow.entry = NULL;
    W.follow_stores = &e;
    o = look();
    ok(o.source == PC_SRC_CACHE && W.calls == 1 &&
       strcmp(o.consent->id, "stored-by-leader") == 0,
       "a follower reads the leader's answer from the cache");

    /* The leader failed: the follower gets its error. */
    reset();
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 0;
    W.follow.err_tag = "upstream-502";
    W.follow.retry_after = "9";
    o = look();
    ok(o.result == PC_LK_ERROR && strcmp(o.err.tag, "upstream-502") == 0,
       "a follower gets the leader's error");
    ok(o.retry_after == 9, "and its Retry-After");
    ok(strstr(o.err.message, "concurrent lookup") != NULL,
       "the message says it was borrowed");
    ok(W.calls == 0, "without asking PingOne itself");

    reset();
    POL.fail_open = 1;
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 0;
    W.follow.err_tag = NULL;
    o = look();
    ok(o.result == PC_LK_FAIL_OPEN && strcmp(o.err.tag, "upstream") == 0,
       "a follower of a failed flight fails open when configured");

    /* Answered, but nothing handed over and nothing cached (TTL 0). */
    reset();
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 1;
    W.follow.entry = NULL;
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 1,
       "nothing handed over: the follower asks itself");
    ok(W.counts[PC_CNT_COALESCED] == 0, "no call saved: not counted");
    ok(W.flight_ends == 0, "as no leader: it ends no flight");

    /* With TTL 0 the handed-over answer has no freshness at all: it is
     * still the answer to the question the follower asked. */
    reset();
    POL.allow_ttl = 0;
    memset(&e, 0, sizeof(e));
    memset(&c, 0, sizeof(c));
    c.id = "ttl0";
    c.status = "ACCEPTED";
    e.kind = PC_CK_CONSENT;
    e.consent = &c;
    e.fresh_until = 0;
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 1;
    W.follow.entry = &e;
    o = look();
    ok(o.result == PC_LK_FOUND && strcmp(o.consent->id, "ttl0") == 0 &&
       W.calls == 0, "TTL 0: a follower gets the leader's answer, no call");
    ok(W.counts[PC_CNT_COALESCED] == 1, "counted as a call saved");
}

static int w_budget(void *b, int wait_ms, int *retry)
{
    world_t *w = b;
    w->budget_asks++;
    w->budget_waited = wait_ms;
    if (w->budget > 0) {
        w->budget--;
        return 1;
    }
    *retry = 3;
    return 0;
}

static void test_budget(void)
{
    pc_outcome_t o;

    reset();
    OPS.budget_take = w_budget;
    W.budget = 1;
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.budget_asks == 1 && W.budget == 0,
       "a call takes one from the budget");
    ok(W.budget_waited == POL.wait_ms,
       "without a stale entry it may wait up to the timeout");
    look();
    ok(W.budget_asks == 1, "a hit takes nothing");

    reset();
    OPS.budget_take = w_budget;
    W.budget = 0;
    o = look();
    ok(o.result == PC_LK_ERROR && strcmp(o.err.tag, "budget") == 0 &&
       o.retry_after == 3, "over budget, nothing stale: an error, Retry-After");
    ok(W.calls == 0 && W.counts[PC_CNT_BUDGET] == 1 &&
       W.counts[PC_CNT_ERROR] == 0,
       "no call; counted as over budget, not as a PingOne error");
    ok(W.flight_ends == 1 && !W.ended.ok &&
       strcmp(W.ended.err_tag, "budget") == 0,
       "the followers of the flight get the same answer");

    reset();
    OPS.budget_take = w_budget;
    POL.allow_ttl = 1;
    POL.stale_window = 60;
    W.budget = 1;
    look();
    W.now += SEC(5);
    o = look();
    ok(o.source == PC_SRC_STALE && W.calls == 1,
       "over budget, a stale entry within the window decides");
    ok(W.budget_waited == 0, "at once: no wait for budget");

    reset();
    OPS.budget_take = w_budget;
    POL.fail_open = 1;
    W.budget = 0;
    o = look();
    ok(o.result == PC_LK_FAIL_OPEN, "over budget under fail-open: allowed");

    reset();
    OPS.budget_take = w_budget;
    W.budget = 0;
    W.flight_mode = PC_FLIGHT_FOLLOWED;
    W.follow.ok = 1;
    {
        pc_cache_entry_t e;
        memset(&e, 0, sizeof(e));
        e.kind = PC_CK_CONSENT;
        W.follow.entry = &e;
        o = look();
    }
    ok(o.result == PC_LK_FOUND && W.budget_asks == 0,
       "a follower needs no budget");

    reset();
    OPS.budget_take = w_budget;
    W.budget = 0;
    {
        pc_outcome_t u;
        pc_lookup_user(&u, &OPS, &POL, ENV, "alice", p);
        ok(u.result == PC_LK_ERROR && W.user_calls == 0,
           "a username lookup needs budget too");
    }
}

static void test_purge_race(void)
{
    pc_outcome_t o;

    reset();
    W.put_result = PC_PUT_RACED;
    W.call_takes = SEC(1);
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_PINGONE,
       "a purge during the lookup: the answer decides this request");
    ok(W.last_asked_at == T0, "the store was told when the call started");
    ok(W.flight_ends == 1 && W.ended.ok && !W.ended_has_entry,
       "but is not handed to the followers");
    W.put_result = PC_PUT_KEPT;
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 2,
       "and the next request asks PingOne again");
}

static void test_cache_down(void)
{
    pc_outcome_t o;

    reset();
    W.cache_down = 1;
    o = look();
    ok(o.result == PC_LK_FOUND && o.source == PC_SRC_PINGONE,
       "a failing cache: PingOne decides");
    ok(W.ended_has_entry, "the answer still goes to the followers");
}

static void test_username(void)
{
    pc_outcome_t o;

    reset();
    W.user_found = USER;
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && strcmp(o.user_id, USER) == 0,
       "a username resolves to its ID");
    ok(W.user_calls == 1 && W.counts[PC_CNT_PINGONE] == 1, "one call");
    ok(W.last_store_until == T0 + SEC(60), "kept for the allow TTL");
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && W.user_calls == 1,
       "then answered from the cache");

    reset();
    W.user_found = NULL;
    pc_lookup_user(&o, &OPS, &POL, ENV, "nobody", p);
    ok(o.result == PC_LK_UNKNOWN_USER && strstr(W.log, "PC00105"),
       "an unknown username denies, logged");
    ok(o.source == PC_SRC_PINGONE, "PingOne said so (the source, for metrics)");
    ok(W.last_store_until == T0 + SEC(10), "kept for the deny TTL");
    pc_lookup_user(&o, &OPS, &POL, ENV, "nobody", p);
    ok(o.result == PC_LK_UNKNOWN_USER && W.user_calls == 1,
       "the unknown username is cached");
    ok(o.source == PC_SRC_CACHE, "then the cache says so");

    reset();
    fail_with(PC_E_TRANSPORT, "upstream-connect", NULL);
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_ERROR && o.user_id == NULL, "PingOne down: error");

    reset();
    POL.fail_open = 1;
    fail_with(PC_E_TRANSPORT, "upstream-connect", NULL);
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FAIL_OPEN && o.user_id == NULL,
       "fail open without a user ID");

    reset();
    POL.allow_ttl = 0;
    W.user_found = USER;
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(W.puts == 0, "TTL 0: the mapping is not cached");
}

static void test_freshness_cap(void)
{
    pc_outcome_t o;

    /* An entry claiming a day of freshness (a forged or an old entry):
     * fresh only as long as the allow TTL from when it was fetched. */
    reset();
    look();
    W.slots[0].e.fresh_until = T0 + SEC(86400);
    W.slots[0].until = T0 + SEC(86400);
    W.now += SEC(30);
    o = look();
    ok(o.source == PC_SRC_CACHE, "within the allow TTL: the cache decides");
    W.now += SEC(31);
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 2,
       "past fetched_at + allow TTL it is asked again, whatever it claims");

    reset();
    W.status = "REVOKED";
    look();
    W.slots[0].e.fresh_until = T0 + SEC(86400);
    W.slots[0].until = T0 + SEC(86400);
    W.now += SEC(11);
    o = look();
    ok(o.source == PC_SRC_PINGONE, "a deny: capped at the deny TTL");

    reset();
    W.user_found = USER;
    {
        pc_outcome_t u;
        pc_lookup_user(&u, &OPS, &POL, ENV, "alice", p);
        W.slots[0].e.fresh_until = T0 + SEC(86400);
        W.slots[0].until = T0 + SEC(86400);
        W.now += SEC(61);
        pc_lookup_user(&u, &OPS, &POL, ENV, "alice", p);
        ok(W.user_calls == 2, "a username mapping too");
    }
}

static void test_name_of(void)
{
    pc_outcome_t o;
    int i, found = 0;

    reset();
    W.user_found = "E0000000-0000-4000-8000-00000000A11C";
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && strcmp(o.user_id, USER) == 0,
       "a resolved ID is lowercased: it keys the cache one way only");
    for (i = 0; i < 8; i++) {
        if (W.slots[i].used && W.slots[i].id.kind == PC_CK_NAME_OF &&
            strcmp(W.slots[i].id.user, USER) == 0 &&
            strcmp(W.slots[i].e.app, "alice") == 0)
            found = 1;
    }
    ok(found, "the reverse mapping (ID -> username) is stored for purges");

    reset();
    W.user_found = NULL;
    pc_lookup_user(&o, &OPS, &POL, ENV, "nobody", p);
    ok(W.puts == 1, "an unknown username has no reverse mapping");
}

/* PingOneConsentFeedTTL: events as the source of truth while the feed is
 * healthy, the allow TTL as the safety net when it is not. */
static void test_feed_ttl(void)
{
    pc_outcome_t o;

    reset();
    POL.feed_ttl = 3600;
    W.feed_since = T0 - SEC(10);
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.last_store_until == T0 + SEC(3600),
       "feed: an allow is stored for the feed TTL");
    W.now = T0 + SEC(120);
    o = look();
    ok(o.source == PC_SRC_CACHE && W.calls == 1,
       "feed healthy: an allow older than the allow TTL still decides");
    ok(W.feed_asks > 0 && W.feed_env && strcmp(W.feed_env, ENV) == 0,
       "the feed of the lookup's environment is asked");
    W.now = T0 + SEC(3599);
    ok(look().source == PC_SRC_CACHE && W.calls == 1,
       "feed healthy: fresh up to the feed TTL");
    W.now = T0 + SEC(3601);
    ok(look().source == PC_SRC_PINGONE && W.calls == 2,
       "past the feed TTL: asked again");

    /* healthy -> unhealthy -> healthy */
    reset();
    POL.feed_ttl = 3600;
    W.feed_since = T0 - SEC(10);
    look();
    W.now = T0 + SEC(30);
    W.feed_since = 0;
    ok(look().source == PC_SRC_CACHE && W.calls == 1,
       "feed unhealthy: an allow within the allow TTL still decides");
    W.now = T0 + SEC(61);
    o = look();
    ok(o.source == PC_SRC_PINGONE && W.calls == 2,
       "feed unhealthy: an allow older than the allow TTL is asked again");
    ok(W.last_store_until == T0 + SEC(61 + 3600),
       "and stored for the feed TTL again (capped when read)");
    W.now = T0 + SEC(61 + 59);
    ok(look().source == PC_SRC_CACHE && W.calls == 2,
       "still unhealthy: the new entry decides for the allow TTL");
    W.now = T0 + SEC(61 + 61);
    ok(look().source == PC_SRC_PINGONE && W.calls == 3,
       "and no longer");
    W.feed_since = T0 - SEC(10);
    W.now = T0 + SEC(61 + 61 + 300);
    ok(look().source == PC_SRC_CACHE && W.calls == 3,
       "healthy again: the entry decides up to the feed TTL");

    /* fetched before the feed had seen everything since */
    reset();
    POL.feed_ttl = 3600;
    W.feed_since = T0 - SEC(10);
    look();
    W.feed_since = T0 + SEC(5);   /* a gap: the feed started again later */
    W.now = T0 + SEC(61);
    ok(look().source == PC_SRC_PINGONE && W.calls == 2,
       "an entry fetched before the feed's start decides for the allow "
       "TTL only");
}

static void test_feed_ttl_limits(void)
{
    pc_lookup_key_t k = {ENV, USER, APP, NULL, "alice"};
    pc_outcome_t o;

    reset();
    POL.feed_ttl = 3600;
    W.feed_since = T0 - SEC(10);
    W.status = "REVOKED";
    look();
    ok(W.last_store_until == T0 + SEC(10),
       "feed: a deny keeps the deny TTL");
    W.now = T0 + SEC(11);
    ok(look().source == PC_SRC_PINGONE && W.calls == 2,
       "and is asked again after it");

    reset();
    POL.feed_ttl = 3600;
    POL.allow_ttl = 0;
    W.feed_since = T0 - SEC(10);
    look();
    ok(W.puts == 0, "allow TTL 0: the feed does not make allows cached");

    reset();
    POL.feed_ttl = 30;
    W.feed_since = T0 - SEC(10);
    look();
    ok(W.last_store_until == T0 + SEC(60),
       "a feed TTL below the allow TTL changes nothing");

    reset();
    POL.feed_ttl = 3600;
    OPS.feed_since = NULL;
    look();
    W.now = T0 + SEC(61);
    ok(look().source == PC_SRC_PINGONE && W.calls == 2,
       "no feed op: the allow TTL caps");

    reset();
    POL.feed_ttl = 3600;
    POL.stale_window = 60;
    W.feed_since = T0 - SEC(10);
    look();
    W.feed_since = 0;
    W.now = T0 + SEC(90);
    fail_with(PC_E_STATUS, "upstream-503", NULL);
    pc_lookup_consent(&o, &OPS, &POL, &k, p);
    ok(o.source == PC_SRC_STALE,
       "feed and PingOne down: stale only within the window after the "
       "allow TTL");
    W.now = T0 + SEC(121);
    pc_lookup_consent(&o, &OPS, &POL, &k, p);
    ok(o.result == PC_LK_ERROR, "and not after it");

    /* username mappings live the feed TTL too */
    reset();
    POL.feed_ttl = 3600;
    W.feed_since = T0 - SEC(10);
    W.user_found = USER;
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && W.user_calls == 1 &&
       W.last_store_until == T0 + SEC(3600),
       "a username mapping is stored for the feed TTL");
    W.now = T0 + SEC(120);
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && W.user_calls == 1,
       "feed healthy: it decides past the allow TTL");
    W.feed_since = 0;
    pc_lookup_user(&o, &OPS, &POL, ENV, "alice", p);
    ok(o.result == PC_LK_FOUND && W.user_calls == 2,
       "feed unhealthy: asked again");
}

static void test_names(void)
{
    ok(strcmp(pc_source_name(PC_SRC_CACHE), "cache") == 0 &&
       strcmp(pc_source_name(PC_SRC_PINGONE), "pingone") == 0 &&
       strcmp(pc_source_name(PC_SRC_STALE), "stale") == 0 &&
       strcmp(pc_source_name(PC_SRC_FAIL_OPEN), "fail-open") == 0,
       "source names as exported in PINGONE_CONSENT_SOURCE");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_miss_then_hit();
    test_negative_caching();
    test_ttl_zero();
    test_stale();
    test_fail_modes();
    test_backoff();
    test_follower();
    test_budget();
    test_purge_race();
    test_cache_down();
    test_username();
    test_freshness_cap();
    test_name_of();
    test_feed_ttl();
    test_feed_ttl_limits();
    test_names();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

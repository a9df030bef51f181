/*
 * pc_lookup.c - the lookup policy (see pc_lookup.h for the order of the
 * steps).  One small function per step; each either settles the outcome
 * (returns 1) or lets the next step run (returns 0).
 */
#include "pc_lookup.h"
#include "pc_decide.h"
#include "pc_parse.h"
#include "pc_text.h"

#include <apr_strings.h>
#include <string.h>

/* One lookup in progress. */
typedef struct lk_t {
    const pc_lookup_ops_t *ops;
    const pc_lookup_policy_t *pol;
    pc_outcome_t *out;
    apr_pool_t *p;
    pc_entry_id_t id;
    const char *user_label;    /* for logs */
    const char *app_id, *app_name;
    apr_time_t now;            /* when the lookup started */
    pc_cache_entry_t *stale;   /* a stale entry kept for PingOne failures */
    pc_flight_e flight;
} lk_t;

const char *pc_source_name(pc_source_e source)
{
    static const char *const names[] = {"cache", "pingone", "stale",
                                        "fail-open"};
    return (unsigned)source < sizeof(names) / sizeof(names[0])
               ? names[source]
               : "pingone";
}

static void count(const lk_t *L, pc_counter_e which)
{
    L->ops->count(L->ops->baton, which);
}

static void logf_(const lk_t *L, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(const lk_t *L, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    L->ops->log(L->ops->baton, level, apr_pvsprintf(L->p, fmt, ap));
    va_end(ap);
}

static const char *err_text(const pc_error_t *err)
{
    return err->message ? err->message : "unknown";
}

/* The outcome an entry (fresh or stale) gives. */
static void from_entry(lk_t *L, const pc_cache_entry_t *e, pc_source_e src)
{
    L->out->consent = e->consent;
    L->out->source = src;
    L->out->result = e->unknown_user ? PC_LK_UNKNOWN_USER : PC_LK_FOUND;
}

/* A PingOne error this lookup did not see itself (back-off, a failed
 * flight it followed). */
static void borrowed_error(lk_t *L, const char *tag, const char *retry_after,
                           const char *why)
{
    pc_error_t *err = &L->out->err;

    memset(err, 0, sizeof(*err));
    err->kind = PC_E_STATUS;
    err->tag = tag && *tag ? tag : "upstream";
    err->retry_after = retry_after;
    err->message = apr_psprintf(L->p, "%s (%s)", why, err->tag);
}

/* PingOne could not be asked or did not answer: a stale entry within the
 * window decides, else fail open when configured, else an error (503). */
static void without_pingone(lk_t *L)
{
    pc_outcome_t *out = L->out;

    if (L->stale) {
        count(L, PC_CNT_STALE);
        logf_(L, 4, "PC00113: PingOne failed (%s); deciding from a cache "
                    "entry %" APR_TIME_T_FMT " s past its freshness "
                    "(PingOneConsentStaleIfError)",
              err_text(&out->err),
              apr_time_sec(L->ops->now(L->ops->baton) - L->stale->fresh_until));
        from_entry(L, L->stale, PC_SRC_STALE);
        return;
    }
    if (L->pol->fail_open) {
        count(L, PC_CNT_FAIL_OPEN);
        logf_(L, 4, "PC00114: PingOne failed (%s) and PingOneConsentFailMode "
                    "is open: ALLOWING user %s without a consent check",
              err_text(&out->err), pc_log_safe(L->p, L->user_label, 64));
        out->result = PC_LK_FAIL_OPEN;
        out->source = PC_SRC_FAIL_OPEN;
        return;
    }
    out->result = PC_LK_ERROR;
    out->retry_after = pc_retry_after_seconds(
        out->err.retry_after, L->ops->now(L->ops->baton),
        L->pol->default_retry_after);
}

static void upstream_failed(lk_t *L)
{
    count(L, PC_CNT_ERROR);
    without_pingone(L);
}

/* PingOne answered 429: every process backs off until Retry-After. */
static void note_rate_limit(lk_t *L, const pc_error_t *err)
{
    if (err->kind == PC_E_RATE_LIMITED)
        L->ops->backoff_set(
            L->ops->baton,
            L->now + apr_time_from_sec(pc_retry_after_seconds(
                         err->retry_after, L->now,
                         L->pol->default_retry_after)));
}

/* An activity feed that may stretch allows: its TTL is longer than the
 * allow TTL, and allows are cached at all. */
static int feed_on(const lk_t *L)
{
    return L->pol->feed_ttl > L->pol->allow_ttl && L->pol->allow_ttl > 0;
}

/* The allow TTL answers are stored with: the feed TTL when there is a
 * feed (whether it is healthy is asked when the entry is read). */
static int store_allow_ttl(const lk_t *L)
{
    return feed_on(L) ? L->pol->feed_ttl : L->pol->allow_ttl;
}

/* The allow TTL an entry fetched at fetched_at is capped with: the feed
 * TTL while the feed is healthy and has seen every event since the entry
 * was fetched (a revocation since then would have dropped it), else the
 * allow TTL.  fetched_at is rounded down to the second, never later than
 * the real fetch. */
static int allow_ttl_for(const lk_t *L, apr_time_t fetched_at)
{
    apr_time_t since;

    if (!feed_on(L) || L->ops->feed_since == NULL)
        return L->pol->allow_ttl;
    since = L->ops->feed_since(L->ops->baton, L->id.env, L->now);
    return since > 0 && fetched_at >= since ? L->pol->feed_ttl
                                            : L->pol->allow_ttl;
}

/* A stored entry is fresh no longer than the configured TTLs allow from
 * when it was fetched, whatever it says (a cache that stores what anyone
 * wrote, an entry from before a TTL was lowered, or one stored for the
 * feed TTL while the feed is not healthy now). */
static void cap_freshness(const lk_t *L, pc_cache_entry_t *e)
{
    int allow_ttl = allow_ttl_for(L, e->fetched_at);
    apr_time_t cap;

    if (e->kind == PC_CK_USER)
        cap = e->fetched_at +
              apr_time_from_sec(e->user_id && *e->user_id ? allow_ttl
                                                           : L->pol->deny_ttl);
    else
        cap = pc_cache_fresh_until(e->fetched_at, e->consent, allow_ttl,
                                   L->pol->deny_ttl);
    if (cap < e->fetched_at)
        cap = e->fetched_at;
    if (e->fresh_until > cap)
        e->fresh_until = cap;
}

/* ---- the consent lookup, step by step ---------------------------------- */

/* 1. A fresh entry decides; a stale one within the window is kept. */
static int from_cache(lk_t *L)
{
    pc_cache_entry_t e;

    if (L->ops->cache_get(L->ops->baton, &L->id, &e, L->p) != PC_GET_HIT)
        return 0;
    cap_freshness(L, &e);
    switch (pc_cache_freshness(&e, L->now, L->pol->stale_window)) {
    case PC_FRESH:
        count(L, PC_CNT_HIT);
        from_entry(L, &e, PC_SRC_CACHE);
        return 1;
    case PC_STALE:
        L->stale = apr_pmemdup(L->p, &e, sizeof(e));
        return 0;
    case PC_EXPIRED:
        return 0;
    }
    return 0;
}

/* 2. While PingOne's back-off runs, nobody asks it. */
static int backed_off(lk_t *L)
{
    int left = L->ops->backoff_left(L->ops->baton, L->now);

    if (left <= 0)
        return 0;
    borrowed_error(L, "upstream-429", apr_itoa(L->p, left),
                   "PingOne asked all servers to back off");
    upstream_failed(L);
    return 1;
}

/* The lead of a flight ends it: followers get the answer or the error. */
static void end_flight(lk_t *L, const pc_cache_entry_t *handed,
                       const pc_error_t *err)
{
    pc_flight_answer_t ans;

    if (L->flight != PC_FLIGHT_LEAD)
        return;
    memset(&ans, 0, sizeof(ans));
    ans.ok = err == NULL;
    ans.entry = handed;
    if (err) {
        ans.err_tag = err->tag;
        ans.retry_after = err->retry_after;
    }
    L->ops->flight_end(L->ops->baton, &L->id, &ans, L->p);
}

/* 3. Single flight: follow a concurrent lookup of the same key.  A
 * follower settled by the flight saved a PingOne call. */
static int join_flight(lk_t *L)
{
    pc_flight_answer_t ans;
    pc_cache_entry_t e;

    memset(&ans, 0, sizeof(ans));
    L->flight = L->ops->flight_begin(L->ops->baton, &L->id, L->pol->wait_ms,
                                     &ans, L->p);
    if (L->flight != PC_FLIGHT_FOLLOWED)
        return 0;
    if (!ans.ok) {
        count(L, PC_CNT_COALESCED);
        borrowed_error(L, ans.err_tag, ans.retry_after,
                       "a concurrent lookup of the same consent failed");
        upstream_failed(L);
        return 1;
    }
    /* The leader's answer is the answer to the question this lookup asked
     * (it was asked while this one waited), whatever its TTL. */
    if (ans.entry) {
        count(L, PC_CNT_COALESCED);
        from_entry(L, ans.entry, PC_SRC_CACHE);
        return 1;
    }
    /* None handed over: what the leader stored, if fresh. */
    if (L->ops->cache_get(L->ops->baton, &L->id, &e, L->p) == PC_GET_HIT &&
        (cap_freshness(L, &e),
         pc_cache_freshness(&e, L->ops->now(L->ops->baton), 0) == PC_FRESH)) {
        count(L, PC_CNT_COALESCED);
        from_entry(L, &e, PC_SRC_CACHE);
        return 1;
    }
    /* Nothing usable (a purge raced the leader): ask ourselves. */
    L->flight = PC_FLIGHT_ALONE;
    return 0;
}

/* 4. One call from the budget.  Over budget, a stale entry decides at
 * once; without one, wait for budget (at most the timeout), then fail. */
static int over_budget(lk_t *L)
{
    int retry = 0;

    if (L->ops->budget_take == NULL ||
        L->ops->budget_take(L->ops->baton, L->stale ? 0 : L->pol->wait_ms,
                            &retry))
        return 0;
    count(L, PC_CNT_BUDGET);
    borrowed_error(L, "budget", apr_itoa(L->p, retry > 0 ? retry : 1),
                   "the PingOne call budget (PingOneRateLimit) is spent");
    end_flight(L, NULL, &L->out->err);
    without_pingone(L);
    return 1;
}

/* 5b. Cache PingOne's answer (unless its TTL is 0; an allow for the feed
 * TTL when there is a feed), and hand it to the followers unless a purge
 * raced it. */
static void store_answer(lk_t *L, pc_cache_entry_t *e, apr_time_t asked_at)
{
    apr_time_t fresh = pc_cache_fresh_until(L->now, e->consent,
                                            store_allow_ttl(L),
                                            L->pol->deny_ttl);
    pc_put_e put = PC_PUT_NOT_STORED;

    e->fetched_at = L->now;
    if (fresh) {
        e->fresh_until = fresh;
        put = L->ops->cache_put(
            L->ops->baton, &L->id, e,
            pc_cache_store_expiry(fresh, L->pol->stale_window), asked_at,
            L->p);
    }
    end_flight(L, put != PC_PUT_RACED ? e : NULL, NULL);
}

/* 5. Ask PingOne. */
static void ask_pingone(lk_t *L)
{
    pc_outcome_t *out = L->out;
    pc_cache_entry_t *e = apr_pcalloc(L->p, sizeof(*e));
    apr_array_header_t *consents;
    apr_time_t t0;
    apr_status_t rv;

    count(L, PC_CNT_PINGONE);
    e->kind = PC_CK_CONSENT;
    e->user_id = L->id.user;
    e->app = L->id.app;
    t0 = L->ops->now(L->ops->baton);
    rv = L->ops->get_consents(L->ops->baton, L->id.user, L->app_id,
                              L->app_name, &consents, &out->err, L->p);
    L->ops->latency(L->ops->baton, L->ops->now(L->ops->baton) - t0);
    if (rv != APR_SUCCESS && out->err.kind != PC_E_NOT_FOUND) {
        note_rate_limit(L, &out->err);
        end_flight(L, NULL, &out->err);
        upstream_failed(L);
        return;
    }
    out->source = PC_SRC_PINGONE;
    if (rv != APR_SUCCESS) {
        logf_(L, 6, "PC00107: PingOne does not know user %s: deny",
              L->id.user);
        e->unknown_user = 1;
        out->result = PC_LK_UNKNOWN_USER;
    }
    else {
        e->consent = (pc_consent_t *)pc_select_consent(consents, L->app_id,
                                                       L->app_name);
        out->consent = e->consent;
        out->result = PC_LK_FOUND;
        logf_(L, 7, "PC00108: user %s, application %s: %d consent(s), most "
                    "recent %s (%s)",
              L->id.user, pc_log_safe(L->p, L->id.app, 100), consents->nelts,
              e->consent ? e->consent->id : "-",
              e->consent ? pc_log_safe(L->p, e->consent->status, 32)
                         : "none");
    }
    store_answer(L, e, t0);
}

static void lk_init(lk_t *L, pc_outcome_t *out, const pc_lookup_ops_t *ops,
                    const pc_lookup_policy_t *policy, apr_pool_t *p)
{
    memset(L, 0, sizeof(*L));
    memset(out, 0, sizeof(*out));
    L->ops = ops;
    L->pol = policy;
    L->out = out;
    L->p = p;
    L->flight = PC_FLIGHT_ALONE;
    L->now = ops->now(ops->baton);
}

void pc_lookup_consent(pc_outcome_t *out, const pc_lookup_ops_t *ops,
                       const pc_lookup_policy_t *policy,
                       const pc_lookup_key_t *key, apr_pool_t *p)
{
    lk_t L;

    lk_init(&L, out, ops, policy, p);
    L.id.kind = PC_CK_CONSENT;
    L.id.env = key->env_id;
    L.id.user = key->user_id;
    L.id.app = key->app_id ? key->app_id : key->app_name;
    L.app_id = key->app_id;
    L.app_name = key->app_name;
    L.user_label = key->user_label ? key->user_label : key->user_id;
    out->user_id = key->user_id;

    if (from_cache(&L))
        return;
    count(&L, PC_CNT_MISS);
    if (backed_off(&L) || join_flight(&L) || over_budget(&L))
        return;
    ask_pingone(&L);
}

/* ---- username -> user ID ------------------------------------------------ */

/* A cached mapping for exactly this username: 1 and *id (NULL: PingOne
 * has no such user). */
static int cached_user(lk_t *L, const char **id)
{
    pc_cache_entry_t e;

    if (L->ops->cache_get(L->ops->baton, &L->id, &e, L->p) != PC_GET_HIT ||
        e.kind != PC_CK_USER || e.consent != NULL || e.app == NULL ||
        strcmp(e.app, L->id.user) != 0)
        return 0;
    cap_freshness(L, &e);
    if (pc_cache_freshness(&e, L->now, 0) != PC_FRESH)
        return 0;
    *id = e.user_id && *e.user_id ? e.user_id : NULL;
    return 1;
}

/* The mapping username -> ID, and for a known user its reverse (ID ->
 * username), so that a purge of the ID (a user deleted, disabled or
 * renamed) also drops the mapping. */
static void store_user(lk_t *L, const char *id)
{
    pc_cache_entry_t e;
    pc_entry_id_t rev;
    int ttl = id ? store_allow_ttl(L) : L->pol->deny_ttl;

    if (ttl <= 0)
        return;
    memset(&e, 0, sizeof(e));
    e.kind = PC_CK_USER;
    e.user_id = id ? id : "";
    e.app = L->id.user;
    e.fetched_at = L->now;
    e.fresh_until = L->now + apr_time_from_sec(ttl);
    L->ops->cache_put(L->ops->baton, &L->id, &e, e.fresh_until, 0, L->p);
    if (id == NULL)
        return;
    rev.kind = e.kind = PC_CK_NAME_OF;
    rev.env = L->id.env;
    rev.user = id;
    rev.app = "";
    L->ops->cache_put(L->ops->baton, &rev, &e, e.fresh_until, 0, L->p);
}

void pc_lookup_user(pc_outcome_t *out, const pc_lookup_ops_t *ops,
                    const pc_lookup_policy_t *policy, const char *env_id,
                    const char *username, apr_pool_t *p)
{
    lk_t L;
    const char *id = NULL;

    lk_init(&L, out, ops, policy, p);
    L.id.kind = PC_CK_USER;
    L.id.env = env_id;
    L.id.user = username;
    L.id.app = "";
    L.user_label = username;

    if (!cached_user(&L, &id)) {
        if (over_budget(&L))
            return;
        count(&L, PC_CNT_PINGONE);
        if (ops->find_user(ops->baton, username, &id, &out->err, p) !=
            APR_SUCCESS) {
            note_rate_limit(&L, &out->err);
            upstream_failed(&L);
            return;
        }
        if (id)
            id = pc_uuid_lower(p, id);
        out->source = PC_SRC_PINGONE;
        store_user(&L, id);
    }
    if (id == NULL) {
        logf_(&L, 6, "PC00105: PingOne has no (unique) user named '%s': "
                     "deny", pc_log_safe(p, username, 64));
        out->result = PC_LK_UNKNOWN_USER;
        return;
    }
    out->result = PC_LK_FOUND;
    out->user_id = pc_uuid_lower(p, id);
}

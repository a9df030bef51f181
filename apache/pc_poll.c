/*
 * pc_poll.c - the activity feed (see pc_poll.h).
 *
 * Where it runs: mod_watchdog starts a singleton watchdog's thread in
 * every child, and only the child that holds the watchdog's process mutex
 * calls back; when that child exits another one takes over.  So the
 * feed's state lives in the shared segment (it must outlive the child),
 * and the poller uses the PingOne client of the child it runs in (built
 * in child_init: its worker token is the store every process shares).
 *
 * One round, per environment (each step a function below):
 *
 *   health    log a change of health (the lookups read it themselves)
 *   busy      one process at a time (the old generation's poller may
 *             still be finishing during a graceful restart)
 *   lease     pc_dcache_lease: held -> poll; another server's -> follow
 *             its record; the cache failed -> neither (the feed goes
 *             unhealthy, decisions fall back to the allow TTL)
 *   back-off  after errors or a 429, the holder keeps its lease but does
 *             not poll before the slot's next_at
 *   poll      take the farm's cursor if ahead, read the window page by
 *             page (at most FEED_CALLS calls a round: the audit rate
 *             group is 10 requests/s for the whole environment, shared
 *             with everyone), apply new events, move the cursor, write
 *             the record
 */
#include "pc_poll.h"
#include "pc_activity.h"
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_dcache.h"
#include "pc_log.h"
#include "pc_revoke.h"
#include "pc_text.h"

#include "http_core.h"
#include "http_log.h"
#include "mod_watchdog.h"

#include <apr_strings.h>

#include <errno.h>
#include <signal.h>
#include <unistd.h>

APLOG_USE_MODULE(pingone_consent);

#define FEED_WATCHDOG "pingone-consent-feed"
#define FEED_CALLS 4                            /* audit calls per round */
#define FEED_LOG_INTERVAL apr_time_from_sec(60)
#define FEED_RECORD_TTL apr_time_from_sec(14 * 86400)
#define NEXT_URL_MAX 4200

enum { ROLE_STARTING = 0, ROLE_POLLING, ROLE_FOLLOWING, ROLE_CACHE_FAILED };
static const char *const role_names[] = {"starting", "polling", "following",
                                         "cache-failed"};

/* One environment's state in the shared segment.  The poller writes it;
 * the fields lookups and status read are written with atomic stores. */
typedef struct feed_slot_t {
    char env[40];                  /* "" : unused */
    apr_uint32_t busy;             /* pid of the process polling now */
    int role, errors, healthy_was;
    int last_status;               /* HTTP status of the last failure */
    apr_time_t last_poll, last_ok, next_at, error_logged;
    apr_time_t pub_cursor, pub_since;   /* copies of feed.cursor/since */
    char last_error[200];          /* under the segment mutex */
    char next_url[NEXT_URL_MAX];   /* the open window's next page */
    pc_feed_t feed;
} feed_slot_t;

typedef struct feed_shared_t {
    char holder[96];               /* this server's name for leases */
    feed_slot_t slot[PC_POLL_MAX_ENVS];
} feed_shared_t;

/* One environment to follow: the server whose PingOne settings are used. */
typedef struct feed_env_t {
    server_rec *s;
    const char *env_id;
    const char *url;               /* .../environments/{env}/activities */
    const char *lease, *record;    /* farm names */
    feed_slot_t *slot;
} feed_env_t;

/* The feed's configuration (pconf; every child inherits it). */
typedef struct feed_conf_t {
    server_rec *s;
    apr_interval_time_t interval, lease_ttl;
    const apr_array_header_t *types;    /* action types asked for */
    feed_env_t env[PC_POLL_MAX_ENVS];
    int nenv;
} feed_conf_t;

static feed_shared_t *g_sh;
static feed_conf_t *g_fc;               /* NULL: PingOneActivityPoll Off */
static int g_child_ready;

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_sh = mem;
}

pc_seg_area_t pc_poll_area(void)
{
    pc_seg_area_t a = {sizeof(feed_shared_t), attach};
    return a;
}

static apr_time_t get_t(const apr_time_t *v)
{
    return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static void set_t(apr_time_t *v, apr_time_t x)
{
    __atomic_store_n(v, x, __ATOMIC_RELEASE);
}

/* ---- health ------------------------------------------------------------ */

/* How old the last good poll may be: two intervals (and a second for a
 * poll's own duration); a follower sees the holder's record up to one
 * interval late. */
static apr_interval_time_t health_window(const feed_slot_t *sl)
{
    int n = __atomic_load_n(&sl->role, __ATOMIC_ACQUIRE) == ROLE_FOLLOWING
                ? 3 : 2;
    return g_fc->interval * n + apr_time_from_sec(1);
}

static int slot_healthy(const feed_slot_t *sl, apr_time_t now)
{
    return pc_feed_healthy(get_t(&sl->last_ok), now, health_window(sl));
}

static feed_slot_t *slot_of(const char *env_id)
{
    int i;

    for (i = 0; g_fc && i < g_fc->nenv; i++)
        if (strcmp(g_fc->env[i].env_id, env_id) == 0)
            return g_fc->env[i].slot;
    return NULL;
}

apr_time_t pc_poll_feed_since(const char *env_id, apr_time_t now)
{
    feed_slot_t *sl;

    if (g_sh == NULL || env_id == NULL || (sl = slot_of(env_id)) == NULL ||
        !slot_healthy(sl, now))
        return 0;
    return get_t(&sl->pub_since);
}

/* Say when the feed turns unhealthy (allows are asked again after the
 * allow TTL) and when it is back. */
static void note_health(feed_slot_t *sl, const feed_env_t *fe,
                        const pc_ctx_t *c, apr_time_t now)
{
    int healthy = slot_healthy(sl, now);

    if (healthy == sl->healthy_was)
        return;
    sl->healthy_was = healthy;
    if (healthy)
        pc_log(c, APLOG_NOTICE, 0, "PC00137: activity feed of environment %s "
               "is healthy: cached allows may live PingOneConsentFeedTTL",
               fe->env_id);
    else if (get_t(&sl->last_ok))
        pc_log(c, APLOG_WARNING, 0, "PC00136: activity feed of environment "
               "%s is unhealthy (no complete poll for %" APR_TIME_T_FMT
               " s): cached allows older than PingOneConsentCacheTTL are "
               "asked again", fe->env_id,
               apr_time_sec(now - get_t(&sl->last_ok)));
}

static void set_role(feed_slot_t *sl, const feed_env_t *fe, int role,
                     const pc_ctx_t *c)
{
    if (sl->role == role)
        return;
    __atomic_store_n(&sl->role, role, __ATOMIC_RELEASE);
    if (role == ROLE_POLLING || role == ROLE_FOLLOWING)
        pc_log(c, APLOG_INFO, 0, "PC00138: activity feed of environment %s: "
               "%s", fe->env_id,
               role == ROLE_POLLING ? "this server polls it"
                                    : "another server holds the lease and "
                                      "polls it; following its cursor");
}

/* ---- failures ---------------------------------------------------------- */

static void set_error(feed_slot_t *sl, const char *msg)
{
    pc_segment_lock();
    apr_cpystrn(sl->last_error, msg, sizeof(sl->last_error));
    pc_segment_unlock();
}

/* A poll failed: the window is read again from its start after the
 * back-off (PingOne's Retry-After, else doubling from the interval). */
static void poll_failed(feed_slot_t *sl, const feed_env_t *fe,
                        const pc_error_t *err, const pc_ctx_t *c,
                        apr_time_t now)
{
    apr_time_t next;
    int first;

    pc_feed_abandon(&sl->feed);
    sl->next_url[0] = '\0';
    sl->errors++;
    next = pc_feed_retry_at(now, sl->errors, g_fc->interval, err->retry_after);
    set_t(&sl->next_at, next);
    pc_count(PC_CNT_FEED_ERRORS);
    set_error(sl, err->message ? err->message : "unknown failure");
    /* Logged when failing starts, when the cause changes, else once a
     * minute. */
    first = sl->errors == 1 || err->http_status != sl->last_status ||
            now - sl->error_logged >= FEED_LOG_INTERVAL;
    sl->last_status = err->http_status;
    if (err->kind == PC_E_RATE_LIMITED) {
        pc_count(PC_CNT_FEED_RATE_LIMITED);
        pc_log(c, APLOG_WARNING, 0, "PC00134: activity feed of environment "
               "%s: PingOne's audit API answered 429; backing off %"
               APR_TIME_T_FMT " s", fe->env_id, apr_time_sec(next - now));
        return;
    }
    if (!first)
        return;
    sl->error_logged = now;
    if (err->http_status == 403)
        pc_log(c, APLOG_ERR, 0, "PC00135: activity feed of environment %s: "
               "%s; the worker application needs a role that may read audit "
               "activities (e.g. Environment Admin, or a custom role with "
               "audit read)", fe->env_id,
               pc_log_safe(c->p, err->message, 300));
    else
        pc_log(c, APLOG_ERR, 0, "PC00133: activity feed of environment %s: "
               "%s (%d in a row; next attempt in %" APR_TIME_T_FMT " s; "
               "logged when the cause changes, else once a minute)", fe->env_id,
               pc_log_safe(c->p, err->message ? err->message : "-", 300),
               sl->errors, apr_time_sec(next - now));
}

/* The farm cache failed (logged once a minute): without the lease nobody
 * can tell who polls, so this server does not; without the record other
 * servers do not see this one's progress. */
static void cache_warn(feed_slot_t *sl, const feed_env_t *fe, apr_status_t rv,
                       const char *what, const pc_ctx_t *c, apr_time_t now)
{
    set_error(sl, apr_psprintf(c->p, "the decision cache failed: %s", what));
    if (now - sl->error_logged < FEED_LOG_INTERVAL)
        return;
    sl->error_logged = now;
    pc_log(c, APLOG_WARNING, rv, "PC00142: activity feed of environment %s: "
           "the cache '%s' failed: %s (logged once a minute)", fe->env_id,
           pc_log_safe(c->p, pc_dcache_name(), 100), what);
}

static void cache_failed(feed_slot_t *sl, const feed_env_t *fe,
                         apr_status_t rv, const pc_ctx_t *c, apr_time_t now)
{
    set_role(sl, fe, ROLE_CACHE_FAILED, c);
    cache_warn(sl, fe, rv, "the lease cannot be read or taken; not polling "
               "(decisions fall back to PingOneConsentCacheTTL)", c, now);
}

/* ---- the farm record ----------------------------------------------------- */

/* The record another server (or this one before a restart) left: 1 and
 * its fields, 0 when there is none or it does not decode. */
static int read_record(const feed_env_t *fe, apr_time_t *cursor,
                       apr_time_t *since, apr_time_t *last_ok,
                       const pc_ctx_t *c)
{
    char buf[PC_FEED_RECORD_MAX];
    apr_size_t len = sizeof(buf) - 1;

    if (pc_dcache_kv_get(fe->record, buf, &len, c) != APR_SUCCESS)
        return 0;
    return pc_feed_record_decode(cursor, since, last_ok, buf, len) ==
           APR_SUCCESS;
}

static void publish(feed_slot_t *sl)
{
    set_t(&sl->pub_cursor, sl->feed.cursor);
    set_t(&sl->pub_since, sl->feed.since);
}

/* Follow the lease holder: its cursor and its last good poll are ours. */
static void follow(feed_slot_t *sl, const feed_env_t *fe, const pc_ctx_t *c)
{
    apr_time_t cursor, since, last_ok;

    set_role(sl, fe, ROLE_FOLLOWING, c);
    if (!read_record(fe, &cursor, &since, &last_ok, c))
        return;
    pc_feed_adopt(&sl->feed, cursor, since);
    sl->next_url[0] = '\0';
    publish(sl);
    if (last_ok > get_t(&sl->last_ok))
        set_t(&sl->last_ok, last_ok);
}

/* ---- applying a page ----------------------------------------------------- */

/* Events of a page that are new and usable; the others are counted (and
 * remembered, so the next window does not count them again). */
static apr_array_header_t *new_events(feed_slot_t *sl, const feed_env_t *fe,
                                      const pc_activity_page_t *page,
                                      const pc_ctx_t *c)
{
    apr_array_header_t *out = apr_array_make(c->p, page->events->nelts + 1,
                                             sizeof(pc_event_t *));
    const char *bad = NULL;
    int i, nbad = 0, nforeign = 0;

    for (i = 0; i < page->events->nelts; i++) {
        pc_event_t *ev = APR_ARRAY_IDX(page->events, i, pc_event_t *);
        const char *why = pc_activity_malformed(ev);
        int usable_id = ev->id && *ev->id && strlen(ev->id) <= 128;

        if (usable_id && pc_feed_seen(&sl->feed, ev->id))
            continue;
        if (why || pc_activity_foreign(ev, fe->env_id)) {
            pc_count(why ? PC_CNT_FEED_MALFORMED : PC_CNT_FEED_FOREIGN);
            if (why && !bad)
                bad = why;
            if (why)
                nbad++;
            else
                nforeign++;
            if (usable_id)
                pc_feed_remember(&sl->feed, ev->id,
                                 ev->recorded_at > 0 ? ev->recorded_at
                                                     : sl->feed.win_until);
            continue;
        }
        pc_count(PC_CNT_FEED_EVENTS);
        APR_ARRAY_PUSH(out, pc_event_t *) = ev;
    }
    if (nbad)
        pc_log(c, APLOG_INFO, 0, "PC00140: activity feed of environment %s: "
               "%d activities skipped that cannot be read (%s)", fe->env_id,
               nbad, bad);
    if (nforeign)
        pc_log(c, APLOG_INFO, 0, "PC00141: activity feed of environment %s: "
               "%d activities of another environment skipped", fe->env_id,
               nforeign);
    return out;
}

/* Apply a page's new events through the webhook's code path.  APR_SUCCESS,
 * or a purge failed (then nothing of the page is remembered: the window
 * is read again, and dropping a user twice is harmless). */
static apr_status_t apply_page(feed_slot_t *sl, const feed_env_t *fe,
                               const pc_activity_page_t *page,
                               const pc_ctx_t *c)
{
    apr_array_header_t *evs = new_events(sl, fe, page, c);
    pc_revoke_result_t res;
    int i, lost = 0;

    if (evs->nelts == 0)
        return APR_SUCCESS;
    pc_revoke_apply(&res, evs, "activity feed", PC_CNT_FEED_APPLIED, c);
    if (res.failed)
        return APR_EGENERAL;
    for (i = 0; i < evs->nelts; i++) {
        const pc_event_t *ev = APR_ARRAY_IDX(evs, i, const pc_event_t *);
        lost += pc_feed_remember(&sl->feed, ev->id, ev->recorded_at);
    }
    if (lost)
        pc_log(c, APLOG_INFO, 0, "PC00145: activity feed of environment %s: "
               "more events in a window than it remembers (%d); some may be "
               "applied twice (harmless: one more PingOne lookup each)",
               fe->env_id, PC_FEED_SEEN);
    return APR_SUCCESS;
}

/* ---- a poll -------------------------------------------------------------- */

/* The window is complete: the cursor moves to its end, the record goes
 * to the farm, the feed is healthy. */
static void window_done(feed_slot_t *sl, const feed_env_t *fe, int pages,
                        const pc_ctx_t *c, apr_time_t now)
{
    char rec[PC_FEED_RECORD_MAX];
    apr_size_t n;
    apr_status_t rv;

    pc_feed_complete(&sl->feed, PC_FEED_MARGIN);
    sl->next_url[0] = '\0';
    sl->errors = 0;
    set_t(&sl->next_at, 0);
    publish(sl);
    set_t(&sl->last_ok, now);
    pc_count(PC_CNT_FEED_POLLS);
    n = pc_feed_record_encode(rec, sl->feed.cursor, sl->feed.since, now);
    rv = pc_dcache_kv_put(fe->record, rec, n, FEED_RECORD_TTL, c);
    if (rv != APR_SUCCESS)
        cache_warn(sl, fe, rv, "the cursor cannot be stored for the other "
                   "servers", c, now);
    pc_log(c, APLOG_DEBUG, 0, "PC00132: activity feed of environment %s: "
           "window read to its end (%d page(s)); cursor %s",
           fe->env_id, pages, pc_activity_time(c->p, sl->feed.cursor));
}

/* Read the window page by page, at most FEED_CALLS calls.  A window with
 * more pages stays open and is read on at the next round. */
static void read_window(feed_slot_t *sl, const feed_env_t *fe,
                        pc_client_t *client, const pc_ctx_t *c,
                        apr_time_t now)
{
    const char *form = pc_activity_form(
        c->p, pc_activity_filter(c->p, sl->feed.win_from,
                                 sl->feed.win_until, g_fc->types),
        PC_FEED_PAGE_LIMIT);
    pc_activity_page_t *page;
    pc_error_t err;
    int calls;

    for (calls = 0; calls < FEED_CALLS; calls++) {
        /* Each page renews the lease: a long poll keeps it. */
        if (calls && pc_dcache_lease(fe->lease, g_sh->holder, g_fc->lease_ttl,
                                     c) != APR_SUCCESS)
            return;
        pc_count(PC_CNT_FEED_CALLS);
        if (pc_activity_fetch(&page, client, fe->url, form,
                              sl->next_url[0] ? sl->next_url : NULL, &err,
                              c->p) != APR_SUCCESS) {
            poll_failed(sl, fe, &err, c, now);
            return;
        }
        if (apply_page(sl, fe, page, c) != APR_SUCCESS) {
            err.kind = PC_E_STATUS;
            err.retry_after = NULL;
            err.http_status = 0;
            err.message = "a cached decision could not be dropped (the "
                          "decision cache failed); reading the window again";
            poll_failed(sl, fe, &err, c, now);
            return;
        }
        if (page->next == NULL) {
            window_done(sl, fe, calls + 1, c, now);
            return;
        }
        if (strlen(page->next) >= sizeof(sl->next_url)) {
            err.kind = PC_E_PARSE;
            err.retry_after = NULL;
            err.http_status = 0;
            err.message = "audit activities: _links.next.href is too long";
            poll_failed(sl, fe, &err, c, now);
            return;
        }
        apr_cpystrn(sl->next_url, page->next, sizeof(sl->next_url));
    }
    pc_log(c, APLOG_INFO, 0, "PC00143: activity feed of environment %s: "
           "more than %d pages in a window; reading on at the next poll",
           fe->env_id, FEED_CALLS);
}

/* This server holds the lease: take the farm's cursor when it is ahead
 * (another server polled meanwhile), then read the window. */
static void poll_env(feed_slot_t *sl, const feed_env_t *fe,
                     const pc_ctx_t *c, apr_time_t now)
{
    const pc_client_t *base = pc_child_client(fe->s);
    apr_time_t cursor, since, last_ok;
    pc_client_t client;
    int gap;

    set_role(sl, fe, ROLE_POLLING, c);
    if (base == NULL)
        return;
    client = *base;
    client.log = pc_log_ctx_fn;
    client.log_baton = (void *)c;
    if (read_record(fe, &cursor, &since, &last_ok, c) &&
        pc_feed_adopt(&sl->feed, cursor, since))
        sl->next_url[0] = '\0';
    pc_feed_window(&sl->feed, now, PC_FEED_MARGIN, PC_FEED_RETENTION, &gap);
    /* A `since` taken over or started again counts at once: lookups must
     * not stretch entries from before it on an older one. */
    publish(sl);
    if (gap)
        pc_log(c, APLOG_WARNING, 0, "PC00139: activity feed of environment "
               "%s: its cursor is older than the 14 days PingOne keeps; "
               "events in between are lost to it, and only decisions fetched "
               "from now on may live PingOneConsentFeedTTL", fe->env_id);
    set_t(&sl->last_poll, now);
    read_window(sl, fe, &client, c, now);
}

/* ---- the round ------------------------------------------------------------ */

/* One process at a time per environment: a poller of the old generation
 * may still be at work during a graceful restart. */
static int take_busy(feed_slot_t *sl)
{
    apr_uint32_t me = (apr_uint32_t)getpid(), cur = 0;

    if (__atomic_compare_exchange_n(&sl->busy, &cur, me, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return 1;
    if (cur == me)
        return 1;
    /* A poller that died in the middle of a poll. */
    if (kill((pid_t)cur, 0) != 0 && errno == ESRCH)
        return __atomic_compare_exchange_n(&sl->busy, &cur, me, 0,
                                           __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE);
    return 0;
}

static void one_env(const feed_env_t *fe, apr_pool_t *p)
{
    feed_slot_t *sl = fe->slot;
    pc_ctx_t c = pc_ctx_server(g_fc->s, p);
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    note_health(sl, fe, &c, now);
    if (!take_busy(sl))
        return;
    /* The lease is kept while backing off: another server polling instead
     * would spend the same audit rate group. */
    rv = pc_dcache_lease(fe->lease, g_sh->holder, g_fc->lease_ttl, &c);
    if (rv == APR_EEXIST)
        follow(sl, fe, &c);
    else if (rv != APR_SUCCESS)
        cache_failed(sl, fe, rv, &c, now);
    else if (now >= get_t(&sl->next_at))
        poll_env(sl, fe, &c, now);
    note_health(sl, fe, &c, apr_time_now());
    __atomic_store_n(&sl->busy, 0, __ATOMIC_RELEASE);
}

static apr_status_t feed_callback(int state, void *data, apr_pool_t *pool)
{
    apr_pool_t *p;
    int i;

    (void)data;
    if (state == AP_WATCHDOG_STATE_STARTING && g_fc)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, g_fc->s,
                     "PC00131: activity feed: this process (pid %d) polls "
                     "now, every %" APR_TIME_T_FMT " s",
                     (int)getpid(), apr_time_sec(g_fc->interval));
    if (state != AP_WATCHDOG_STATE_RUNNING || g_fc == NULL || g_sh == NULL ||
        !__atomic_load_n(&g_child_ready, __ATOMIC_ACQUIRE))
        return APR_SUCCESS;
    apr_pool_create(&p, pool);
    for (i = 0; i < g_fc->nenv; i++) {
        one_env(&g_fc->env[i], p);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    /* Anything else would stop the watchdog calling back for good. */
    return APR_SUCCESS;
}

/* ---- start-up ------------------------------------------------------------ */

/* This server's name in leases: host name and a random part, made when
 * the segment is new (kept across graceful restarts). */
static void make_holder(apr_pool_t *p)
{
    char host[APRMAXHOSTLEN + 1] = "";
    unsigned char rnd[6];
    char hex[13];
    int i;

    if (g_sh->holder[0])
        return;
    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS)
        apr_cpystrn(host, "localhost", sizeof(host));
    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS)
        memset(rnd, 0, sizeof(rnd));
    for (i = 0; i < 6; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    apr_snprintf(g_sh->holder, sizeof(g_sh->holder), "%.64s/%d/%s", host,
                 (int)getpid(), hex);
}

static int configured(const feed_conf_t *fc, const char *env)
{
    int i;

    for (i = 0; i < fc->nenv; i++)
        if (strcmp(fc->env[i].env_id, env) == 0)
            return 1;
    return 0;
}

/* The environment's slot: the one it had before a graceful restart,
 * else a free one, else one of an environment no longer followed. */
static feed_slot_t *assign_slot(const feed_conf_t *fc, const char *env)
{
    feed_slot_t *sl = NULL;
    int i;

    for (i = 0; i < PC_POLL_MAX_ENVS; i++)
        if (strcmp(g_sh->slot[i].env, env) == 0)
            return &g_sh->slot[i];
    for (i = 0; i < PC_POLL_MAX_ENVS && sl == NULL; i++)
        if (g_sh->slot[i].env[0] == '\0' ||
            !configured(fc, g_sh->slot[i].env))
            sl = &g_sh->slot[i];
    if (sl) {
        memset(sl, 0, sizeof(*sl));
        apr_cpystrn(sl->env, env, sizeof(sl->env));
    }
    return sl;
}

/* Every environment a server has PingOne settings for, once. */
static const char *collect_envs(feed_conf_t *fc, apr_pool_t *pconf,
                                server_rec *s, int *timeout_ms)
{
    server_rec *v;
    int i;

    for (v = s; v; v = v->next) {
        const pc_srv_conf *sc = pc_srv(v);

        if (sc->env_id == NULL || sc->client_id == NULL ||
            sc->client_secret == NULL || configured(fc, sc->env_id))
            continue;
        if (fc->nenv == PC_POLL_MAX_ENVS)
            return apr_psprintf(pconf, "PingOneActivityPoll: at most %d "
                                "environments can be followed",
                                PC_POLL_MAX_ENVS);
        fc->env[fc->nenv].s = v;
        fc->env[fc->nenv].env_id = sc->env_id;
        fc->nenv++;
        if (sc->timeout_ms > *timeout_ms)
            *timeout_ms = sc->timeout_ms;
    }
    for (i = 0; i < fc->nenv; i++) {
        feed_env_t *fe = &fc->env[i];
        fe->url = pc_activity_url(pconf, pc_srv(fe->s)->api_base, fe->env_id);
        fe->lease = apr_pstrcat(pconf, "feed-lease:", fe->env_id, NULL);
        fe->record = apr_pstrcat(pconf, "feed:", fe->env_id, NULL);
    }
    for (i = 0; i < fc->nenv; i++)
        fc->env[i].slot = assign_slot(fc, fc->env[i].env_id);
    return NULL;
}

/* The singleton watchdog that calls feed_callback every interval. */
static const char *start_watchdog(feed_conf_t *fc, apr_pool_t *pconf)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd;

    if (get_instance == NULL || register_cb == NULL)
        return "PingOneActivityPoll needs mod_watchdog (built into Debian's "
               "apache2; elsewhere LoadModule watchdog_module)";
    if (get_instance(&wd, FEED_WATCHDOG, 0, 1, pconf) != APR_SUCCESS ||
        register_cb(wd, fc->interval, fc, feed_callback) != APR_SUCCESS)
        return "PingOneActivityPoll: cannot set up its watchdog";
    return NULL;
}

const char *pc_poll_post_config(apr_pool_t *pconf, server_rec *s)
{
    const pc_srv_conf *sc = pc_srv(s);
    feed_conf_t *fc;
    const char *err;
    int timeout_ms = 0;

    g_fc = NULL;
    if (sc->poll_interval <= 0 || g_sh == NULL)
        return NULL;
    fc = apr_pcalloc(pconf, sizeof(*fc));
    fc->s = s;
    fc->interval = apr_time_from_sec(sc->poll_interval);
    fc->types = pc_event_types_wanted(pconf, sc->revocation_events);
    if ((err = collect_envs(fc, pconf, s, &timeout_ms)) != NULL)
        return err;
    /* Renewed every round and before every page: it lapses three rounds,
     * or one call and a token fetch, after the holder stopped. */
    fc->lease_ttl = 3 * fc->interval + 2 * apr_time_from_msec(timeout_ms);
    make_holder(pconf);
    /* The first pass over the configuration at start-up is a dry run:
     * mod_watchdog starts nothing then either. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG ||
        fc->nenv == 0)
        return NULL;
    if ((err = start_watchdog(fc, pconf)) != NULL)
        return err;
    g_fc = fc;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "PC00130: activity feed: PingOne's audit activities of %d "
                 "environment(s) every %d s, windows overlapping by %d s, "
                 "%d action types (server %s)", fc->nenv, sc->poll_interval,
                 (int)apr_time_sec(PC_FEED_MARGIN), fc->types->nelts,
                 g_sh->holder);
    return NULL;
}

void pc_poll_child_init(apr_pool_t *p, server_rec *s)
{
    (void)p;
    (void)s;
    __atomic_store_n(&g_child_ready, 1, __ATOMIC_RELEASE);
}

/* ---- status ---------------------------------------------------------------- */

int pc_poll_status(apr_array_header_t **envs, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    int i;

    *envs = apr_array_make(p, 4, sizeof(pc_poll_status_t));
    if (g_fc == NULL || g_sh == NULL)
        return 0;
    for (i = 0; i < g_fc->nenv; i++) {
        feed_slot_t *sl = g_fc->env[i].slot;
        pc_poll_status_t *st = apr_array_push(*envs);
        apr_time_t next = get_t(&sl->next_at);
        int role = __atomic_load_n(&sl->role, __ATOMIC_ACQUIRE);

        st->env_id = g_fc->env[i].env_id;
        st->role = role_names[role >= 0 && role <= ROLE_CACHE_FAILED ? role
                                                                     : 0];
        st->healthy = slot_healthy(sl, now);
        st->last_poll = get_t(&sl->last_poll);
        st->last_ok = get_t(&sl->last_ok);
        st->cursor = get_t(&sl->pub_cursor);
        st->since = get_t(&sl->pub_since);
        st->backoff = next > now ? (int)apr_time_sec(next - now + 999999) : 0;
        st->errors = sl->errors;
        pc_segment_lock();
        st->last_error = sl->last_error[0] ? apr_pstrdup(p, sl->last_error)
                                           : NULL;
        pc_segment_unlock();
    }
    return (int)apr_time_sec(g_fc->interval);
}

/*
 * pc_ratelimit.c - the PingOne call budget (see pc_ratelimit.h): this
 * server's bucket, or with a Redis farm cache the farm's (one budget for
 * all servers, src/pc_redis.h pc_redis_bucket), falling back to this
 * server's while Redis cannot be reached.
 */
#include "pc_ratelimit.h"
#include "pc_budget.h"
#include "pc_farm_redis.h"
#include "pc_log.h"
#include "pc_text.h"

#include "http_log.h"

APLOG_USE_MODULE(pingone_consent);

#define RL_LOG_INTERVAL apr_time_from_sec(60)

typedef struct rl_shared_t {
    pc_budget_t bucket;
    apr_time_t logged_at;          /* last PC00116 */
    apr_uint64_t refused;          /* since then */
    apr_time_t farm_logged_at;     /* last PC00034 */
    apr_uint64_t farm_failed;      /* since then */
} rl_shared_t;

static rl_shared_t *g_rl;
static int g_rate, g_burst;

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_rl = mem;
}

pc_seg_area_t pc_ratelimit_area(void)
{
    pc_seg_area_t a = {sizeof(rl_shared_t), attach};
    return a;
}

void pc_ratelimit_configure(int rate, int burst)
{
    g_rate = rate;
    g_burst = burst > 0 ? burst : rate;
}

/* A refusal that ends a wait: counted, logged at most once a minute. */
static void note_refusal(request_rec *r, apr_time_t now)
{
    apr_uint64_t refused = 0;

    pc_segment_lock();
    g_rl->refused++;
    if (now - g_rl->logged_at >= RL_LOG_INTERVAL) {
        refused = g_rl->refused;
        g_rl->refused = 0;
        g_rl->logged_at = now;
    }
    pc_segment_unlock();
    if (refused)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00116: the PingOne call budget (PingOneRateLimit "
                      "%d/s, burst %d) is spent: %" APR_UINT64_T_FMT " "
                      "lookup(s) went without a PingOne call (stale entry, "
                      "fail-open or 503) since the last report; logged at "
                      "most once a minute", g_rate, g_burst, refused);
}

/* The farm's bucket in Redis: 1 taken, 0 not (*wait set), -1 Redis failed
 * (logged at most once a minute): the caller uses this server's bucket,
 * so an outage of Redis never lifts the limit. */
static int farm_take(request_rec *r, apr_interval_time_t *wait)
{
    pc_ctx_t c = pc_ctx_of(r);
    apr_int64_t wait_ms = 0;
    apr_uint64_t n = 0;
    apr_time_t now;
    const char *why;
    int allowed = 0;

    if (pc_farm_redis_bucket(g_rate, g_burst, &allowed, &wait_ms, &c, &why) ==
        APR_SUCCESS) {
        *wait = apr_time_from_msec(wait_ms > 0 ? wait_ms : 1);
        return allowed;
    }
    now = apr_time_now();
    pc_segment_lock();
    g_rl->farm_failed++;
    if (now - g_rl->farm_logged_at >= RL_LOG_INTERVAL) {
        n = g_rl->farm_failed;
        g_rl->farm_failed = 0;
        g_rl->farm_logged_at = now;
    }
    pc_segment_unlock();
    if (n)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00034: the farm-wide PingOne call budget in Redis "
                      "cannot be reached (%s): %" APR_UINT64_T_FMT " call(s) "
                      "took this server's own budget instead (PingOneRateLimit "
                      "%d/s, burst %d) since the last report; logged at most "
                      "once a minute", pc_log_safe(r->pool, why, 300), n,
                      g_rate, g_burst);
    return -1;
}

/* One attempt: the farm's bucket with Redis, else this server's. */
static int try_take(request_rec *r, apr_interval_time_t *wait, int last)
{
    apr_time_t now = apr_time_now();
    int ok = pc_farm_redis_on() ? farm_take(r, wait) : -1;

    if (ok < 0) {
        pc_segment_lock();
        ok = pc_budget_take(&g_rl->bucket, g_rate, g_burst, now, wait);
        pc_segment_unlock();
    }
    if (!ok && last)
        note_refusal(r, now);
    return ok;
}

int pc_ratelimit_take(request_rec *r, int wait_ms, int *retry_after)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(wait_ms);
    apr_interval_time_t wait = 0;

    if (g_rl == NULL || g_rate <= 0)
        return 1;
    for (;;) {
        apr_time_t now = apr_time_now();
        int last = now + wait >= deadline;
        if (try_take(r, &wait, last))
            return 1;
        if (last) {
            *retry_after = (int)((wait + APR_USEC_PER_SEC - 1) /
                                 APR_USEC_PER_SEC);
            return 0;
        }
        apr_sleep(now + wait < deadline ? wait : deadline - now);
    }
}

void pc_ratelimit_state(int *rate, int *burst, double *available)
{
    pc_budget_t b;
    apr_interval_time_t wait;

    *rate = g_rate;
    *burst = g_burst;
    *available = 0;
    if (g_rl == NULL || g_rate <= 0)
        return;
    pc_segment_lock();
    b = g_rl->bucket;
    pc_segment_unlock();
    /* A copy brought up to now, without taking from the real one. */
    if (pc_budget_take(&b, g_rate, g_burst, apr_time_now(), &wait))
        b.level += 1000000;
    *available = (double)b.level / 1e6;
}

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
    pc_tally_t refused;            /* PC00116 */
    pc_tally_t farm_failed;        /* PC00034 */
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
    apr_uint64_t refused = pc_tally_add(&g_rl->refused, 1, now,
                                        RL_LOG_INTERVAL);

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
    apr_uint64_t n;
    const char *why;
    int allowed = 0;

    if (pc_farm_redis_bucket(g_rate, g_burst, &allowed, &wait_ms, &c, &why) ==
        APR_SUCCESS) {
        *wait = apr_time_from_msec(wait_ms > 0 ? wait_ms : 1);
        return allowed;
    }
    n = pc_tally_add(&g_rl->farm_failed, 1, apr_time_now(), RL_LOG_INTERVAL);
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

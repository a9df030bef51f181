/*
 * pc_ratelimit.c - the server's PingOne call budget (see pc_ratelimit.h).
 */
#include "pc_ratelimit.h"
#include "pc_budget.h"

#include "http_log.h"

APLOG_USE_MODULE(pingone_consent);

#define RL_LOG_INTERVAL apr_time_from_sec(60)

typedef struct rl_shared_t {
    pc_budget_t bucket;
    apr_time_t logged_at;          /* last PC00116 */
    apr_uint64_t refused;          /* since then */
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

/* One attempt under the lock; on refusal maybe log (once a minute). */
static int try_take(request_rec *r, apr_interval_time_t *wait, int last)
{
    apr_time_t now = apr_time_now();
    apr_uint64_t refused = 0;
    int ok;

    pc_segment_lock();
    ok = pc_budget_take(&g_rl->bucket, g_rate, g_burst, now, wait);
    if (!ok && last) {
        g_rl->refused++;
        if (now - g_rl->logged_at >= RL_LOG_INTERVAL) {
            refused = g_rl->refused;
            g_rl->refused = 0;
            g_rl->logged_at = now;
        }
    }
    pc_segment_unlock();
    if (refused)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00116: the PingOne call budget (PingOneRateLimit "
                      "%d/s, burst %d) is spent: %" APR_UINT64_T_FMT " "
                      "lookup(s) went without a PingOne call (stale entry, "
                      "fail-open or 503) since the last report; logged at "
                      "most once a minute", g_rate, g_burst, refused);
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

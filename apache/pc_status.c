/*
 * pc_status.c - the module's counters in mod_status (`server-status`, with
 * ExtendedStatus On; `?auto` gives `PingOneConsent<name>: N` lines).
 */
#include "pc_apache.h"
#include "pc_dcache.h"
#include "pc_poll.h"
#include "pc_segment.h"

#include "http_protocol.h"
#include "mod_status.h"

/* One line of the module's status: `PingOneConsent<name>: N` for ?auto,
 * a table row otherwise. */
static void line(request_rec *r, int flags, const char *name,
                 apr_uint64_t v)
{
    if (flags & AP_STATUS_SHORT)
        ap_rprintf(r, "PingOneConsent%s: %" APR_UINT64_T_FMT "\n", name, v);
    else
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   name, v);
}

/* The activity feed, all environments in one: healthy when every one is,
 * the oldest last poll, the largest lag, failures in a row. */
static void feed_lines(request_rec *r, int flags)
{
    apr_array_header_t *envs;
    apr_time_t now = apr_time_now(), last_poll = 0, lag = 0;
    int i, healthy = 1, errors = 0;

    if (pc_poll_status(&envs, r->pool) <= 0 || envs->nelts == 0)
        return;
    for (i = 0; i < envs->nelts; i++) {
        const pc_poll_status_t *st = &APR_ARRAY_IDX(envs, i, pc_poll_status_t);
        healthy = healthy && st->healthy;
        if (i == 0 || st->last_poll < last_poll)
            last_poll = st->last_poll;
        if (st->cursor && now - st->cursor > lag)
            lag = now - st->cursor;
        errors += st->errors;
    }
    line(r, flags, "feed_healthy", (apr_uint64_t)healthy);
    line(r, flags, "feed_last_poll", (apr_uint64_t)apr_time_sec(last_poll));
    line(r, flags, "feed_lag_seconds", (apr_uint64_t)apr_time_sec(lag));
    line(r, flags, "feed_errors_in_a_row", (apr_uint64_t)errors);
}

/* mod_status (ExtendedStatus On): the counters and the cache's fill. */
static int status_hook(request_rec *r, int flags)
{
    pc_counters_t c;
    pc_dcache_stats_t cs;
    int i;

    if (!pc_dcache_ready())
        return OK;
    pc_counters_read(&c);
    pc_dcache_stats(&cs);
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<hr>\n<h2>mod_pingone_consent</h2>\n<table>\n", r);
    for (i = 0; i < PC_CNT_MAX; i++)
        line(r, flags, pc_counter_names[i], c.v[i]);
    if (cs.capacity) {
        line(r, flags, "cache_capacity", cs.capacity);
        line(r, flags, "cache_entries", (apr_uint64_t)cs.entries);
        line(r, flags, "cache_evictions", cs.evictions);
        line(r, flags, "cache_evictions_fresh", cs.evictions_fresh);
    }
    feed_lines(r, flags);
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("</table>\n", r);
    return OK;
}

void pc_register_status_hook(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

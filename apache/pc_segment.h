/*
 * pc_segment.h - the server's shared-memory segment: one anonymous apr_shm
 * created by the parent, seen by every child, kept across graceful
 * restarts.  It holds the counters, the PingOne latency histogram and the
 * 429 back-off itself, and lends areas of fixed size to the other shared
 * concerns (single flight, the worker-token store, the decision cache's
 * generation and epoch), which lay out their own area.
 *
 * The global mutex (`Mutex pingone-consent`) lives here too: every writer
 * of shared state takes it, never across a network call.
 */
#ifndef PC_SEGMENT_H
#define PC_SEGMENT_H

#include "httpd.h"

#include "pc_stats.h"

#define PC_MUTEX_TYPE "pingone-consent"

/* An area another concern keeps in the segment: `attach` is called in the
 * parent after every (re)start with the area's memory; `fresh` is 1 when
 * the segment was just created (zero-filled), 0 when it survived a
 * graceful restart. */
typedef struct pc_seg_area_t {
    apr_size_t size;
    void (*attach)(void *mem, int fresh);
} pc_seg_area_t;

/* pre_config: register the mutex type. */
void pc_segment_pre_config(apr_pool_t *pconf);

/* post_config, in the parent: create (or find again) the segment with the
 * given areas, and create the global mutex.  NULL or an error message that
 * names the directive. */
const char *pc_segment_post_config(apr_pool_t *pconf, server_rec *s,
                                   const pc_seg_area_t *areas, int nareas);

/* child_init: attach the global mutex. */
void pc_segment_child_init(apr_pool_t *p, server_rec *s);

/* 1 once post_config created the segment. */
int pc_segment_ready(void);

void pc_segment_lock(void);
void pc_segment_unlock(void);

/* A count that a warning reports at most once per interval: kept in
 * shared memory (an area's), updated under the segment's mutex. */
typedef struct pc_tally_t {
    apr_uint64_t count;            /* since the last report */
    apr_time_t reported_at;
} pc_tally_t;

/* Adds n; returns what to report now (and starts counting again), or 0
 * while the last report is younger than `every`. */
apr_uint64_t pc_tally_add(pc_tally_t *t, apr_uint64_t n, apr_time_t now,
                          apr_interval_time_t every);

/* ---- counters (lock-free) ---------------------------------------------- */

typedef struct pc_counters_t {
    apr_uint64_t v[PC_CNT_MAX];
} pc_counters_t;

void pc_count(pc_counter_e which);
void pc_counters_read(pc_counters_t *out);

/* ---- PingOne call latency ------------------------------------------------ */

#define PC_LAT_BUCKETS 16

void pc_latency_record(apr_interval_time_t elapsed);
/* The histogram: counts[PC_LAT_BUCKETS] (calls per bucket, not
 * cumulative; the last bucket is above every bound), the upper bounds in
 * ms (PC_LAT_BUCKETS - 1 of them, the return value) and the sum of every
 * recorded call in microseconds.  Zeros without a segment. */
int pc_latency_read(apr_uint64_t *counts, const int **bounds_ms,
                    apr_uint64_t *sum_us);
/* Percentiles in ms (upper bound of the histogram bucket; -1 when there
 * were no calls) and the number of calls. */
void pc_latency_percentiles(int *p50, int *p90, int *p99, apr_uint64_t *n);

/* ---- PingOne's 429 back-off, for all processes --------------------------- */

/* Seconds left (0: none). */
int pc_backoff_left(apr_time_t now);
void pc_backoff_set(apr_time_t until);

#endif

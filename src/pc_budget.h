/*
 * pc_budget.h - the PingOne call budget: a token bucket (pure core).
 *
 * `PingOneRateLimit <calls-per-second> [burst]` allows, over any stretch of
 * time T, at most burst + rate * T calls.  The state is two numbers kept in
 * shared memory by the glue (under its lock) so that all processes of a
 * server share one budget; a farm shares one in Redis with the same
 * arithmetic (apache/pc_farm.c).
 */
#ifndef PC_BUDGET_H
#define PC_BUDGET_H

#include <apr.h>
#include <apr_time.h>

typedef struct pc_budget_t {
    apr_int64_t level;     /* calls available, in millionths of a call */
    apr_time_t at;         /* when level was last brought up to date */
} pc_budget_t;

/* Bring the bucket up to `now` and take one call: 1 when taken; 0 when
 * none is available, with *wait (may be NULL) the time until one will be.
 * A zeroed pc_budget_t starts full.  rate >= 1 calls per second, burst >= 1
 * calls. */
int pc_budget_take(pc_budget_t *b, int rate, int burst, apr_time_t now,
                   apr_interval_time_t *wait);

#endif

/*
 * pc_budget.c - the token bucket (see pc_budget.h).  Integer arithmetic in
 * millionths of a call: `rate` calls per second add exactly `rate`
 * millionths per microsecond.
 */
#include "pc_budget.h"

#define ONE_CALL ((apr_int64_t)1000000)

int pc_budget_take(pc_budget_t *b, int rate, int burst, apr_time_t now,
                   apr_interval_time_t *wait)
{
    apr_int64_t full = (apr_int64_t)burst * ONE_CALL;
    apr_int64_t elapsed = now - b->at;

    if (rate < 1)
        rate = 1;
    if (b->at == 0 || elapsed >= full / rate) {
        b->level = full;                 /* long idle (or first use): full */
    }
    else if (elapsed > 0) {
        b->level += elapsed * rate;
        if (b->level > full)
            b->level = full;
    }
    if (elapsed > 0 || b->at == 0)
        b->at = now;                     /* a clock going back adds nothing */
    if (b->level >= ONE_CALL) {
        b->level -= ONE_CALL;
        if (wait)
            *wait = 0;
        return 1;
    }
    if (wait)
        *wait = (ONE_CALL - b->level + rate - 1) / rate;
    return 0;
}

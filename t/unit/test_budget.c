/* Unit tests: the PingOne call budget (src/pc_budget.c). */
#include "pc_budget.h"
#include "tap.h"

#include <string.h>

#define T0 ((apr_time_t)1700000000 * APR_USEC_PER_SEC)
#define MS(n) ((apr_interval_time_t)(n) * 1000)

/* Calls taken at `per_second` attempts per second for `seconds`. */
static int taken_over(pc_budget_t *b, int rate, int burst, apr_time_t from,
                      int seconds, int per_second)
{
    int i, n = 0;
    for (i = 0; i < seconds * per_second; i++)
        n += pc_budget_take(b, rate, burst,
                            from + (apr_time_t)i * 1000000 / per_second, NULL);
    return n;
}

int main(void)
{
    pc_budget_t b;
    apr_interval_time_t wait = -1;
    int i, n;

    memset(&b, 0, sizeof(b));
    for (i = 0, n = 0; i < 30; i++)
        n += pc_budget_take(&b, 50, 20, T0, NULL);
    ok(n == 20, "a fresh budget holds the burst: 20 of 30 at once (%d)", n);
    n = pc_budget_take(&b, 50, 20, T0, &wait);
    ok(!n && wait == MS(20), "empty: the next call is 20 ms away at 50/s "
                             "(%ld us)", (long)wait);
    ok(pc_budget_take(&b, 50, 20, T0 + MS(20), &wait) && wait == 0,
       "20 ms later: one call");
    n = pc_budget_take(&b, 50, 20, T0 + MS(30), &wait);
    ok(!n && wait == MS(10), "10 ms later: not yet (%ld us to go)",
       (long)wait);

    memset(&b, 0, sizeof(b));
    n = taken_over(&b, 50, 50, T0, 10, 1000);
    ok(n <= 50 + 50 * 10 && n >= 50 * 10,
       "1000 attempts/s for 10 s at 50/s, burst 50: %d calls (<= 550)", n);

    memset(&b, 0, sizeof(b));
    n = taken_over(&b, 100, 1, T0, 5, 10000);
    ok(n <= 1 + 100 * 5 && n >= 100 * 5 - 1,
       "burst 1: a steady 100/s (%d in 5 s)", n);

    memset(&b, 0, sizeof(b));
    pc_budget_take(&b, 10, 5, T0, NULL);
    for (i = 0; i < 10; i++)
        pc_budget_take(&b, 10, 5, T0, NULL);
    ok(pc_budget_take(&b, 10, 5, T0 + apr_time_from_sec(3600), NULL) &&
       b.level == 4 * 1000000, "after an idle hour: full again, not more");
    ok(!pc_budget_take(&b, 10, 5, T0 - apr_time_from_sec(10), NULL) ||
       b.level < 4 * 1000000, "a clock going back adds no budget");

    memset(&b, 0, sizeof(b));
    n = 0;
    for (i = 0; i < 3; i++)
        n += pc_budget_take(&b, 1, 1, T0 + apr_time_from_sec(i) / 2, NULL);
    ok(n == 2, "1/s, burst 1: calls at 0, 0.5, 1.0 s -> 2 (%d)", n);
    return done_testing();
}

/*
 * pc_flight.h - single flight across processes and threads: of all the
 * requests that miss the same cache key at the same moment, one (the
 * leader) asks PingOne; the others wait for its answer, which it hands
 * over in shared memory (so this holds even when a remote cache is down).
 *
 * The table lives in an area of the shared segment (pc_segment.h).
 */
#ifndef PC_FLIGHT_H
#define PC_FLIGHT_H

#include "pc_cache.h"
#include "pc_lookup.h"
#include "pc_segment.h"

/* The largest encoded cache value a leader can hand over. */
#define PC_FLIGHT_VALUE 512

/* How a flight ended, as a follower sees it. */
typedef struct pc_flight_result_t {
    int ok;                              /* the leader got an answer */
    const char *err_tag;                 /* !ok: its error tag */
    const char *retry_after;             /* !ok: its Retry-After or NULL */
    unsigned char value[PC_FLIGHT_VALUE];/* ok: the encoded answer */
    unsigned int value_len;              /* 0: none handed over */
} pc_flight_result_t;

/* The segment area of the table. */
pc_seg_area_t pc_flight_area(void);

/* PC_FLIGHT_LEAD: the caller asks PingOne and must call pc_flight_end.
 * PC_FLIGHT_FOLLOWED: another caller asked and finished within wait_ms;
 * *res says how.  PC_FLIGHT_ALONE: no free slot, or the wait ran out: the
 * caller asks PingOne itself and does not end the flight. */
pc_flight_e pc_flight_begin(const unsigned char key[PC_CACHE_KEY_LEN],
                            int wait_ms, pc_flight_result_t *res,
                            apr_pool_t *p);

/* The leader's end: ok with the encoded answer (value_len 0: none to hand
 * over), or its error. */
void pc_flight_end(const unsigned char key[PC_CACHE_KEY_LEN], int ok,
                   const char *err_tag, const char *retry_after,
                   const unsigned char *value, unsigned int value_len);

#endif

/*
 * pc_ratelimit.h - the PingOne call budget (`PingOneRateLimit`): one token
 * bucket (src/pc_budget.h) in an area of the shared segment, so all
 * processes share it.  With PingOneConsentCache redis://... the bucket is
 * the farm's, in Redis, shared by every server (the same rate and burst
 * should be configured on each); while Redis cannot be reached, this
 * server's own bucket limits it (PC00034), never nothing.  Refusals are
 * counted and logged at most once a minute.
 */
#ifndef PC_RATELIMIT_H
#define PC_RATELIMIT_H

#include "httpd.h"

#include "pc_segment.h"

pc_seg_area_t pc_ratelimit_area(void);

/* post_config: calls per second (0: no budget) and burst. */
void pc_ratelimit_configure(int rate, int burst);

/* Take one call, waiting at most wait_ms for one: 1 taken; 0 not, with
 * *retry_after the seconds until one is available. */
int pc_ratelimit_take(request_rec *r, int wait_ms, int *retry_after);

/* For status: the configured rate and burst (0: Off), and the calls
 * available now. */
void pc_ratelimit_state(int *rate, int *burst, double *available);

#endif

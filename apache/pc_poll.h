/*
 * pc_poll.h - the activity feed (PingOneActivityPoll): revocations without
 * an inbound webhook.  A singleton httpd watchdog (one thread in one child
 * process of the server at a time, mod_watchdog) reads PingOne's audit
 * activities of each configured environment every N seconds and hands the
 * relevant events to pc_revoke_apply, the same code path as a webhook.
 *
 * State, per environment:
 *   server  an area of the shared segment: the cursor, the IDs seen, the
 *           open window, health (read by every process: the lookup policy
 *           asks pc_poll_feed_since), back-off, the last error
 *   farm    the cursor and the last good poll (pc_dcache_kv_*), so a
 *           restart or another server continues where the last poll
 *           ended, and a lease (pc_dcache_lease): on a farm cache one
 *           server polls and the others follow its record; with the local
 *           cache every server holds its own lease and polls for itself.
 * The arithmetic (windows, cursor, de-duplication, health, back-off) is
 * in src/pc_activity.c.
 */
#ifndef PC_POLL_H
#define PC_POLL_H

#include "httpd.h"

#include "pc_segment.h"

/* Environments one server can follow. */
#define PC_POLL_MAX_ENVS 4

pc_seg_area_t pc_poll_area(void);

/* post_config, in the parent (after the segment is attached): when
 * PingOneActivityPoll is on, the environments to follow and the watchdog
 * callback.  NULL or an error naming the directive. */
const char *pc_poll_post_config(apr_pool_t *pconf, server_rec *s);

/* child_init, once this child's PingOne clients exist: the watchdog may
 * poll from this process now. */
void pc_poll_child_init(apr_pool_t *p, server_rec *s);

/* For the lookup policy (pc_lookup_ops_t.feed_since): while the feed of
 * env_id is healthy at `now` (a complete poll within two intervals; a
 * server following another's lease: within three, as its view of the
 * record may be one interval old), the time from which it has seen every
 * event; else 0. */
apr_time_t pc_poll_feed_since(const char *env_id, apr_time_t now);

/* One environment's feed, for status output. */
typedef struct pc_poll_status_t {
    const char *env_id;
    const char *role;          /* "starting", "polling", "following",
                                  "cache-failed" */
    int healthy;
    apr_time_t last_poll;      /* last attempt, 0: none */
    apr_time_t last_ok;        /* last complete poll (the lease holder's) */
    apr_time_t cursor;         /* events before cursor - margin all seen */
    apr_time_t since;          /* seen every event since */
    int backoff;               /* seconds until the next attempt */
    int errors;                /* failed polls in a row */
    const char *last_error;    /* NULL: none yet */
} pc_poll_status_t;

/* The poll interval in seconds (0: PingOneActivityPoll Off) and each
 * environment's state (pc_poll_status_t, allocated in p). */
int pc_poll_status(apr_array_header_t **envs, apr_pool_t *p);

#endif

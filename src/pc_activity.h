/*
 * pc_activity.h - following PingOne's audit activities (pure core): the
 * filter and the call of a poll, the reader of an activities page, and the
 * arithmetic of the feed - overlapping windows, the cursor, de-duplication
 * by event ID, health and back-off.
 *
 * The feed reads windows of recordedAt:
 *
 *     [cursor - margin, now]      (the first one: [now - margin, now])
 *
 * Events become visible some seconds after they are recorded (PingOne does
 * not say how long), so each window reaches back `margin` before where the
 * last one ended: an event visible less than `margin` after it happened is
 * seen by one window or the next.  Events seen twice are recognised by
 * their ID (remembered while they can still fall in a window) and applied
 * once.  A window that needs more pages than a poll may read stays open
 * and is read on at the next poll; the cursor moves to its end only once
 * every page was read and applied.
 *
 * `since` says from when the feed has seen every event without a gap: a
 * cached decision fetched after it may live the feed TTL (pc_lookup.h);
 * one fetched before it (before the feed started, or before a gap: a
 * cursor older than the 14 days PingOne keeps) may not.
 */
#ifndef PC_ACTIVITY_H
#define PC_ACTIVITY_H

#include "pc_client.h"
#include "pc_webhook.h"

#include <apr_time.h>

/* How far each window reaches back before the last one's end. */
#define PC_FEED_MARGIN apr_time_from_sec(30)
/* PingOne keeps 14 days of activities; a window never reaches further
 * back than this (an hour less, for clocks). */
#define PC_FEED_RETENTION apr_time_from_sec(14 * 86400 - 3600)
/* Events remembered for de-duplication, per environment. */
#define PC_FEED_SEEN 2048
/* Events asked per page (PingOne: 1..1000). */
#define PC_FEED_PAGE_LIMIT 1000

/* ---- a poll's call ------------------------------------------------------- */

/* {api_base}/environments/{env}/activities */
const char *pc_activity_url(apr_pool_t *p, const char *api_base,
                            const char *env_id);

/* t as PingOne writes times: "2026-11-22T10:00:00.123Z" (UTC, ms;
 * rounded down). */
const char *pc_activity_time(apr_pool_t *p, apr_time_t t);

/* The filter of a window: recordedat ge "<from>" and recordedat le
 * "<until>" and (action.type eq "<t1>" or ...).  types: const char *,
 * checked by pc_event_type_check (quotes and backslashes are escaped
 * anyway). */
const char *pc_activity_filter(apr_pool_t *p, apr_time_t from,
                               apr_time_t until,
                               const apr_array_header_t *types);

/* The form body of a window's first page: filter=...&limit=N (POST keeps
 * identifiers out of URLs and logs). */
const char *pc_activity_form(apr_pool_t *p, const char *filter, int limit);

/* ---- a page -------------------------------------------------------------- */

typedef struct pc_activity_page_t {
    /* pc_event_t *, in page order; an item that is not a JSON object is an
     * event with every field absent (malformed) */
    apr_array_header_t *events;
    const char *next;          /* _links.next.href, NULL on the last page */
} pc_activity_page_t;

/* Read an activities page: strict JSON, an object whose _embedded holds
 * one array (PingOne: "activities") of at most 1000 items.  Items are read
 * tolerantly (pc_event_read); a page that is not such an object is
 * APR_EGENERAL with the reason in *why (static text, safe to log). */
apr_status_t pc_activity_page_parse(pc_activity_page_t **page,
                                    const char *body, apr_size_t len,
                                    apr_pool_t *p, const char **why);

/* Why an event cannot be applied (static text), or NULL: no id (or one
 * over 128 bytes), no valid recordedAt, no action.type. */
const char *pc_activity_malformed(const pc_event_t *ev);

/* 1 when the event says it belongs to another environment than env_id
 * (environment.id present and different); an event that names none is
 * taken as the polled environment's. */
int pc_activity_foreign(const pc_event_t *ev, const char *env_id);

/* One page: the first of a window (next_url NULL: POST the form to url)
 * or the one next_url names (GET; it must be a page of url's collection,
 * else PC_E_PARSE).  APR_SUCCESS with *page, or APR_EGENERAL with *err
 * (429: PC_E_RATE_LIMITED with Retry-After). */
apr_status_t pc_activity_fetch(pc_activity_page_t **page, pc_client_t *c,
                               const char *url, const char *form,
                               const char *next_url, pc_error_t *err,
                               apr_pool_t *p);

/* ---- the feed's state ---------------------------------------------------- */

typedef struct pc_feed_seen_t {
    unsigned char key[16];     /* the first bytes of the ID's SHA-1 */
    apr_time_t at;             /* its recordedAt; 0: an empty place */
} pc_feed_seen_t;

/* Fixed size and without pointers: it lives in shared memory. */
typedef struct pc_feed_t {
    apr_time_t cursor;         /* where the last complete window ended */
    apr_time_t since;          /* every event since then seen, no gap */
    apr_time_t win_from;       /* the window being read (0: none open) */
    apr_time_t win_until;
    apr_uint32_t next;         /* where the next ID is remembered */
    pc_feed_seen_t seen[PC_FEED_SEEN];
} pc_feed_t;

/* The window to read: the open one, else a new one [cursor - margin, now]
 * ([now - margin, now] the first time).  A lower bound older than
 * now - retention is raised to it: *gap is 1, events in between are lost
 * to the feed and `since` starts again. */
void pc_feed_window(pc_feed_t *f, apr_time_t now, apr_interval_time_t margin,
                    apr_interval_time_t retention, int *gap);

/* The open window was read and applied to its end: the cursor moves
 * there, and IDs that no later window can bring back are forgotten. */
void pc_feed_complete(pc_feed_t *f, apr_interval_time_t margin);

/* The open window failed: the next poll reads it again from its start. */
void pc_feed_abandon(pc_feed_t *f);

/* Another server's cursor (from the farm): taken, with its `since`, when
 * it is ahead of ours (the open window is dropped).  1 when taken. */
int pc_feed_adopt(pc_feed_t *f, apr_time_t cursor, apr_time_t since);

/* 1 when an event with this ID was remembered. */
int pc_feed_seen(const pc_feed_t *f, const char *id);
/* Remember an event (recorded_at > 0).  Returns 1 when a remembered ID
 * had to be forgotten for room (it could then be applied twice). */
int pc_feed_remember(pc_feed_t *f, const char *id, apr_time_t recorded_at);

/* 1 when the last complete poll (last_ok) is at most `within` ago. */
int pc_feed_healthy(apr_time_t last_ok, apr_time_t now,
                    apr_interval_time_t within);

/* When to poll again after `errors` (1..) failures in a row: PingOne's
 * Retry-After when it sent one (1..3600 s), else the interval doubled
 * per failure after the first, at most 60 s (never less than the
 * interval). */
apr_time_t pc_feed_retry_at(apr_time_t now, int errors,
                            apr_interval_time_t interval,
                            const char *retry_after);

/* The record other servers read from the farm: "PCF1 <cursor> <since>
 * <last_ok>" (microseconds since the epoch, decimal, no leading zeros).
 * encode returns the length; decode refuses anything else. */
#define PC_FEED_RECORD_MAX 80
apr_size_t pc_feed_record_encode(char buf[PC_FEED_RECORD_MAX],
                                 apr_time_t cursor, apr_time_t since,
                                 apr_time_t last_ok);
apr_status_t pc_feed_record_decode(apr_time_t *cursor, apr_time_t *since,
                                   apr_time_t *last_ok, const char *buf,
                                   apr_size_t len);

#endif

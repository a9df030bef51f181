/*
 * pc_metrics.h - Prometheus metrics (`SetHandler pingone-consent-metrics`)
 * and the counts only metrics need: decisions per virtual host (outcome and
 * source) and PingOne HTTP requests (endpoint and status class), kept in an
 * area of the shared segment and counted without a lock.
 *
 * Decisions are counted per virtual host because they are made there (each
 * host has its own locations, and may have its own PingOne settings); the
 * cache, the call budget, the back-off, the token store and the latency are
 * the server's, shared by every host, and carry no server label.
 */
#ifndef PC_METRICS_H
#define PC_METRICS_H

#include "httpd.h"

#include "pc_segment.h"
#include "pc_stats.h"

/* Hosts with a slot of their own; the decisions of any further host are
 * counted under server="(other)" (logged at start-up, PC00230). */
#define PC_METRICS_SERVERS 255

/* pre_config: forget the previous generation's area and slots (the
 * segment may not be made again when the module is no longer used). */
void pc_metrics_reset(void);

/* The segment area (PingOne requests, decision slots). */
pc_seg_area_t pc_metrics_area(void);

/* post_config, in the parent, after the segment: a decision slot for each
 * server, found again by its label (ServerName:port) across restarts. */
void pc_metrics_post_config(apr_pool_t *pconf, server_rec *s);

/* The decision on r: `reason` in the request note's vocabulary, `source`
 * as PINGONE_CONSENT_SOURCE (NULL: none).  Called wherever a decision is
 * made; the last one given is counted once, when the request ends.  Main
 * requests only (a subrequest's check, e.g. a DirectoryIndex lookup, is
 * part of its main request). */
void pc_metrics_decision(request_rec *r, const char *reason,
                         const char *source);

/* The PingOne client's stats hook (pc_call_stats_fn; baton unused). */
void pc_metrics_call(void *baton, pc_endpoint_e endpoint,
                     pc_call_class_e cls);

/* `SetHandler pingone-consent-metrics`: GET (and HEAD) only. */
int pc_metrics_handler(request_rec *r);

#endif

/*
 * pc_lookup_glue.h - runs the core's lookup policy (src/pc_lookup.h) for a
 * request, over this server's shared state: the decision cache
 * (pc_dcache.h), single flight (pc_flight.h), the back-off, counters and
 * latency (pc_segment.h), the child's PingOne client and the error log.
 */
#ifndef PC_LOOKUP_GLUE_H
#define PC_LOOKUP_GLUE_H

#include "httpd.h"

#include "pc_apache.h"

/* The consent that counts for key (see pc_lookup_consent). */
void pc_glue_lookup_consent(pc_outcome_t *out, request_rec *r,
                            const pc_client_t *client, const pc_srv_conf *sc,
                            const pc_lookup_key_t *key);

/* A username's PingOne user ID (see pc_lookup_user). */
void pc_glue_lookup_user(pc_outcome_t *out, request_rec *r,
                         const pc_client_t *client, const pc_srv_conf *sc,
                         const char *username);

#endif

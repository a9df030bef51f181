/*
 * pc_tokens.h - the worker access tokens, shared by all processes: one
 * process fetches a token from PingOne, every process uses it, and one of
 * them refreshes it before it expires.  Eight slots in an area of the
 * shared segment, one per worker application (identified by a SHA-1 of
 * its auth base, environment, client ID, secret and auth method).
 */
#ifndef PC_TOKENS_H
#define PC_TOKENS_H

#include "pc_client.h"
#include "pc_segment.h"

pc_seg_area_t pc_tokens_area(void);

/* The store for one worker application (identity as above), for the
 * PingOne client (pc_client.h).  Without a segment: a per-process one. */
pc_token_store_t *pc_tokens_store(apr_pool_t *p, const char *identity);

/* Seconds until the longest-lived stored token expires (-1: none). */
int pc_tokens_seconds_left(void);

#endif

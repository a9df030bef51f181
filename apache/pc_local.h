/*
 * pc_local.h - this server's own decision cache: the lock-free table of
 * src/pc_table.h in a shared-memory segment of its own, created by the
 * parent, seen by every child, kept across graceful restarts while its
 * size is unchanged (PingOneConsentCacheSize).
 *
 * It is the default cache, and the local tier in front of a farm cache
 * that can keep it coherent.  Evictions of entries that were still fresh
 * (the cache is too small for the active users) are counted and logged at
 * most once a minute, naming the directive to raise.
 */
#ifndef PC_LOCAL_H
#define PC_LOCAL_H

#include "httpd.h"

#include "pc_log.h"
#include "pc_segment.h"
#include "pc_table.h"

#define PC_DEFAULT_CACHE_SIZE 262144

/* The segment area for the eviction-warning throttle. */
pc_seg_area_t pc_local_area(void);

/* post_config: create (or find again) a table of at least `entries`
 * decisions and log its capacity.  NULL or an error message. */
const char *pc_local_post_config(server_rec *s, apr_uint64_t entries);

int pc_local_ready(void);

/* The value stored for key and not expired: APR_SUCCESS, APR_NOTFOUND
 * (also when readers could not get a stable view: a miss). */
apr_status_t pc_local_get(const unsigned char *key, unsigned char *val,
                          unsigned int *len);

/* Store; counts and (throttled) logs evictions of fresh entries. */
void pc_local_put(const unsigned char *key, const unsigned char *val,
                  unsigned int len, apr_time_t fresh_until,
                  apr_time_t expires, const pc_ctx_t *c);

/* APR_SUCCESS removed (or absent), APR_EAGAIN when it could not be. */
apr_status_t pc_local_remove(const unsigned char *key, int *removed);

void pc_local_clear(void);

void pc_local_stats(pc_table_stats_t *out);

#endif

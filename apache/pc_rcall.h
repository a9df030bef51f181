/*
 * pc_rcall.h - calls into a remote socache provider (redis, memcache) with
 * a deadline.
 *
 * mod_socache_redis and mod_socache_memcache wait on a cache server that
 * stops answering without a usable timeout: apr_memcache reads with no
 * timeout once connected, and RedisTimeout reaches apr_redis in the wrong
 * unit (5 s becomes about two months).  A hung - not dead - cache server
 * would then hold every request that touches the cache.  So each child
 * hands remote calls to threads of its own and waits for the answer
 * at most a deadline; after that the request goes on as if the cache had
 * failed, and the thread finishes (or stays stuck) on its own.  While two
 * calls are stuck past their deadline, further calls fail at once.
 */
#ifndef PC_RCALL_H
#define PC_RCALL_H

#include "httpd.h"
#include "ap_socache.h"

typedef enum { PC_RC_STORE, PC_RC_RETRIEVE, PC_RC_REMOVE } pc_rcall_kind_e;

/* In a child: start `threads` caller threads, to grow up to `max` with
 * the demand (their memory comes from a pool of their own, never
 * destroyed under them).  Without it, pc_rcall calls the provider
 * directly. */
apr_status_t pc_rcall_start(int threads, int max);

/* One provider call.  store: val/len are the value; retrieve: val is a
 * buffer of *len bytes, *len becomes the value's length; remove: val and
 * len unused.  Returns the provider's status, APR_TIMEUP when it did not
 * answer within `wait`, or APR_EAGAIN when every caller thread is stuck
 * or the queue is full. */
apr_status_t pc_rcall(const ap_socache_provider_t *prov,
                      ap_socache_instance_t *inst, server_rec *s,
                      pc_rcall_kind_e kind, const unsigned char *key,
                      unsigned int keylen, apr_time_t expiry,
                      unsigned char *val, unsigned int *len,
                      apr_interval_time_t wait, apr_pool_t *p);

/* The same call, made now in this thread (for providers that need no
 * deadline, under the caller's own locking). */
apr_status_t pc_rcall_direct(const ap_socache_provider_t *prov,
                             ap_socache_instance_t *inst, server_rec *s,
                             pc_rcall_kind_e kind, const unsigned char *key,
                             unsigned int keylen, apr_time_t expiry,
                             unsigned char *val, unsigned int *len,
                             apr_pool_t *p);

#endif

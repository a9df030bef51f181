/*
 * pc_rcall.c - remote socache calls with a deadline (see pc_rcall.h).
 *
 * One queue per child, guarded by one mutex; caller threads take calls off
 * it and run them with a pool of their own.  A call lives in malloc'ed
 * memory owned by whoever finishes with it last: the requester when the
 * answer came in time, the caller thread when the requester gave up
 * (`abandoned`).  Nothing here is ever freed under a running thread: the
 * mutex, the conditions and the thread pools live in an unmanaged pool
 * that outlives the child's pools, and the threads end with the process.
 */
#include "pc_rcall.h"

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RC_QUEUE 256
#define RC_MAX_THREADS 64
#define RC_KEY_MAX 256
#define RC_STACK (512 * 1024)
#define RC_STUCK 2           /* calls past their deadline: server hangs */

typedef struct rcall_t {
    const ap_socache_provider_t *prov;
    ap_socache_instance_t *inst;
    server_rec *s;
    pc_rcall_kind_e kind;
    unsigned int keylen, len;
    apr_time_t expiry, queued_at;
    apr_status_t rv;
    int done, abandoned;
    unsigned char key[RC_KEY_MAX];
    unsigned char val[]; /* store: the value; retrieve: the answer */
} rcall_t;

static apr_thread_mutex_t *mu;
static apr_thread_cond_t *work_cv, *done_cv;
static rcall_t *queue[RC_QUEUE];
static unsigned int q_head, q_len;
static int nthreads, max_threads, idle;
/* queued_at of the call each thread is in (0: none): the call is stuck
 * once its requester's deadline, counted from there, has passed. */
static apr_time_t running_since[RC_MAX_THREADS];
static apr_pool_t *thread_pool[RC_MAX_THREADS];  /* each caller's own */
static apr_pool_t *rc_pool;      /* unmanaged: threads, mutex, conditions */
static apr_threadattr_t *rc_attr;

apr_status_t pc_rcall_direct(const ap_socache_provider_t *prov,
                             ap_socache_instance_t *inst, server_rec *s,
                             pc_rcall_kind_e kind, const unsigned char *key,
                             unsigned int keylen, apr_time_t expiry,
                             unsigned char *val, unsigned int *len,
                             apr_pool_t *p)
{
    switch (kind) {
    case PC_RC_STORE:
        return prov->store(inst, s, key, keylen, expiry, val, *len, p);
    case PC_RC_RETRIEVE:
        return prov->retrieve(inst, s, key, keylen, val, len, p);
    default:
        return prov->remove(inst, s, key, keylen, p);
    }
}

static void *APR_THREAD_FUNC caller(apr_thread_t *t, void *data)
{
    int slot = (int)(intptr_t)data;
    apr_pool_t *p = thread_pool[slot];

    (void)t;
    for (;;) {
        rcall_t *c;
        int drop;

        apr_thread_mutex_lock(mu);
        idle++;
        while (q_len == 0)
            apr_thread_cond_wait(work_cv, mu);
        idle--;
        c = queue[q_head];
        q_head = (q_head + 1) % RC_QUEUE;
        q_len--;
        if (c->abandoned) {          /* its requester gave up already */
            apr_thread_mutex_unlock(mu);
            free(c);
            continue;
        }
        running_since[slot] = c->queued_at;
        apr_thread_mutex_unlock(mu);

        c->rv = pc_rcall_direct(c->prov, c->inst, c->s, c->kind, c->key,
                                c->keylen, c->expiry, c->val, &c->len, p);
        apr_pool_clear(p);

        apr_thread_mutex_lock(mu);
        running_since[slot] = 0;
        c->done = 1;
        drop = c->abandoned;
        apr_thread_cond_broadcast(done_cv);
        apr_thread_mutex_unlock(mu);
        if (drop)
            free(c);
    }
    return NULL;
}

/* One more caller thread; under mu (or before any request). */
static apr_status_t spawn(void)
{
    apr_thread_t *t;
    apr_status_t rv;

    if (thread_pool[nthreads] == NULL &&
        (rv = apr_pool_create_unmanaged_ex(&thread_pool[nthreads], NULL,
                                           NULL)) != APR_SUCCESS)
        return rv;
    rv = apr_thread_create(&t, rc_attr, caller, (void *)(intptr_t)nthreads,
                           rc_pool);
    if (rv == APR_SUCCESS)
        nthreads++;
    return rv;
}

apr_status_t pc_rcall_start(int threads, int max)
{
    apr_status_t rv = APR_SUCCESS;

    if (nthreads > 0 || threads <= 0)
        return APR_SUCCESS;
    max_threads = max < threads ? threads : max;
    if (max_threads > RC_MAX_THREADS)
        max_threads = RC_MAX_THREADS;
    if ((rv = apr_pool_create_unmanaged_ex(&rc_pool, NULL, NULL)) !=
            APR_SUCCESS ||
        (rv = apr_thread_mutex_create(&mu, APR_THREAD_MUTEX_DEFAULT,
                                      rc_pool)) != APR_SUCCESS ||
        (rv = apr_thread_cond_create(&work_cv, rc_pool)) != APR_SUCCESS ||
        (rv = apr_thread_cond_create(&done_cv, rc_pool)) != APR_SUCCESS ||
        (rv = apr_threadattr_create(&rc_attr, rc_pool)) != APR_SUCCESS)
        return rv;
    apr_threadattr_detach_set(rc_attr, 1);
    apr_threadattr_stacksize_set(rc_attr, RC_STACK);
    while (nthreads < threads && nthreads < max_threads &&
           (rv = spawn()) == APR_SUCCESS)
        ;
    return nthreads > 0 ? APR_SUCCESS : rv;
}

apr_status_t pc_rcall(const ap_socache_provider_t *prov,
                      ap_socache_instance_t *inst, server_rec *s,
                      pc_rcall_kind_e kind, const unsigned char *key,
                      unsigned int keylen, apr_time_t expiry,
                      unsigned char *val, unsigned int *len,
                      apr_interval_time_t wait, apr_pool_t *p)
{
    unsigned int vlen = kind == PC_RC_REMOVE ? 0 : *len;
    apr_time_t now, deadline;
    apr_status_t rv;
    rcall_t *c;
    int i, stuck = 0;

    if (nthreads == 0 || keylen > RC_KEY_MAX)
        return pc_rcall_direct(prov, inst, s, kind, key, keylen, expiry, val,
                               len, p);
    if ((c = malloc(sizeof(*c) + vlen)) == NULL)
        return APR_ENOMEM;
    memset(c, 0, sizeof(*c));
    c->prov = prov;
    c->inst = inst;
    c->s = s;
    c->kind = kind;
    c->keylen = keylen;
    memcpy(c->key, key, keylen);
    c->expiry = expiry;
    c->len = vlen;
    if (kind == PC_RC_STORE)
        memcpy(c->val, val, vlen);

    apr_thread_mutex_lock(mu);
    c->queued_at = now = apr_time_now();
    deadline = now + wait;
    for (i = 0; i < nthreads; i++)
        if (running_since[i] && now - running_since[i] >= wait)
            stuck++;
    /* Calls stuck on the server: it hangs, fail now rather than add
     * threads that would wait on it too (one stuck call may be a single
     * bad connection, so it takes two, or all the child may have). */
    if (stuck >= RC_STUCK || (stuck == nthreads && nthreads == max_threads) ||
        q_len == RC_QUEUE) {
        apr_thread_mutex_unlock(mu);
        free(c);
        return APR_EAGAIN;
    }
    queue[(q_head + q_len) % RC_QUEUE] = c;
    q_len++;
    /* Grow with the demand (up to one thread per request thread), so calls
     * wait on the cache server, not on each other. */
    if (q_len > (unsigned int)idle && nthreads < max_threads)
        spawn();
    apr_thread_cond_signal(work_cv);
    while (!c->done && (now = apr_time_now()) < deadline)
        apr_thread_cond_timedwait(done_cv, mu, deadline - now);
    if (!c->done) {
        c->abandoned = 1;    /* the caller thread frees it */
        apr_thread_mutex_unlock(mu);
        return APR_TIMEUP;
    }
    apr_thread_mutex_unlock(mu);
    rv = c->rv;
    if (kind == PC_RC_RETRIEVE && rv == APR_SUCCESS) {
        if (c->len > vlen)
            rv = APR_ENOMEM;
        else {
            memcpy(val, c->val, c->len);
            *len = c->len;
        }
    }
    free(c);
    return rv;
}

/*
 * test_rcall.c - remote socache calls with a deadline (apache/pc_rcall.c),
 * against a fake provider whose calls can be held, as a hung redis or
 * memcached server would hold them.  Built with ASan: a call abandoned at
 * its deadline must still be freed (by the thread that finishes it).
 */
#include "pc_rcall.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

static apr_thread_mutex_t *fm;
static apr_thread_cond_t *fcv;
static int hold, calls, finished;
static unsigned char stored[64];
static unsigned int stored_len;

/* Every fake call: counted, then blocked while `hold` is set. */
static void enter(void)
{
    apr_thread_mutex_lock(fm);
    calls++;
    while (hold)
        apr_thread_cond_wait(fcv, fm);
}

static void leave(void)
{
    finished++;
    apr_thread_mutex_unlock(fm);
}

static apr_status_t f_store(ap_socache_instance_t *i, server_rec *s,
                            const unsigned char *id, unsigned int idlen,
                            apr_time_t expiry, unsigned char *data,
                            unsigned int n, apr_pool_t *p)
{
    (void)i; (void)s; (void)id; (void)idlen; (void)expiry; (void)p;
    enter();
    memcpy(stored, data, n);
    stored_len = n;
    leave();
    return APR_SUCCESS;
}

static apr_status_t f_retrieve(ap_socache_instance_t *i, server_rec *s,
                               const unsigned char *id, unsigned int idlen,
                               unsigned char *dest, unsigned int *destlen,
                               apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    (void)i; (void)s; (void)id; (void)idlen; (void)p;
    enter();
    if (stored_len == 0)
        rv = APR_NOTFOUND;
    else if (*destlen < stored_len)
        rv = APR_ENOMEM;
    else {
        memcpy(dest, stored, stored_len);
        *destlen = stored_len;
    }
    leave();
    return rv;
}

static apr_status_t f_remove(ap_socache_instance_t *i, server_rec *s,
                             const unsigned char *id, unsigned int idlen,
                             apr_pool_t *p)
{
    (void)i; (void)s; (void)id; (void)idlen; (void)p;
    enter();
    stored_len = 0;
    leave();
    return APR_SUCCESS;
}

static const ap_socache_provider_t fake = {
    "fake", 0, NULL, NULL, NULL, f_store, f_retrieve, f_remove, NULL, NULL};

/* LeakSanitizer checks that abandoned calls are freed; the caller
 * threads' own pools live as long as the process, by design. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:apr_pool_create_unmanaged_ex\n";
}

/* Generous, so that a busy machine still starts a held call (in a caller
 * thread) well before its requester gives up on it. */
#define WAIT apr_time_from_msec(400)
static const unsigned char key[] = "0123456789abcdefghij";

static apr_status_t store(const char *v, apr_pool_t *p)
{
    unsigned int n = (unsigned int)strlen(v);
    return pc_rcall(&fake, NULL, NULL, PC_RC_STORE, key, 20, 0,
                    (unsigned char *)v, &n, WAIT, p);
}

static apr_status_t get(char *out, unsigned int cap, apr_pool_t *p)
{
    unsigned int n = cap - 1;
    apr_status_t rv = pc_rcall(&fake, NULL, NULL, PC_RC_RETRIEVE, key, 20, 0,
                               (unsigned char *)out, &n, WAIT, p);
    out[rv == APR_SUCCESS ? n : 0] = '\0';
    return rv;
}

static void set_hold(int h)
{
    apr_thread_mutex_lock(fm);
    hold = h;
    apr_thread_cond_broadcast(fcv);
    apr_thread_mutex_unlock(fm);
}

static int count(int *which)
{
    int n;
    apr_thread_mutex_lock(fm);
    n = *which;
    apr_thread_mutex_unlock(fm);
    return n;
}

int main(void)
{
    apr_pool_t *p;
    char buf[64], small[4];
    apr_status_t rv;
    int i, before;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* TAP lines survive a sanitizer exit */
    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_thread_mutex_create(&fm, APR_THREAD_MUTEX_DEFAULT, p);
    apr_thread_cond_create(&fcv, p);

    /* Before the threads start, calls are made in the caller's thread. */
    is_int(store("direct", p), APR_SUCCESS, "store before start: direct");
    is_int(get(buf, sizeof(buf), p), APR_SUCCESS, "retrieve before start");
    is_str(buf, "direct", "the stored value");

    is_int(pc_rcall_start(2, 4), APR_SUCCESS, "caller threads start");
    is_int(store("through a thread", p), APR_SUCCESS, "store through a caller thread");
    is_int(get(buf, sizeof(buf), p), APR_SUCCESS, "retrieve through a caller thread");
    is_str(buf, "through a thread", "the value comes back");
    is_int(get(small, sizeof(small), p), APR_ENOMEM, "a value larger than the buffer: APR_ENOMEM");
    is_int(pc_rcall(&fake, NULL, NULL, PC_RC_REMOVE, key, 20, 0, NULL, NULL, WAIT, p),
           APR_SUCCESS, "remove");
    is_int(get(buf, sizeof(buf), p), APR_NOTFOUND, "removed: APR_NOTFOUND");

    /* The server hangs. */
    store("kept", p);
    set_hold(1);
    before = count(&calls);
    is_int(get(buf, sizeof(buf), p), APR_TIMEUP, "hung server: the call gives up at its deadline");
    is_int(store("lost", p), APR_TIMEUP, "a second call too");
    ok(count(&calls) - before == 2, "both reached the server (they are stuck there)");
    before = count(&calls);
    rv = get(buf, sizeof(buf), p);
    is_int(rv, APR_EAGAIN, "two calls stuck past their deadline: the next fails at once");
    is_int(count(&calls) - before, 0, "without reaching the server");
    for (i = 0; i < 5; i++)
        if (get(buf, sizeof(buf), p) != APR_EAGAIN)
            break;
    is_int(i, 5, "and so do the following ones");

    /* The server answers again: the stuck calls finish (the abandoned
     * ones are freed by their threads), and calls work again. */
    set_hold(0);
    for (i = 0; i < 200; i++) {
        if (count(&finished) == count(&calls))
            break;
        apr_sleep(apr_time_from_msec(10));
    }
    is_int(count(&finished), count(&calls), "every stuck call finished");
    rv = get(buf, sizeof(buf), p);
    is_int(rv, APR_SUCCESS, "the server answers again: calls work again");
    is_str(buf, "lost", "the abandoned store still ran once the server resumed");

    /* Many concurrent-looking calls in a row: the queue does not clog. */
    for (i = 0; i < 500; i++)
        if (store("x", p) != APR_SUCCESS || get(buf, sizeof(buf), p) != APR_SUCCESS)
            break;
    is_int(i, 500, "500 store/retrieve rounds through the threads");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

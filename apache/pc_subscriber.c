/*
 * pc_subscriber.c - the purge subscriber (see pc_subscriber.h).
 */
#include "pc_subscriber.h"
#include "pc_farm_redis.h"
#include "pc_local.h"
#include "pc_log.h"
#include "pc_text.h"

#include "ap_mpm.h"
#include "http_log.h"
#include "http_core.h"
#include "mod_watchdog.h"

#include <apr_strings.h>

#include <unistd.h>

APLOG_USE_MODULE(pingone_consent);

#define SUB_WATCHDOG "pingone-consent"
#define SUB_LISTEN_MS 250        /* one wait for messages */
#define SUB_BUSY_MS 1000         /* at most this long applying a stream */
#define SUB_RUN_MS 3600000       /* one callback, then back to mod_watchdog */
#define SUB_RENEW apr_time_from_msec(500)  /* presence renewed this often */
#define SUB_LOG_INTERVAL apr_time_from_sec(60)

/* The subscriber of this child (used by the child holding the singleton:
 * only its watchdog thread touches it). */
typedef struct sub_t {
    pc_redis_t *r;
    int up;                      /* subscribed, flushed, epoch read, present */
    apr_time_t present_at;       /* presence last renewed */
    apr_time_t down_logged;      /* last PC00031 while down */
} sub_t;

static sub_t g_sub;
static volatile int g_stop;      /* the child is exiting */

/* Everything cached here may be stale: a new epoch (read from Redis),
 * then a new generation, then an empty table (pc_farm_state.h). */
static apr_status_t resync(const pc_ctx_t *c, const char **why)
{
    apr_uint32_t epoch;
    apr_status_t rv = pc_farm_redis_epoch_read(&epoch, c, why);

    if (rv == APR_SUCCESS)
        pc_farm_tier_set_epoch(epoch);
    pc_farm_tier_bump();
    pc_local_clear();
    return rv;
}

/* The tier is down; log once when it was up, else at most once a minute. */
static void go_down(const pc_ctx_t *c, const char *why)
{
    apr_time_t now = apr_time_now();
    int was_up = g_sub.up;

    g_sub.up = 0;
    if (pc_farm_tier_set_down(getpid()) && was_up) {
        /* Publishers need not wait for this server now (best effort: the
         * presence lapses by itself).  Not when another subscriber of this
         * server (a new generation) has taken over: the id is shared. */
        const char *ignored;
        pc_farm_redis_present(0, c, &ignored);
    }
    if (why == NULL || (!was_up && now - g_sub.down_logged < SUB_LOG_INTERVAL))
        return;
    g_sub.down_logged = now;
    pc_log(c, APLOG_WARNING, 0, "PC00031: the farm's purge subscription is "
           "%s (%s): this server reads Redis for every lookup, bypassing its "
           "local cache, until it is back; retrying (logged at most once a "
           "minute while down)", was_up ? "lost" : "down",
           pc_log_safe(c->p, why, 300));
}

static const char *client_error(void)
{
    const char *msg;
    pc_redis_last_error(g_sub.r, &msg);
    return msg;
}

static void subscribe(const pc_ctx_t *c)
{
    const char *why = NULL;

    if (pc_redis_subscribe(g_sub.r, pc_farm_redis_channel()) != APR_SUCCESS) {
        go_down(c, client_error());
        return;
    }
    if (resync(c, &why) != APR_SUCCESS) {
        pc_redis_disconnect(g_sub.r);
        go_down(c, apr_pstrcat(c->p, "reading the purge-all epoch: ", why,
                               NULL));
        return;
    }
    /* Present before alive: from now on every purge waits for us. */
    if (pc_farm_redis_present(1, c, &why) != APR_SUCCESS) {
        pc_redis_disconnect(g_sub.r);
        go_down(c, apr_pstrcat(c->p, "joining the farm's presence set: ",
                               why, NULL));
        return;
    }
    g_sub.present_at = apr_time_now();
    g_sub.up = 1;
    g_sub.down_logged = 0;
    pc_log(c, APLOG_NOTICE, 0, "PC00032: subscribed to the farm's purge "
           "channel %s at %s; local cache flushed (purges published while "
           "nobody listened are not lost on it)", pc_farm_redis_channel(),
           pc_log_safe(c->p, pc_redis_server(g_sub.r, c->p), 100));
}

/* Drop keys from the table; a bucket that stays busy costs a flush. */
static void drop_keys(const unsigned char *keys, int n)
{
    int i, removed;

    pc_farm_tier_bump();
    for (i = 0; i < n; i++) {
        if (pc_local_remove(keys + (apr_size_t)i * PC_FARM_KEY_BYTES,
                            &removed) != APR_SUCCESS) {
            pc_local_clear();
            return;
        }
    }
}

/* Apply a message, then tell its publisher (which waits for it). */
static apr_status_t apply(const pc_redis_msg_t *m, const pc_ctx_t *c,
                          const char **why)
{
    unsigned char *keys;
    const char *id;
    apr_status_t rv;
    int n;

    switch (pc_farm_msg_parse(m->data, m->len, &id, &keys, &n, c->p)) {
    case PC_FARM_MSG_KEYS:
        drop_keys(keys, n);
        pc_farm_redis_ack(id, c);
        pc_log(c, APLOG_DEBUG, 0, "PC00038: farm purge: %d key(s) dropped "
               "from the local cache", n);
        return APR_SUCCESS;
    case PC_FARM_MSG_ALL:
        pc_log(c, APLOG_INFO, 0, "PC00038: farm purge-all: local cache "
               "flushed");
        if ((rv = resync(c, why)) == APR_SUCCESS)
            pc_farm_redis_ack(id, c);
        return rv;
    case PC_FARM_MSG_OTHER:
        break;
    }
    pc_farm_tier_bump();
    pc_local_clear();
    pc_log(c, APLOG_INFO, 0, "PC00038: a message on the purge channel not "
           "understood (%d bytes): local cache flushed", (int)m->len);
    return APR_SUCCESS;
}

/* Read and apply messages for a while; alive when a wait ends quiet. */
static void listen_for_purges(const pc_ctx_t *c)
{
    apr_time_t start = apr_time_now();
    apr_time_t quiet_by = start + apr_time_from_msec(SUB_LISTEN_MS);

    for (;;) {
        apr_time_t now = apr_time_now();
        int wait = now < quiet_by ? (int)((quiet_by - now) / 1000) : 1;
        const char *why = NULL;
        pc_redis_msg_t m;
        apr_status_t rv = pc_redis_read_message(g_sub.r, &m, wait > 0 ? wait : 1,
                                                c->p);

        if (rv == APR_TIMEUP) {
            if (apr_time_now() - g_sub.present_at >= SUB_RENEW) {
                if (pc_farm_redis_present(1, c, &why) != APR_SUCCESS) {
                    pc_redis_disconnect(g_sub.r);
                    go_down(c, apr_pstrcat(c->p, "renewing the presence: ",
                                           why, NULL));
                    return;
                }
                g_sub.present_at = apr_time_now();
            }
            pc_farm_tier_set_alive(getpid());
            return;
        }
        if (rv != APR_SUCCESS) {
            if (pc_redis_last_error(g_sub.r, NULL) == PC_REDIS_E_SWITCHED) {
                pc_farm_master_switched();
                pc_log(c, APLOG_NOTICE, 0, "PC00033: Sentinel switched the "
                       "master: every connection leaves the old one now");
            }
            go_down(c, client_error());
            return;
        }
        if (apply(&m, c, &why) != APR_SUCCESS) {
            pc_redis_disconnect(g_sub.r);
            go_down(c, apr_pstrcat(c->p, "applying a purge-all: ", why, NULL));
            return;
        }
        if (apr_time_now() - start > apr_time_from_msec(SUB_BUSY_MS))
            return;  /* a stream of purges: the tier stays down meanwhile */
    }
}

static int stopping(void)
{
    int st = 0;

    return g_stop || (ap_mpm_query(AP_MPMQ_MPM_STATE, &st) == APR_SUCCESS &&
                      st == AP_MPMQ_STOPPING);
}

/* Listen without a break: mod_watchdog sleeps a tenth of a second between
 * two calls, and while it sleeps nobody reads the subscription, so purges
 * wait (the presence set keeps that safe, but slow).  Returns when the
 * child stops (checked at every wait, so mod_watchdog is never held up
 * more than a wait), when the subscription is down (the client's back-off
 * paces the next try), or after SUB_RUN_MS. */
static void run(server_rec *s, apr_pool_t *pool)
{
    apr_time_t until = apr_time_now() + apr_time_from_msec(SUB_RUN_MS);
    apr_pool_t *p;

    apr_pool_create(&p, pool);
    while (!stopping() && apr_time_now() < until) {
        pc_ctx_t c = pc_ctx_server(s, p);
        if (!g_sub.up)
            subscribe(&c);
        if (!g_sub.up)
            break;
        listen_for_purges(&c);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
}

static apr_status_t callback(int state, void *data, apr_pool_t *pool)
{
    pc_ctx_t c = pc_ctx_server(data, pool);

    if (g_sub.r == NULL)
        return APR_SUCCESS;
    switch (state) {
    case AP_WATCHDOG_STATE_RUNNING:
        run(data, pool);
        break;
    case AP_WATCHDOG_STATE_STOPPING:
        go_down(&c, NULL);
        pc_redis_disconnect(g_sub.r);
        break;
    default:
        break;
    }
    /* Anything else would stop the watchdog calling us. */
    return APR_SUCCESS;
}

void pc_subscriber_post_config(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg;
    ap_watchdog_t *wd;
    apr_status_t rv;

    memset(&g_sub, 0, sizeof(g_sub));
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    get = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    reg = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (get == NULL || reg == NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PC00037: mod_watchdog "
                     "is not loaded, so nothing tells this server about "
                     "purges made on the others: its local cache is not "
                     "used, and every lookup reads Redis (LoadModule "
                     "watchdog_module, or use a build of httpd that has it)");
        return;
    }
    rv = get(&wd, SUB_WATCHDOG, 0, 1, pconf);
    if (rv == APR_SUCCESS)
        rv = reg(wd, AP_WD_TM_SLICE, s, callback);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "PC00037: cannot "
                     "register the purge subscriber with mod_watchdog: this "
                     "server's local cache is not used, and every lookup "
                     "reads Redis");
}

/* The child is going: the subscriber's loop must let mod_watchdog stop. */
static apr_status_t child_exit(void *data)
{
    (void)data;
    g_stop = 1;
    return APR_SUCCESS;
}

void pc_subscriber_child_init(apr_pool_t *p, server_rec *s)
{
    const pc_redis_conf_t *conf = pc_farm_redis_client_conf();
    apr_pool_t *sp;

    g_sub.r = NULL;
    g_sub.up = 0;
    g_stop = 0;
    if (conf == NULL)
        return;
    apr_pool_pre_cleanup_register(p, NULL, child_exit);
    /* Not a child of p: the child pool is destroyed before mod_watchdog
     * joins its thread, which may still be reading. */
    if (apr_pool_create_unmanaged_ex(&sp, NULL, NULL) != APR_SUCCESS ||
        pc_redis_create(&g_sub.r, conf, sp) != APR_SUCCESS) {
        g_sub.r = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PC00037: cannot create "
                     "the purge subscriber's Redis client: this server's "
                     "local cache is not used");
    }
}

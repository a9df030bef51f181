/*
 * pc_farm_redis.c - the farm cache on the module's Redis client (see
 * pc_farm_redis.h).
 */
#include "pc_farm_redis.h"

#include "ap_mpm.h"
#include "http_log.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

APLOG_USE_MODULE(pingone_consent);

#define FR_EPOCH_TTL_MS ((apr_int64_t)365 * 86400 * 1000)

/* One client of the child's pool. */
typedef struct fr_client_t {
    pc_redis_t *r;
    struct fr_client_t *next;
} fr_client_t;

/* Configuration (parent, post_config; children inherit it). */
static int g_on;
static pc_redis_conf_t g_conf;
static const char *g_channel;

/* The child's pool of clients. */
static apr_thread_mutex_t *g_mutex;
static fr_client_t *g_idle;
static apr_time_t g_down_until;     /* fail fast until then (atomic) */
static char g_down_why[320];        /* why (under the mutex) */

void pc_farm_redis_configure(apr_pool_t *pconf, const pc_farm_conf_t *fc)
{
    g_on = fc != NULL && fc->redis != NULL;
    g_idle = NULL;
    g_mutex = NULL;
    if (!g_on)
        return;
    memset(&g_conf, 0, sizeof(g_conf));
    g_conf.url = fc->redis;
    g_conf.user = fc->user;
    g_conf.password = fc->password;
    g_conf.sentinel_user = fc->sentinel_user;
    g_conf.sentinel_password = fc->sentinel_password;
    g_conf.connect_timeout_ms = PC_FR_TIMEOUT_MS;
    g_conf.command_timeout_ms = PC_FR_TIMEOUT_MS;
    g_conf.backoff_ms = PC_FR_DOWN_MS;
    /* The subscriber: a silent partition is noticed within a PING
     * interval plus a command timeout. */
    g_conf.ping_ms = PC_FR_TIMEOUT_MS;
    g_channel = pc_farm_channel(pconf, fc->redis->db);
}

int pc_farm_redis_on(void)
{
    return g_on;
}

const pc_redis_conf_t *pc_farm_redis_client_conf(void)
{
    return g_on ? &g_conf : NULL;
}

const char *pc_farm_redis_channel(void)
{
    return g_channel;
}

void pc_farm_redis_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 1, i;
    apr_pool_t *p;
    apr_status_t rv;

    if (!g_on)
        return;
    /* A pool of its own that the child's exit does not destroy: a
     * watchdog thread may still be in a call while the child pool goes
     * (the process's exit closes the connections). */
    (void)pchild;
    if ((rv = apr_pool_create_unmanaged_ex(&p, NULL, NULL)) != APR_SUCCESS ||
        (rv = apr_thread_mutex_create(&g_mutex, APR_THREAD_MUTEX_DEFAULT,
                                      p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "PC00036: cannot create "
                     "the Redis client pool's mutex; the farm cache is not "
                     "used by this child");
        return;
    }
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1)
        threads = 1;
    /* Made here, single-threaded: the pool never allocates afterwards. */
    for (i = 0; i < threads + PC_FR_SPARE; i++) {
        fr_client_t *fc = apr_pcalloc(p, sizeof(*fc));
        apr_pool_t *cp;
        apr_pool_create(&cp, p);
        if (pc_redis_create(&fc->r, &g_conf, cp) != APR_SUCCESS)
            break;
        fc->next = g_idle;
        g_idle = fc;
    }
}

/* ---- taking a client for one call ----------------------------------------- */

static fr_client_t *acquire(const char **why, const pc_ctx_t *c)
{
    apr_time_t until = __atomic_load_n(&g_down_until, __ATOMIC_ACQUIRE);
    fr_client_t *fc = NULL;

    if (!g_on || g_mutex == NULL) {
        *why = "the Redis client is not set up in this process";
        return NULL;
    }
    apr_thread_mutex_lock(g_mutex);
    if (until && apr_time_now() < until) {
        *why = apr_psprintf(c->p, "not trying for a second after: %s",
                            g_down_why);
        apr_thread_mutex_unlock(g_mutex);
        return NULL;
    }
    if ((fc = g_idle) != NULL)
        g_idle = fc->next;
    apr_thread_mutex_unlock(g_mutex);
    if (fc == NULL) {
        *why = "every Redis client of this child is busy";
        return NULL;
    }
    pc_redis_master_generation(fc->r, pc_farm_master_gen());
    return fc;
}

/* Give the client back; after a failure, say why and maybe stop trying
 * for a while. */
static apr_status_t release(fr_client_t *fc, apr_status_t rv,
                            const char **why, const pc_ctx_t *c)
{
    const char *msg;
    pc_redis_err_e e = pc_redis_last_error(fc->r, &msg);
    int down = 0;

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND && rv != APR_EEXIST) {
        *why = apr_pstrdup(c->p, msg);
        down = e == PC_REDIS_E_TIMEOUT || e == PC_REDIS_E_CONNECT ||
               e == PC_REDIS_E_AUTH || e == PC_REDIS_E_SENTINEL ||
               e == PC_REDIS_E_SERVER;
    }
    apr_thread_mutex_lock(g_mutex);
    if (down) {
        apr_cpystrn(g_down_why, msg, sizeof(g_down_why));
        __atomic_store_n(&g_down_until,
                         apr_time_now() + apr_time_from_msec(PC_FR_DOWN_MS),
                         __ATOMIC_RELEASE);
    }
    fc->next = g_idle;
    g_idle = fc;
    apr_thread_mutex_unlock(g_mutex);
    return rv;
}

/* GET: APR_SUCCESS (*raw in c->p), APR_NOTFOUND, or a failure. */
static apr_status_t get_raw(const char *rkey, unsigned char **raw,
                            apr_size_t *n, const pc_ctx_t *c, const char **why)
{
    fr_client_t *fc = acquire(why, c);

    if (fc == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_get(fc->r, raw, n, rkey, strlen(rkey), c->p),
                   why, c);
}

/* GET and open the seal: APR_SUCCESS, APR_NOTFOUND (absent, or the seal
 * failed: counted and logged), or a failure. */
static apr_status_t get_sealed(const char *rkey, const unsigned char **val,
                               apr_size_t *len, const pc_ctx_t *c,
                               const char **why)
{
    unsigned char *raw;
    apr_size_t n;
    apr_status_t rv = get_raw(rkey, &raw, &n, c, why);

    if (rv != APR_SUCCESS)
        return rv;
    return pc_farm_open(val, len, NULL, rkey, strlen(rkey), raw, n, c);
}

static apr_status_t set_sealed(const char *rkey, const unsigned char *val,
                               apr_size_t len, apr_int64_t px_ms,
                               const pc_ctx_t *c, const char **why)
{
    unsigned char *s;
    apr_size_t n;
    fr_client_t *fc;

    if (pc_farm_seal(&s, &n, rkey, strlen(rkey), val, len, c->p) !=
        APR_SUCCESS) {
        *why = "sealing the value failed";
        return APR_EGENERAL;
    }
    if ((fc = acquire(why, c)) == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_set(fc->r, rkey, strlen(rkey), s, n, px_ms),
                   why, c);
}

static apr_int64_t ms_until(apr_time_t t)
{
    apr_time_t left = t - apr_time_now();
    return left <= 0 ? 0 : (apr_int64_t)((left + 999) / 1000);
}

/* ---- entries --------------------------------------------------------------- */

apr_status_t pc_farm_redis_get(const unsigned char *key,
                               const unsigned char **val, apr_size_t *len,
                               apr_time_t *fresh_until, apr_time_t *expires,
                               const pc_ctx_t *c, const char **why)
{
    char rkey[PC_FARM_ENTRY_KEY_LEN + 1];
    const unsigned char *f;
    apr_size_t n;
    apr_status_t rv;

    pc_farm_entry_key(rkey, key);
    if ((rv = get_sealed(rkey, &f, &n, c, why)) != APR_SUCCESS)
        return rv;
    /* The seal verified, so a bad frame is another version's entry. */
    if (pc_farm_unframe(val, len, fresh_until, expires, f, n) != APR_SUCCESS ||
        *expires <= apr_time_now())
        return APR_NOTFOUND;
    return APR_SUCCESS;
}

apr_status_t pc_farm_redis_put(const unsigned char *key,
                               const unsigned char *val, apr_size_t len,
                               apr_time_t fresh_until, apr_time_t expires,
                               const pc_ctx_t *c, const char **why)
{
    char rkey[PC_FARM_ENTRY_KEY_LEN + 1];
    unsigned char *f;
    apr_size_t n;
    apr_int64_t px = ms_until(expires);

    if (px <= 0)
        return APR_SUCCESS;
    pc_farm_entry_key(rkey, key);
    pc_farm_frame(&f, &n, val, len, fresh_until, expires, c->p);
    return set_sealed(rkey, f, n, px, c, why);
}

apr_status_t pc_farm_redis_del(const unsigned char *keys, int n,
                               apr_int64_t *removed, const pc_ctx_t *c,
                               const char **why)
{
    const void *names[64];
    apr_size_t lens[64];
    fr_client_t *fc;
    int i;

    if (n < 1 || n > 64) {
        *why = "DEL of too many keys";
        return APR_EGENERAL;
    }
    for (i = 0; i < n; i++) {
        char *k = apr_palloc(c->p, PC_FARM_ENTRY_KEY_LEN + 1);
        pc_farm_entry_key(k, keys + (apr_size_t)i * PC_FARM_KEY_BYTES);
        names[i] = k;
        lens[i] = PC_FARM_ENTRY_KEY_LEN;
    }
    if ((fc = acquire(why, c)) == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_del(fc->r, removed, n, names, lens), why, c);
}

/* ---- epoch and channel ------------------------------------------------------ */

apr_status_t pc_farm_redis_epoch_read(apr_uint32_t *epoch, const pc_ctx_t *c,
                                      const char **why)
{
    const char *k = PC_FARM_EPOCH_KEY;
    const unsigned char *v;
    unsigned char *raw;
    apr_size_t n, vn;
    int old = 0;
    apr_status_t rv = get_raw(k, &raw, &n, c, why);

    *epoch = 0;
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return rv;
    /* A value without a valid seal must not read as epoch 0: entries from
     * before a purge-all would come back. */
    if (pc_farm_open(&v, &vn, &old, k, strlen(k), raw, n, c) != APR_SUCCESS) {
        *why = "the purge-all epoch (pc:epoch) has no valid seal";
        return APR_EGENERAL;
    }
    if (pc_farm_epoch_decode(epoch, v, vn) != APR_SUCCESS) {
        *why = "the purge-all epoch (pc:epoch) is not a number";
        return APR_EGENERAL;
    }
    /* Sealed with the key being rotated out: seal it with the current one
     * before that key goes (best effort; the next read tries again). */
    if (old) {
        const char *ignored;
        pc_farm_redis_epoch_write(*epoch, c, &ignored);
    }
    return APR_SUCCESS;
}

apr_status_t pc_farm_redis_epoch_write(apr_uint32_t epoch, const pc_ctx_t *c,
                                       const char **why)
{
    char buf[PC_FARM_EPOCH_MAX];
    apr_size_t n = pc_farm_epoch_encode(buf, epoch);

    return set_sealed(PC_FARM_EPOCH_KEY, (const unsigned char *)buf, n,
                      FR_EPOCH_TTL_MS, c, why);
}

/* Servers present in the farm that have not confirmed message ack_key
 * yet; -1 when that cannot be read (then the publisher waits the whole
 * window, which is always safe). */
static apr_int64_t unconfirmed(const char *ack_key, const pc_ctx_t *c)
{
    const char *why;
    fr_client_t *fc = acquire(&why, c);
    apr_int64_t n = -1;

    if (fc == NULL)
        return -1;
    if (release(fc, pc_redis_missing(fc->r, &n, ack_key, PC_FR_PRESENCE_KEY),
                &why, c) != APR_SUCCESS)
        return -1;
    return n;
}

apr_status_t pc_farm_redis_present(int here, const pc_ctx_t *c,
                                   const char **why)
{
    fr_client_t *fc = acquire(why, c);

    if (fc == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_presence(fc->r, NULL, PC_FR_PRESENCE_KEY,
                                         sizeof(PC_FR_PRESENCE_KEY) - 1,
                                         pc_farm_server_id(),
                                         here ? PC_FR_PRESENT_MS : 0),
                   why, c);
}

/* PUBLISH, then wait until every server present in the farm has
 * confirmed (see the header and pc_farm_state.h).  A server subscribed but
 * not present yet applies the message before it first trusts its table:
 * no need to wait for it. */
static apr_status_t publish_and_wait(const char *msg, const char *id,
                                     const pc_ctx_t *c, const char **why)
{
    const char *ack_key = pc_farm_ack_key(c->p, id);
    apr_time_t deadline =
        pc_farm_mono_now() + PC_FARM_ALIVE_WINDOW + apr_time_from_msec(100);
    apr_interval_time_t nap = 200;
    apr_int64_t left;
    fr_client_t *fc = acquire(why, c);
    apr_status_t rv;

    if (fc == NULL)
        return APR_EGENERAL;
    rv = release(fc, pc_redis_publish(fc->r, NULL, g_channel, msg,
                                      strlen(msg)),
                 why, c);
    if (rv != APR_SUCCESS)
        return rv;
    while ((left = unconfirmed(ack_key, c)) != 0) {
        if (pc_farm_mono_now() >= deadline) {
            pc_log(c, APLOG_INFO, 0, "PC00039: %s server(s) of the farm did "
                   "not confirm a purge within %d ms; they have stopped using "
                   "their local cache by now",
                   left < 0 ? "some" : apr_ltoa(c->p, (long)left),
                   (int)apr_time_as_msec(PC_FARM_ALIVE_WINDOW) + 100);
            break;
        }
        apr_sleep(nap);
        if (nap < 2000)
            nap *= 2;
    }
    return APR_SUCCESS;
}

apr_status_t pc_farm_redis_purge(const unsigned char *keys, int n,
                                 const pc_ctx_t *c, const char **why)
{
    unsigned char rnd[PC_FARM_ID_LEN / 2];
    const char *id;
    apr_status_t rv;
    int i, k;

    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        *why = "no random bytes for a message id";
        return APR_EGENERAL;
    }
    id = pc_farm_msg_id(c->p, rnd);
    if (keys == NULL)
        return publish_and_wait(pc_farm_msg_all(c->p, id), id, c, why);
    for (i = 0; i < n; i += k) {
        k = n - i > PC_FARM_MSG_MAX_KEYS ? PC_FARM_MSG_MAX_KEYS : n - i;
        rv = publish_and_wait(
            pc_farm_msg_keys(c->p, id, keys + (apr_size_t)i * PC_FARM_KEY_BYTES,
                             k),
            id, c, why);
        if (rv != APR_SUCCESS)
            return rv;
        /* Another id for the next batch: acks count per message. */
        if (apr_generate_random_bytes(rnd, sizeof(rnd)) == APR_SUCCESS)
            id = pc_farm_msg_id(c->p, rnd);
    }
    return APR_SUCCESS;
}

void pc_farm_redis_ack(const char *id, const pc_ctx_t *c)
{
    const char *ack_key = pc_farm_ack_key(c->p, id), *why;
    fr_client_t *fc = acquire(&why, c);

    if (fc == NULL)
        return;
    release(fc, pc_redis_sadd_px(fc->r, ack_key, pc_farm_server_id(), 10000),
            &why, c);
}

/* ---- small values, leases, budget ------------------------------------------ */

apr_status_t pc_farm_redis_kv_get(const char *name, const unsigned char **val,
                                  apr_size_t *len, const pc_ctx_t *c,
                                  const char **why)
{
    return get_sealed(pc_farm_kv_key(c->p, name), val, len, c, why);
}

apr_status_t pc_farm_redis_kv_put(const char *name, const unsigned char *val,
                                  apr_size_t len, apr_interval_time_t ttl,
                                  const pc_ctx_t *c, const char **why)
{
    apr_int64_t px = (apr_int64_t)(ttl / 1000);

    return set_sealed(pc_farm_kv_key(c->p, name), val, len, px > 0 ? px : 1,
                      c, why);
}

apr_status_t pc_farm_redis_hold(const char *name, const char *holder,
                                apr_interval_time_t ttl, const pc_ctx_t *c,
                                const char **why)
{
    const char *rkey = pc_farm_kv_key(c->p, name);
    apr_int64_t px = (apr_int64_t)(ttl / 1000);
    unsigned char *s;
    apr_size_t n;
    fr_client_t *fc;

    /* The seal is deterministic: the holder's sealed value is the same
     * bytes every time, which the script compares. */
    if (pc_farm_seal(&s, &n, rkey, strlen(rkey), (const unsigned char *)holder,
                     strlen(holder), c->p) != APR_SUCCESS) {
        *why = "sealing the lease failed";
        return APR_EGENERAL;
    }
    if ((fc = acquire(why, c)) == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_hold(fc->r, rkey, strlen(rkey), s, n,
                                     px > 0 ? px : 1),
                   why, c);
}

apr_status_t pc_farm_redis_bucket(int rate, int burst, int *allowed,
                                  apr_int64_t *wait_ms, const pc_ctx_t *c,
                                  const char **why)
{
    fr_client_t *fc = acquire(why, c);

    if (fc == NULL)
        return APR_EGENERAL;
    return release(fc, pc_redis_bucket(fc->r, allowed, wait_ms,
                                       PC_FARM_BUDGET_KEY,
                                       sizeof(PC_FARM_BUDGET_KEY) - 1,
                                       (double)rate, (double)burst),
                   why, c);
}

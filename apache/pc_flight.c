/*
 * pc_flight.c - the single-flight table (see pc_flight.h).
 *
 * 512 slots, found by open addressing from two bytes of the (SHA-1) key.
 * A slot is FREE, BUSY (a leader is asking), or DONE (with the leader's
 * answer or error, kept 2 s for late followers).  A BUSY slot older than
 * twice the wait is taken back: its leader died or hung.  Followers poll
 * every 5 ms under the global mutex; a slot's generation tells them that
 * the flight they joined ended even if the slot was reused since.
 */
#include "pc_flight.h"

#include <apr_strings.h>

#define FL_SLOTS 512
#define FL_PROBE 16
#define FL_POLL apr_time_from_msec(5)
#define FL_DONE_KEPT apr_time_from_sec(2)

typedef enum { FL_FREE = 0, FL_BUSY, FL_DONE_OK, FL_DONE_ERR } fl_state_e;

typedef struct fl_slot_t {
    unsigned char key[PC_CACHE_KEY_LEN];
    apr_time_t since;
    apr_uint32_t state, gen;
    char err_tag[40];
    char retry_after[40];
    unsigned int value_len;
    unsigned char value[PC_FLIGHT_VALUE];   /* the leader's answer */
} fl_slot_t;

static fl_slot_t *g_slots;   /* FL_SLOTS, in the shared segment */

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_slots = mem;
}

pc_seg_area_t pc_flight_area(void)
{
    pc_seg_area_t a = {sizeof(fl_slot_t) * FL_SLOTS, attach};
    return a;
}

static int same_key(const fl_slot_t *f, const unsigned char *key)
{
    return memcmp(f->key, key, PC_CACHE_KEY_LEN) == 0;
}

/* Under the mutex: the slot of this key, or (claim) a free one. */
static fl_slot_t *slot_find(const unsigned char *key, int claim,
                            apr_time_t now, apr_time_t stale_before)
{
    unsigned int h = ((unsigned int)key[1] << 8 | key[2]) % FL_SLOTS;
    fl_slot_t *free_slot = NULL;
    int i;

    for (i = 0; i < FL_PROBE; i++) {
        fl_slot_t *f = &g_slots[(h + (unsigned int)i) % FL_SLOTS];
        if (f->state == FL_BUSY && f->since < stale_before)
            f->state = FL_FREE; /* a leader that died or hung */
        if (f->state != FL_FREE && same_key(f, key))
            return f;
        if (free_slot == NULL &&
            (f->state == FL_FREE ||
             (f->state != FL_BUSY && f->since < now - FL_DONE_KEPT)))
            free_slot = f;
    }
    if (claim && free_slot) {
        memcpy(free_slot->key, key, PC_CACHE_KEY_LEN);
        free_slot->state = FL_FREE;
    }
    return claim ? free_slot : NULL;
}

/* Under the mutex: copy out how the followed flight ended. */
static void take_result(const fl_slot_t *f, const unsigned char *key,
                        apr_uint32_t gen, pc_flight_result_t *res,
                        apr_pool_t *p)
{
    int mine = same_key(f, key) && f->gen == gen;
    fl_state_e st = mine ? (fl_state_e)f->state : FL_DONE_OK;

    res->ok = st == FL_DONE_OK;
    res->err_tag = st == FL_DONE_ERR ? apr_pstrdup(p, f->err_tag) : NULL;
    res->retry_after = st == FL_DONE_ERR && f->retry_after[0]
                           ? apr_pstrdup(p, f->retry_after)
                           : NULL;
    res->value_len = 0;
    if (st == FL_DONE_OK && mine && f->value_len <= PC_FLIGHT_VALUE) {
        memcpy(res->value, f->value, f->value_len);
        res->value_len = f->value_len;
    }
}

/* Poll until the flight we joined is over, or the deadline. */
static pc_flight_e follow(fl_slot_t *f, const unsigned char *key,
                          apr_uint32_t gen, apr_time_t deadline,
                          pc_flight_result_t *res, apr_pool_t *p)
{
    while (apr_time_now() < deadline) {
        apr_sleep(FL_POLL);
        pc_segment_lock();
        if (!same_key(f, key) || f->gen != gen || f->state != FL_BUSY) {
            take_result(f, key, gen, res, p);
            pc_segment_unlock();
            return PC_FLIGHT_FOLLOWED;
        }
        pc_segment_unlock();
    }
    return PC_FLIGHT_ALONE;
}

pc_flight_e pc_flight_begin(const unsigned char key[PC_CACHE_KEY_LEN],
                            int wait_ms, pc_flight_result_t *res,
                            apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t wait = apr_time_from_msec(wait_ms);
    fl_slot_t *f;
    apr_uint32_t gen;

    memset(res, 0, sizeof(*res));
    if (g_slots == NULL)
        return PC_FLIGHT_ALONE;
    pc_segment_lock();
    f = slot_find(key, 1, now, now - 2 * wait);
    if (f == NULL) {
        pc_segment_unlock();
        return PC_FLIGHT_ALONE;
    }
    if (f->state != FL_BUSY) {
        f->state = FL_BUSY;
        f->since = now;
        f->gen++;
        f->value_len = 0;
        pc_segment_unlock();
        return PC_FLIGHT_LEAD;
    }
    gen = f->gen;
    pc_segment_unlock();
    return follow(f, key, gen, now + wait, res, p);
}

void pc_flight_end(const unsigned char key[PC_CACHE_KEY_LEN], int ok,
                   const char *err_tag, const char *retry_after,
                   const unsigned char *value, unsigned int value_len)
{
    fl_slot_t *f;

    if (g_slots == NULL)
        return;
    pc_segment_lock();
    f = slot_find(key, 0, apr_time_now(), 0);
    if (f && f->state == FL_BUSY) {
        f->state = ok ? FL_DONE_OK : FL_DONE_ERR;
        f->since = apr_time_now();
        apr_cpystrn(f->err_tag, err_tag ? err_tag : "", sizeof(f->err_tag));
        apr_cpystrn(f->retry_after, retry_after ? retry_after : "",
                    sizeof(f->retry_after));
        f->value_len = 0;
        if (ok && value && value_len <= PC_FLIGHT_VALUE) {
            memcpy(f->value, value, value_len);
            f->value_len = value_len;
        }
    }
    pc_segment_unlock();
}

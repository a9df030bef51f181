/*
 * pc_webhook.h - PingOne subscription deliveries (ACTIVITY format) to the
 * users whose cached decisions must be dropped (pure core).
 *
 * A delivery is a JSON array of events, a single event object, or
 * newline-delimited JSON (one event per line).  For each event the action
 * type is read from action.type and the user from the first resources[]
 * entry of type USER, else actors.user.id.
 */
#ifndef PC_WEBHOOK_H
#define PC_WEBHOOK_H

#include <apr_pools.h>
#include <apr_tables.h>

#define PC_WEBHOOK_MAX_EVENTS 1000

typedef enum {
    PC_EV_IGNORED = 0,  /* a type that does not affect consent */
    PC_EV_DROP_USER     /* consent revoked/declined/deleted, user gone */
} pc_event_effect_e;

typedef struct pc_event_t {
    const char *type;        /* action.type, NULL when absent */
    const char *user_id;     /* NULL when the event names no user */
    pc_event_effect_e effect;
} pc_event_t;

/* What an action type means for the cache. */
pc_event_effect_e pc_event_effect(const char *type);

/* Parse a delivery into *events (pc_event_t *).  APR_EGENERAL with *err
 * for a body that is not JSON / ND-JSON of objects, or has more than
 * PC_WEBHOOK_MAX_EVENTS events. */
apr_status_t pc_webhook_parse(apr_array_header_t **events, const char *body,
                              apr_size_t len, apr_pool_t *p,
                              const char **err);

#endif

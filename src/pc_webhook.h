/*
 * pc_webhook.h - PingOne ACTIVITY events (webhook deliveries and audit
 * activities alike) to what they mean for the decision cache (pure core).
 *
 * A delivery is a JSON array of events, a single event object, or
 * newline-delimited JSON (one event per line).  For each event the action
 * type is read from action.type and the user from the first resources[]
 * entry of type USER, else actors.user.id.
 *
 * What a type means is configurable: the types that drop a user's cached
 * decisions are PingOneRevocationEvents (default: the consent revoke /
 * decline / delete and user delete / disable / update types).  Besides
 * them, a consent grant (OAUTH_CONSENT.ACCEPTED) drops the user's cached
 * decisions so a re-consent counts on the next request, and USER.UPDATED,
 * when it is not a revocation type, drops the user's cached denies.
 */
#ifndef PC_WEBHOOK_H
#define PC_WEBHOOK_H

#include "pc_json.h"

#include <apr_pools.h>
#include <apr_tables.h>

#define PC_WEBHOOK_MAX_EVENTS 1000
/* The longest action type PingOneRevocationEvents accepts. */
#define PC_EVENT_TYPE_MAX 64

typedef enum {
    PC_EV_IGNORED = 0,  /* a type that does not affect consent */
    PC_EV_DROP_USER,    /* a revocation type: the user's decisions go */
    PC_EV_GRANT,        /* a consent grant: the user's decisions go (the
                           deny, and an allow that may carry the scopes of
                           an older consent), so a re-consent counts at
                           once */
    PC_EV_LIFT_DENY     /* USER.UPDATED when not a revocation type: the
                           user's cached denies go */
} pc_event_effect_e;

typedef struct pc_event_t {
    const char *type;        /* action.type, NULL when absent */
    const char *user_id;     /* NULL when the event names no user */
    pc_event_effect_e effect;  /* under the default types */
    const char *id;          /* id, NULL when absent */
    apr_time_t recorded_at;  /* recordedAt, 0 when absent or invalid */
    const char *env_id;      /* environment.id, NULL when absent */
} pc_event_t;

/* The default revocation types (NULL-terminated). */
extern const char *const pc_default_revocation_events[];

/* What an action type means under the default types. */
pc_event_effect_e pc_event_effect(const char *type);

/* What an action type means when `drop` (const char *; NULL: the default
 * list) are the revocation types.  Types compare exactly. */
pc_event_effect_e pc_event_effect_in(const apr_array_header_t *drop,
                                     const char *type);

/* NULL when `type` may be a revocation type (1..PC_EVENT_TYPE_MAX of
 * A-Z, 0-9, '_' and '.'), else why not (static text). */
const char *pc_event_type_check(const char *type);

/* Every action type that means something under `drop` (NULL: the
 * default): the revocation types and the grant types, each once. */
apr_array_header_t *pc_event_types_wanted(apr_pool_t *p,
                                          const apr_array_header_t *drop);

/* One event read tolerantly from a JSON object (a field of another type
 * reads as absent); NULL when o is not an object. */
pc_event_t *pc_event_read(pc_json_t *o, apr_pool_t *p);

/* Parse a delivery into *events (pc_event_t *).  APR_EGENERAL with *err
 * for a body that is not JSON / ND-JSON of objects, or has more than
 * PC_WEBHOOK_MAX_EVENTS events. */
apr_status_t pc_webhook_parse(apr_array_header_t **events, const char *body,
                              apr_size_t len, apr_pool_t *p,
                              const char **err);

#endif

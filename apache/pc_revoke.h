/*
 * pc_revoke.h - applying PingOne events to the decision cache: the one
 * code path for revocations (and re-consents), whichever way the events
 * arrived (a webhook delivery, pc_webhook_recv.c; the audit-activity feed,
 * pc_poll.c).  What an event type means is PingOneRevocationEvents
 * (src/pc_webhook.h): a revocation or a consent grant purges that user's
 * decisions in every configured environment and application
 * (pc_dcache_purge_user); USER.UPDATED, when it is not a revocation type,
 * drops only the user's cached denies.
 */
#ifndef PC_REVOKE_H
#define PC_REVOKE_H

#include "pc_log.h"
#include "pc_stats.h"

#include <apr_tables.h>

typedef struct pc_revoke_result_t {
    int events;            /* events looked at */
    int users_dropped;     /* users whose decisions were purged (or whose
                              denies were dropped) */
    int entries_removed;   /* cache entries those purges removed */
    int ignored;           /* events of no consequence, or without a user */
    int failed;            /* purges that could not be made effective */
    int grants;            /* of users_dropped: by a consent grant or a
                              user update (re-consent) */
} pc_revoke_result_t;

/* post_config, in the parent: the revocation types (const char *; NULL:
 * the default list) and every environment and application configured
 * (where a user's denies are looked for). */
void pc_revoke_configure(const apr_array_header_t *drop_types,
                         const apr_array_header_t *envs,
                         const apr_array_header_t *apps);

/* The revocation types in use (NULL: the default list). */
const apr_array_header_t *pc_revoke_types(void);

/* Apply events (pc_event_t *, src/pc_webhook.h).  `via` names the source
 * for the log ("webhook", "activity feed"); `counter` counts each user
 * dropped.  res->failed > 0 means a revocation may not have taken effect:
 * the source must retry (a webhook answers 503, the feed reads the window
 * again). */
void pc_revoke_apply(pc_revoke_result_t *res,
                     const apr_array_header_t *events, const char *via,
                     pc_counter_e counter, const pc_ctx_t *c);

#endif

/*
 * pc_revoke.h - applying PingOne events to the decision cache: the one
 * code path for revocations, whichever way the events arrived (a webhook
 * delivery, pc_webhook_recv.c; or, later, the audit-activity feed).  An
 * event that drops a user purges that user's decisions in every
 * configured environment and application (pc_dcache_purge_user).
 */
#ifndef PC_REVOKE_H
#define PC_REVOKE_H

#include "pc_log.h"

typedef struct pc_revoke_result_t {
    int events;            /* events looked at */
    int users_dropped;     /* users whose decisions were purged */
    int entries_removed;   /* cache entries those purges removed */
    int ignored;           /* events of no consequence, or without a user */
    int failed;            /* purges that could not be made effective */
} pc_revoke_result_t;

/* Apply events (pc_event_t *, src/pc_webhook.h).  `via` names the source
 * for the log ("webhook").  res->failed > 0 means a revocation may not
 * have taken effect: the source must retry (a webhook answers 503). */
void pc_revoke_apply(pc_revoke_result_t *res,
                     const apr_array_header_t *events, const char *via,
                     const pc_ctx_t *c);

#endif

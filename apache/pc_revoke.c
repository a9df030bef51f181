/*
 * pc_revoke.c - PingOne events to purges (see pc_revoke.h).
 */
#include "pc_revoke.h"
#include "pc_dcache.h"
#include "pc_segment.h"
#include "pc_text.h"
#include "pc_webhook.h"

#include "http_log.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

static void apply_one(pc_revoke_result_t *res, const pc_event_t *ev,
                      const char *via, const pc_ctx_t *c)
{
    const char *type = pc_log_safe(c->p, ev->type ? ev->type : "-", 64);
    int removed;

    if (ev->effect != PC_EV_DROP_USER || ev->user_id == NULL ||
        !pc_is_uuid(ev->user_id)) {
        pc_log(c, APLOG_DEBUG, 0, "PC00205: %s event %s%s ignored", via, type,
               ev->effect == PC_EV_DROP_USER ? " without a valid user ID"
                                             : "");
        res->ignored++;
        return;
    }
    if (pc_dcache_purge_user(&removed, ev->user_id, NULL, c) != APR_SUCCESS) {
        pc_log(c, APLOG_ERR, 0,
               "PC00206: %s %s: the cached decisions of user %s could not be "
               "dropped (the decision cache failed)", via, type, ev->user_id);
        res->failed++;
        return;
    }
    res->entries_removed += removed;
    res->users_dropped++;
    pc_count(PC_CNT_WEBHOOK_DROPPED);
    pc_log(c, APLOG_INFO, 0,
           "PC00204: %s %s: dropped cached decisions of user %s", via, type,
           ev->user_id);
}

void pc_revoke_apply(pc_revoke_result_t *res,
                     const apr_array_header_t *events, const char *via,
                     const pc_ctx_t *c)
{
    int i;

    memset(res, 0, sizeof(*res));
    res->events = events->nelts;
    for (i = 0; i < events->nelts; i++)
        apply_one(res, APR_ARRAY_IDX(events, i, const pc_event_t *), via, c);
}

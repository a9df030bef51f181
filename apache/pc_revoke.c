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

/* Set in the parent at start-up, read by every child. */
static const apr_array_header_t *g_drop;
static const apr_array_header_t *g_envs, *g_apps;

void pc_revoke_configure(const apr_array_header_t *drop_types,
                         const apr_array_header_t *envs,
                         const apr_array_header_t *apps)
{
    g_drop = drop_types;
    g_envs = envs;
    g_apps = apps;
}

const apr_array_header_t *pc_revoke_types(void)
{
    return g_drop;
}

/* A cached answer that denies whatever the scopes: no consent, an unknown
 * user, a consent not ACCEPTED or past its expiry. */
static int is_deny(const pc_cache_entry_t *e)
{
    const pc_consent_t *cs = e->consent;

    return e->unknown_user || cs == NULL || cs->status == NULL ||
           strcmp(cs->status, "ACCEPTED") != 0 ||
           (cs->expires_at && cs->expires_at <= apr_time_now());
}

/* USER.UPDATED that is not a revocation type: only the user's denies go
 * (an allow stays).  APR_SUCCESS, or a purge failed. */
static apr_status_t drop_denies(int *dropped, const char *user_id,
                                const pc_ctx_t *c)
{
    apr_status_t failed = APR_SUCCESS;
    int i, j, removed;

    *dropped = 0;
    for (i = 0; g_envs && i < g_envs->nelts; i++) {
        for (j = 0; g_apps && j < g_apps->nelts; j++) {
            pc_entry_id_t id = {PC_CK_CONSENT,
                                APR_ARRAY_IDX(g_envs, i, const char *),
                                user_id,
                                APR_ARRAY_IDX(g_apps, j, const char *)};
            pc_cache_ref_t ref;
            pc_cache_entry_t e;

            pc_cache_ref_init(&ref, &id, c);
            if (pc_dcache_get(&e, &ref, c) != PC_GET_HIT || !is_deny(&e))
                continue;
            if (pc_dcache_purge_user(&removed, user_id, id.app, c) !=
                APR_SUCCESS)
                failed = APR_EGENERAL;
            else
                *dropped += removed;
        }
    }
    return failed;
}

static void apply_one(pc_revoke_result_t *res, const pc_event_t *ev,
                      const char *via, pc_counter_e counter,
                      const pc_ctx_t *c)
{
    const char *type = pc_log_safe(c->p, ev->type ? ev->type : "-", 64);
    pc_event_effect_e effect = pc_event_effect_in(g_drop, ev->type);
    const char *user;
    apr_status_t rv;
    int removed;

    if (effect == PC_EV_IGNORED || ev->user_id == NULL ||
        !pc_is_uuid(ev->user_id)) {
        pc_log(c, APLOG_DEBUG, 0, "PC00205: %s event %s%s ignored", via, type,
               effect != PC_EV_IGNORED ? " without a valid user ID" : "");
        res->ignored++;
        return;
    }
    user = pc_uuid_lower(c->p, ev->user_id);
    if (effect == PC_EV_LIFT_DENY)
        rv = drop_denies(&removed, user, c);
    else
        rv = pc_dcache_purge_user(&removed, user, NULL, c);
    if (rv != APR_SUCCESS) {
        pc_log(c, APLOG_ERR, 0,
               "PC00206: %s %s: the cached decisions of user %s could not be "
               "dropped (the decision cache failed)", via, type, user);
        res->failed++;
        return;
    }
    res->entries_removed += removed;
    res->users_dropped++;
    if (effect != PC_EV_DROP_USER)
        res->grants++;
    pc_count(counter);
    if (effect == PC_EV_LIFT_DENY)
        pc_log(c, APLOG_INFO, 0,
               "PC00144: %s %s: dropped the cached denies of user %s (%d)",
               via, type, user, removed);
    else
        pc_log(c, APLOG_INFO, 0,
               "PC00204: %s %s: dropped cached decisions of user %s%s", via,
               type, user,
               effect == PC_EV_GRANT ? " (a consent granted: it counts on "
                                       "the next request)"
                                     : "");
}

void pc_revoke_apply(pc_revoke_result_t *res,
                     const apr_array_header_t *events, const char *via,
                     pc_counter_e counter, const pc_ctx_t *c)
{
    int i;

    memset(res, 0, sizeof(*res));
    res->events = events->nelts;
    for (i = 0; i < events->nelts; i++)
        apply_one(res, APR_ARRAY_IDX(events, i, const pc_event_t *), via,
                  counter, c);
}

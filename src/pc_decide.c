/*
 * pc_decide.c - the consent decision.
 */
#include "pc_decide.h"

#include <apr_strings.h>
#include <string.h>

static apr_time_t recency(const pc_consent_t *c)
{
    return c->updated_at ? c->updated_at : c->consented_at;
}

const pc_consent_t *pc_select_consent(const apr_array_header_t *consents,
                                      const char *app_id,
                                      const char *app_name)
{
    const pc_consent_t *best = NULL;
    int i;

    if (consents == NULL)
        return NULL;
    for (i = 0; i < consents->nelts; i++) {
        const pc_consent_t *c = APR_ARRAY_IDX(consents, i, const pc_consent_t *);
        if (app_id) {
            if (c->app_id == NULL || strcasecmp(c->app_id, app_id) != 0)
                continue;
        }
        else if (app_name == NULL || c->app_name == NULL ||
                 strcmp(c->app_name, app_name) != 0) {
            continue;
        }
        /* Ties keep the first seen, but a non-ACCEPTED consent wins a tie:
         * when PingOne cannot tell us which came last, do not allow. */
        if (best == NULL || recency(c) > recency(best) ||
            (recency(c) == recency(best) && strcmp(c->status, "ACCEPTED") != 0))
            best = c;
    }
    return best;
}

static int has_scope(const apr_array_header_t *scopes, const char *want)
{
    int i;
    for (i = 0; scopes && i < scopes->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(scopes, i, const char *), want) == 0)
            return 1;
    }
    return 0;
}

void pc_decide(pc_verdict_t *v, const pc_consent_t *c,
               const apr_array_header_t *required, apr_time_t now,
               apr_pool_t *p)
{
    int i;

    memset(v, 0, sizeof(*v));
    if (c == NULL) {
        v->result = PC_DENY_NONE;
        v->reason = "deny:none";
        return;
    }
    if (c->status == NULL || strcmp(c->status, "ACCEPTED") != 0) {
        v->result = PC_DENY_STATUS;
        if (c->status && strcmp(c->status, "REVOKED") == 0)
            v->reason = "deny:revoked";
        else if (c->status && strcmp(c->status, "DECLINED") == 0)
            v->reason = "deny:declined";
        else
            v->reason = "deny:status";
        return;
    }
    if (c->expires_at && c->expires_at <= now) {
        v->result = PC_DENY_EXPIRED;
        v->reason = "deny:expired";
        return;
    }
    for (i = 0; required && i < required->nelts; i++) {
        const char *want = APR_ARRAY_IDX(required, i, const char *);
        if (!has_scope(c->scopes, want)) {
            v->result = PC_DENY_SCOPE;
            v->missing_scope = want;
            v->reason = apr_pstrcat(p, "deny:scope:", want, NULL);
            return;
        }
    }
    v->result = PC_ALLOW;
    v->reason = "allow";
}

const char *pc_scopes_join(apr_pool_t *p, const apr_array_header_t *scopes)
{
    if (scopes == NULL || scopes->nelts == 0)
        return "";
    return apr_array_pstrcat(p, scopes, ' ');
}

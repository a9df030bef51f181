/*
 * pc_decide.h - the consent decision (pure core, no httpd, no I/O).
 *
 * Two steps, so the cache can sit between them: pc_select_consent() reduces
 * what PingOne returned to the one consent that counts (the most recent for
 * the application); that summary is what gets cached.  pc_decide() then
 * judges the summary against the scopes a location requires, at request
 * time, so locations with different scope lists share one cache entry.
 */
#ifndef PC_DECIDE_H
#define PC_DECIDE_H

#include "pc_consent.h"

typedef enum {
    PC_ALLOW = 0,
    PC_DENY_NONE,      /* no consent for this application at all */
    PC_DENY_STATUS,    /* most recent consent is not ACCEPTED */
    PC_DENY_EXPIRED,   /* ACCEPTED but expiresAt is in the past */
    PC_DENY_SCOPE      /* a required scope is missing */
} pc_verdict_e;

typedef struct pc_verdict_t {
    pc_verdict_e result;
    /* For the request note: "allow", "deny:none", "deny:revoked",
     * "deny:declined", "deny:status", "deny:expired", "deny:scope:<scope>". */
    const char *reason;
    const char *missing_scope; /* PC_DENY_SCOPE only */
} pc_verdict_t;

/* From `consents` (pc_consent_t *), the most recent one (by updatedAt, then
 * consentedAt) for the application: matched by app_id when given, else by
 * app_name (exact).  Consents for other applications are ignored even if
 * the server returned them.  NULL when there is none. */
const pc_consent_t *pc_select_consent(const apr_array_header_t *consents,
                                      const char *app_id,
                                      const char *app_name);

/* Judge `c` (may be NULL) against `required` (const char *, may be NULL or
 * empty) at time `now`. Strings in the verdict are allocated from p. */
void pc_decide(pc_verdict_t *v, const pc_consent_t *c,
               const apr_array_header_t *required, apr_time_t now,
               apr_pool_t *p);

/* "a b c" from an array of const char *. */
const char *pc_scopes_join(apr_pool_t *p, const apr_array_header_t *scopes);

#endif

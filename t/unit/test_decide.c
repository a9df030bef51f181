/* Unit tests: selecting the consent that counts, and the decision. */
#include "pc_decide.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;
#define T(s) apr_time_from_sec(s)

static pc_consent_t *mk(const char *id, const char *app_id, const char *app_name,
                        const char *status, const char *scopes, apr_time_t updated,
                        apr_time_t expires)
{
    pc_consent_t *c = apr_pcalloc(p, sizeof(*c));
    char *last, *tok, *copy = apr_pstrdup(p, scopes);
    c->id = id;
    c->app_id = app_id;
    c->app_name = app_name;
    c->status = status;
    c->updated_at = updated;
    c->expires_at = expires;
    c->scopes = apr_array_make(p, 4, sizeof(const char *));
    for (tok = apr_strtok(copy, " ", &last); tok; tok = apr_strtok(NULL, " ", &last))
        APR_ARRAY_PUSH(c->scopes, const char *) = tok;
    return c;
}

static apr_array_header_t *list(int n, ...)
{
    apr_array_header_t *a = apr_array_make(p, n, sizeof(pc_consent_t *));
    va_list ap;
    va_start(ap, n);
    while (n--)
        APR_ARRAY_PUSH(a, pc_consent_t *) = va_arg(ap, pc_consent_t *);
    va_end(ap);
    return a;
}

static apr_array_header_t *req(const char *scopes)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *last, *tok, *copy = apr_pstrdup(p, scopes);
    for (tok = apr_strtok(copy, " ", &last); tok; tok = apr_strtok(NULL, " ", &last))
        APR_ARRAY_PUSH(a, const char *) = tok;
    return a;
}

#define A1 "a0000000-0000-4000-8000-000000000001"
#define A2 "a0000000-0000-4000-8000-000000000002"

int main(void)
{
    pc_verdict_t v;
    const pc_consent_t *c;
    apr_time_t now = T(1700000000);
    pc_consent_t *old_ok, *new_rev, *other_app, *same_time_rev, *same_time_ok;

    apr_initialize();
    apr_pool_create(&p, NULL);

    old_ok = mk("c1", A1, "Portal", "ACCEPTED", "openid profile", T(100), 0);
    new_rev = mk("c2", A1, "Portal", "REVOKED", "openid profile", T(200), 0);
    other_app = mk("c3", A2, "Other", "ACCEPTED", "openid profile", T(300), 0);

    ok(pc_select_consent(NULL, A1, NULL) == NULL, "no list -> none");
    ok(pc_select_consent(list(0), A1, NULL) == NULL, "empty list -> none");
    c = pc_select_consent(list(3, old_ok, new_rev, other_app), A1, NULL);
    is_str(c ? c->id : NULL, "c2", "most recent for the app wins (REVOKED)");
    c = pc_select_consent(list(3, new_rev, old_ok, other_app), A1, NULL);
    is_str(c ? c->id : NULL, "c2", "order does not matter");
    c = pc_select_consent(list(1, other_app), A1, NULL);
    ok(c == NULL, "consent for another app ignored even if returned");
    c = pc_select_consent(list(2, old_ok, other_app), NULL, "Portal");
    is_str(c ? c->id : NULL, "c1", "by name");
    c = pc_select_consent(list(1, old_ok), NULL, "portal");
    ok(c == NULL, "name match is exact");
    c = pc_select_consent(list(1, mk("c9", "A0000000-0000-4000-8000-000000000001", NULL, "ACCEPTED", "", T(1), 0)), A1, NULL);
    ok(c != NULL, "app ID match ignores case");
    same_time_ok = mk("s1", A1, NULL, "ACCEPTED", "openid", T(500), 0);
    same_time_rev = mk("s2", A1, NULL, "REVOKED", "openid", T(500), 0);
    c = pc_select_consent(list(2, same_time_ok, same_time_rev), A1, NULL);
    is_str(c ? c->id : NULL, "s2", "tie: the non-ACCEPTED one wins");
    c = pc_select_consent(list(2, same_time_rev, same_time_ok), A1, NULL);
    is_str(c ? c->id : NULL, "s2", "tie, other order: still the non-ACCEPTED one");
    {
        pc_consent_t *by_consented = mk("k1", A1, NULL, "ACCEPTED", "", 0, 0);
        pc_consent_t *by_updated = mk("k2", A1, NULL, "DECLINED", "", T(50), 0);
        by_consented->consented_at = T(60);
        c = pc_select_consent(list(2, by_consented, by_updated), A1, NULL);
        is_str(c ? c->id : NULL, "k1", "consentedAt used when updatedAt is absent");
    }

    pc_decide(&v, NULL, NULL, now, p);
    ok(v.result == PC_DENY_NONE, "no consent -> deny");
    is_str(v.reason, "deny:none", "reason deny:none");

    pc_decide(&v, old_ok, req("openid profile"), now, p);
    ok(v.result == PC_ALLOW, "ACCEPTED with all scopes -> allow");
    is_str(v.reason, "allow", "reason allow");
    pc_decide(&v, old_ok, NULL, now, p);
    ok(v.result == PC_ALLOW, "no required scopes -> allow");
    pc_decide(&v, old_ok, req(""), now, p);
    ok(v.result == PC_ALLOW, "empty required scopes -> allow");

    pc_decide(&v, old_ok, req("openid email"), now, p);
    ok(v.result == PC_DENY_SCOPE, "missing scope -> deny");
    is_str(v.reason, "deny:scope:email", "reason names the scope");
    is_str(v.missing_scope, "email", "missing scope reported");
    pc_decide(&v, old_ok, req("OPENID"), now, p);
    ok(v.result == PC_DENY_SCOPE, "scopes are case-sensitive");
    pc_decide(&v, mk("x", A1, NULL, "ACCEPTED", "", 0, 0), req("openid"), now, p);
    ok(v.result == PC_DENY_SCOPE, "consent without scopes, scope required -> deny");

    pc_decide(&v, new_rev, req("openid"), now, p);
    is_str(v.reason, "deny:revoked", "REVOKED");
    pc_decide(&v, mk("x", A1, NULL, "DECLINED", "openid", 0, 0), NULL, now, p);
    is_str(v.reason, "deny:declined", "DECLINED");
    pc_decide(&v, mk("x", A1, NULL, "accepted", "openid", 0, 0), NULL, now, p);
    ok(v.result == PC_DENY_STATUS, "status is case-sensitive (only ACCEPTED)");
    is_str(v.reason, "deny:status", "unknown status");
    pc_decide(&v, mk("x", A1, NULL, "PENDING", "openid", 0, 0), NULL, now, p);
    ok(v.result == PC_DENY_STATUS, "unknown status denies");

    pc_decide(&v, mk("x", A1, NULL, "ACCEPTED", "openid", 0, now - 1), NULL, now, p);
    is_str(v.reason, "deny:expired", "expired a microsecond ago");
    pc_decide(&v, mk("x", A1, NULL, "ACCEPTED", "openid", 0, now), NULL, now, p);
    ok(v.result == PC_DENY_EXPIRED, "expiring exactly now counts as expired");
    pc_decide(&v, mk("x", A1, NULL, "ACCEPTED", "openid", 0, now + 1), NULL, now, p);
    ok(v.result == PC_ALLOW, "expires in the future -> allow");

    is_str(pc_scopes_join(p, old_ok->scopes), "openid profile", "scopes joined");
    is_str(pc_scopes_join(p, NULL), "", "no scopes joined");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

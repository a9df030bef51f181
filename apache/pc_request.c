/*
 * pc_request.c - the consent lookup of one request: finding the user
 * (REMOTE_USER or env:NAME, also in the request that made this one),
 * resolving a username to its ID, taking over what a subrequest's main
 * request or an internal redirect's predecessor learned, and asking the
 * lookup policy at most once per request.  The result (pc_req_state) is what `PingOneConsent On`
 * (pc_access.c) and `Require pingone-consent` (pc_authz.c) decide on.
 */
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_lookup_glue.h"
#include "pc_text.h"

#include "http_log.h"
#include "http_request.h"

#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

/* The module's state of r, made on first use. */
pc_req_state *pc_request_state(request_rec *r)
{
    pc_req_state *st =
        ap_get_module_config(r->request_config, &pingone_consent_module);

    if (st == NULL) {
        st = apr_pcalloc(r->pool, sizeof(*st));
        ap_set_module_config(r->request_config, &pingone_consent_module, st);
    }
    return st;
}

static int looked_up(const pc_req_state *st)
{
    return st->state != PC_ST_NONE && st->state != PC_ST_NOUSER;
}

/* The request that made r: a subrequest's main request, or the request an
 * internal redirect replaced. */
static request_rec *maker_of(const request_rec *r)
{
    return r->main ? r->main : r->prev;
}

/* The authenticated user as configured (REMOTE_USER or env:NAME).  The
 * variable may be set only in the request that made this one: a
 * subrequest's copy of the variables can miss later ones, and an internal
 * redirect sees them renamed REDIRECT_NAME. */
static const char *find_user(request_rec *r, const pc_dir_conf *dc)
{
    const request_rec *q;
    const char *u;

    if (dc->user_env == NULL)
        return r->user;
    for (q = r; q; q = maker_of(q))
        if ((u = apr_table_get(q->subprocess_env, dc->user_env)) != NULL)
            return u;
    return NULL;
}

static pc_req_state *bad_user(pc_req_state *st, const char *reason)
{
    st->state = PC_ST_BADUSER;
    st->reason = reason;
    return st;
}

static pc_req_state *config_error(request_rec *r, pc_req_state *st,
                                  const char *why)
{
    st->state = PC_ST_CONFIG;
    st->reason = "error:config";
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s", why);
    return st;
}

/* What the policy's outcome means for this request. */
static pc_req_state *take_outcome(pc_req_state *st, const pc_outcome_t *o)
{
    st->consent = o->consent;
    st->source = pc_source_name(o->source);
    st->err = o->err;
    st->retry_after = o->retry_after;
    switch (o->result) {
    case PC_LK_FOUND:
        st->state = PC_ST_FOUND;
        break;
    case PC_LK_UNKNOWN_USER:
        bad_user(st, "deny:unknown-user");
        break;
    case PC_LK_ERROR:
        st->state = PC_ST_ERROR;
        break;
    case PC_LK_FAIL_OPEN:
        st->state = PC_ST_FAIL_OPEN;
        break;
    }
    return st;
}

/* No user: either none authenticated (the check does not run yet), or
 * authenticated without the identity the config names. */
static pc_req_state *no_user(request_rec *r, const pc_dir_conf *dc,
                             pc_req_state *st)
{
    if (dc->user_env && r->user) {
        st->user = r->user;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "PC00109: user %s is authenticated but %s is not set "
                      "(PingOneConsentUserFrom): deny",
                      pc_log_safe(r->pool, r->user, 64), dc->user_env);
        return bad_user(st, "deny:no-user-id");
    }
    st->state = PC_ST_NOUSER;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "PC00101: no authenticated user (%s): consent check does "
                  "not run", dc->user_env ? dc->user_env : "REMOTE_USER");
    return st;
}

/* The PingOne user ID of st->user: the value itself, or resolved from a
 * username.  0 when st is settled without it. */
static int user_id_of(request_rec *r, const pc_dir_conf *dc,
                      const pc_srv_conf *sc, const pc_client_t *client,
                      pc_req_state *st)
{
    pc_outcome_t o;

    if (!dc->user_is_name) {
        if (pc_is_uuid(st->user)) {
            /* One spelling keys the cache, so a purge by ID reaches it. */
            st->user_id = pc_uuid_lower(r->pool, st->user);
            return 1;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00106: user '%s' is not a PingOne user ID (UUID "
                      "expected; see PingOneConsentUserIs): deny",
                      pc_log_safe(r->pool, st->user, 64));
        bad_user(st, "deny:bad-user");
        return 0;
    }
    if (pc_scim_quote(r->pool, st->user) == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "PC00104: user name '%s' cannot be looked up (empty, "
                      "over %d bytes, control characters or not UTF-8): deny",
                      pc_log_safe(r->pool, st->user, 64), PC_MAX_NAME_LEN);
        bad_user(st, "deny:bad-user");
        return 0;
    }
    pc_glue_lookup_user(&o, r, client, sc, st->user);
    if (o.result == PC_LK_FOUND) {
        st->user_id = o.user_id;
        return 1;
    }
    take_outcome(st, &o);
    return 0;
}

/* What the request that made this one learned about the same user and
 * application (a page's subrequests, an internal redirect): taken over
 * rather than looked up again.  Each request still reaches its own verdict
 * for its own scopes.  0 when there is nothing to take over. */
static int inherit(pc_req_state *st, request_rec *r, const pc_dir_conf *dc)
{
    const request_rec *q = maker_of(r);
    const pc_req_state *ps;

    if (q == NULL || q->server != r->server)
        return 0;
    ps = ap_get_module_config(q->request_config, &pingone_consent_module);
    if (ps == NULL || !looked_up(ps) || ps->state == PC_ST_CONFIG ||
        ps->app == NULL || strcmp(ps->app, pc_app_of(dc)) != 0 ||
        ps->user_is_name != dc->user_is_name || strcmp(ps->user, st->user))
        return 0;
    *st = *ps;
    st->reason = ps->state == PC_ST_BADUSER ? ps->reason : NULL;
    st->provider_denied = st->provider_failed = 0;
    st->gated = NULL;
    return 1;
}

pc_req_state *pc_request_lookup(request_rec *r, const pc_dir_conf *dc)
{
    pc_req_state *st = pc_request_state(r);
    const pc_srv_conf *sc = pc_srv(r->server);
    const pc_client_t *client;
    pc_lookup_key_t key;
    pc_outcome_t o;
    const char *user;

    /* "No user" is not final: mod_authz_core asks providers once before
     * authentication and again after it. */
    if (looked_up(st))
        return st;
    if ((user = find_user(r, dc)) == NULL || *user == '\0')
        return no_user(r, dc, st);
    st->user = user;
    if (!dc->app_set)
        return config_error(r, st, apr_psprintf(
            r->pool, "PC00102: consent is checked for %s but neither "
                     "PingOneConsentApplication nor "
                     "PingOneConsentApplicationName applies there",
            pc_log_safe(r->pool, r->uri, 200)));
    if ((client = pc_child_client(r->server)) == NULL)
        return config_error(r, st, apr_psprintf(
            r->pool, "PC00103: consent is checked for %s but this server "
                     "has no complete PingOne settings (PingOneEnvironmentID,"
                     " PingOneClientID, PingOneClientSecret)",
            pc_log_safe(r->pool, r->uri, 200)));
    if (inherit(st, r, dc))
        return st;
    st->app = pc_app_of(dc);
    st->user_is_name = dc->user_is_name;
    if (!user_id_of(r, dc, sc, client, st))
        return st;
    key.env_id = sc->env_id;
    key.user_id = st->user_id;
    key.app_id = dc->app_id;
    key.app_name = dc->app_name;
    key.user_label = st->user;
    pc_glue_lookup_consent(&o, r, client, sc, &key);
    return take_outcome(st, &o);
}

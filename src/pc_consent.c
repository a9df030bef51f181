/*
 * pc_consent.c - reading PingOne's JSON answers.
 *
 * Every answer goes through pc_json_read(): strict JSON in valid UTF-8,
 * parsed into a scratch pool that is dropped as soon as the reader below
 * has copied what it keeps.  The member conventions (null is absent, wrong
 * type is an error, NUL never passes, reasons never quote the body, the
 * last of duplicate keys wins) are pc_json.h's.
 */
#include "pc_consent.h"
#include "pc_json_slim.h"
#include "pc_text.h"

#include <apr_cstr.h>
#include <apr_strings.h>

#include <string.h>

#define PC_MAX_SCOPES 256
#define PC_MAX_ITEMS 1000
#define PC_MAX_TOKEN 8192
#define PC_MAX_EXPIRES_IN (86400 * 366)
#define PC_DEFAULT_EXPIRES_IN 3600

static apr_status_t fail(const char **why, const char *reason)
{
    *why = reason;
    return APR_EGENERAL;
}

/* Empty optional names and IDs read as absent. */
static const char *non_empty(const char *s)
{
    return s && *s ? s : NULL;
}

/* ---- consents ----------------------------------------------------------- */

static apr_status_t read_scopes(apr_array_header_t *scopes, pc_json_t *o,
                                apr_pool_t *p, const char **why)
{
    pc_json_t *v;
    apr_size_t i, n;

    if (pc_json_opt_array(&v, o, "scope") != APR_SUCCESS)
        return fail(why, "consent.scope is not an array of strings");
    n = pc_json_array_len(v);
    if (n > PC_MAX_SCOPES)
        return fail(why, "consent.scope has more than 256 entries");
    for (i = 0; i < n; i++) {
        const char *s = pc_json_string(pc_json_array_at(v, i));

        if (s == NULL)
            return fail(why, "consent.scope is not an array of strings");
        if (!pc_scope_token_ok(s))
            return fail(why, "consent.scope holds an invalid scope token");
        APR_ARRAY_PUSH(scopes, const char *) = apr_pstrdup(p, s);
    }
    return APR_SUCCESS;
}

/* application.{id,name}, applicationName and user.id. */
static apr_status_t read_consent_refs(pc_consent_t *c, pc_json_t *o,
                                      apr_pool_t *p, const char **why)
{
    pc_json_t *app, *user;
    const char *app_name = NULL;

    if (pc_json_opt_object(&app, o, "application") != APR_SUCCESS)
        return fail(why, "consent.application is not an object");
    if (app != NULL) {
        if (pc_json_opt_string(&c->app_id, app, "id", p) != APR_SUCCESS)
            return fail(why, "consent.application.id is not a string");
        if (pc_json_opt_string(&app_name, app, "name", p) != APR_SUCCESS)
            return fail(why, "consent.application.name is not a string");
        c->app_id = non_empty(c->app_id);
    }
    if (pc_json_opt_string(&c->app_name, o, "applicationName", p) !=
        APR_SUCCESS)
        return fail(why, "consent.applicationName is not a string");
    c->app_name = non_empty(c->app_name);
    if (c->app_name == NULL)
        c->app_name = non_empty(app_name); /* expand=applications */

    if (pc_json_opt_object(&user, o, "user") != APR_SUCCESS)
        return fail(why, "consent.user is not an object");
    if (user != NULL) {
        if (pc_json_opt_string(&c->user_id, user, "id", p) != APR_SUCCESS)
            return fail(why, "consent.user.id is not a string");
        c->user_id = non_empty(c->user_id);
    }
    return APR_SUCCESS;
}

static apr_status_t read_consent(pc_consent_t **out, pc_json_t *o,
                                 apr_pool_t *p, const char **why)
{
    pc_consent_t *c;

    if (!pc_json_is(o, PC_JSON_OBJECT))
        return fail(why, "consent is not an object");
    c = apr_pcalloc(p, sizeof(*c));
    c->scopes = apr_array_make(p, 4, sizeof(const char *));

    if (pc_json_req_string(&c->id, o, "id", p, why,
                           "consent.id is not a string",
                           "consent.id is missing or empty") != APR_SUCCESS ||
        pc_json_req_string(&c->status, o, "status", p, why,
                           "consent.status is not a string",
                           "consent.status is missing or empty") !=
            APR_SUCCESS ||
        read_consent_refs(c, o, p, why) != APR_SUCCESS ||
        read_scopes(c->scopes, o, p, why) != APR_SUCCESS)
        return APR_EGENERAL;

    if (pc_json_opt_time(&c->consented_at, o, "consentedAt") != APR_SUCCESS)
        return fail(why, "consent.consentedAt is not a valid timestamp");
    if (pc_json_opt_time(&c->updated_at, o, "updatedAt") != APR_SUCCESS)
        return fail(why, "consent.updatedAt is not a valid timestamp");
    if (pc_json_opt_time(&c->expires_at, o, "expiresAt") != APR_SUCCESS)
        return fail(why, "consent.expiresAt is not a valid timestamp");

    *out = c;
    return APR_SUCCESS;
}

static apr_status_t consent_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                                const char **why)
{
    if (!pc_json_is(doc, PC_JSON_OBJECT))
        return fail(why, "consent answer is not a JSON object");
    return read_consent(out, doc, p, why);
}

apr_status_t pc_json_parse_consent(pc_consent_t **out, const char *body,
                                   apr_size_t len, apr_pool_t *p,
                                   const char **err)
{
    *out = NULL;
    return pc_json_read(body, len, consent_doc, out, p, err);
}

/* ---- collections -------------------------------------------------------- */

typedef struct coll_spec_t {
    const char *name;         /* the key under _embedded */
    int any_single_array;     /* else: the one array under _embedded */
    const char *not_array;    /* reason: _embedded.<name> is not an array */
} coll_spec_t;

/* The item array of a collection answer, NULL when it has none. */
static apr_status_t collection_items(pc_json_t **items, pc_json_t *doc,
                                     const coll_spec_t *spec, const char **why)
{
    pc_json_t *emb;

    *items = NULL;
    if (!pc_json_is(doc, PC_JSON_OBJECT))
        return fail(why, "collection answer is not a JSON object");
    if (pc_json_opt_object(&emb, doc, "_embedded") != APR_SUCCESS)
        return fail(why, "_embedded is not an object");
    if (emb == NULL)
        return APR_SUCCESS;

    if (pc_json_member(emb, spec->name) != NULL) {
        if (pc_json_opt_array(items, emb, spec->name) != APR_SUCCESS)
            return fail(why, spec->not_array);
    }
    else if (spec->any_single_array) {
        /* Two or more arrays and none by the expected name: we cannot tell
         * which holds the items, and an empty answer would read as "no
         * consent", so call the answer unusable instead. */
        if (pc_json_arrays_in(emb, items) > 1) {
            *items = NULL;
            return fail(why, "_embedded holds several arrays and no "
                             "known collection");
        }
    }
    if (pc_json_array_len(*items) > PC_MAX_ITEMS) {
        *items = NULL;
        return fail(why, "collection has more than 1000 items");
    }
    return APR_SUCCESS;
}

static apr_status_t read_consent_list(apr_array_header_t **out,
                                      pc_json_t *doc, apr_pool_t *p,
                                      const char **why)
{
    static const coll_spec_t spec = {
        "oauthConsents", 1, "_embedded.oauthConsents is not an array"};
    pc_json_t *items;
    apr_array_header_t *list;
    apr_size_t i, n;

    if (collection_items(&items, doc, &spec, why) != APR_SUCCESS)
        return APR_EGENERAL;
    n = pc_json_array_len(items);
    list = apr_array_make(p, n ? (int)n : 1, sizeof(pc_consent_t *));
    for (i = 0; i < n; i++) {
        pc_consent_t *c;

        if (read_consent(&c, pc_json_array_at(items, i), p, why) !=
            APR_SUCCESS)
            return APR_EGENERAL;
        APR_ARRAY_PUSH(list, pc_consent_t *) = c;
    }
    *out = list;
    return APR_SUCCESS;
}

/* _links.next.href of a collection page; *next NULL on the last page.  A
 * next link of the wrong shape fails: we could not tell whether more
 * consents follow. */
static apr_status_t read_next(const char **next, pc_json_t *doc,
                              apr_pool_t *p, const char **why)
{
    pc_json_t *links, *nx;

    *next = NULL;
    if (pc_json_opt_object(&links, doc, "_links") != APR_SUCCESS)
        return fail(why, "_links is not an object");
    if (links == NULL)
        return APR_SUCCESS;
    if (pc_json_opt_object(&nx, links, "next") != APR_SUCCESS)
        return fail(why, "_links.next is not an object");
    if (nx == NULL)
        return APR_SUCCESS;
    return pc_json_req_string(next, nx, "href", p, why,
                              "_links.next.href is not a string",
                              "_links.next.href is missing or empty");
}

typedef struct page_t {
    apr_array_header_t *list;
    const char *next;
} page_t;

static apr_status_t page_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                             const char **why)
{
    page_t *page = out;
    apr_array_header_t *list;

    if (read_consent_list(&list, doc, p, why) != APR_SUCCESS ||
        read_next(&page->next, doc, p, why) != APR_SUCCESS)
        return APR_EGENERAL;
    page->list = list;
    return APR_SUCCESS;
}

/* The members of a consent the readers use (pc_json_slim.h). */
static const char *const consent_members[] = {
    "id",          "status",    "application", "applicationName", "user",
    "scope",       "consentedAt", "updatedAt", "expiresAt",       NULL};

static apr_status_t parse_page(apr_array_header_t **out, const char **next,
                               const char *body, apr_size_t len, int slim,
                               apr_pool_t *p, const char **err)
{
    page_t page = {NULL, NULL};
    apr_status_t rv =
        slim ? pc_json_read_slim(body, len, consent_members, page_doc, &page,
                                 p, err)
             : pc_json_read(body, len, page_doc, &page, p, err);

    *out = page.list;
    if (next)
        *next = rv == APR_SUCCESS ? page.next : NULL;
    return rv;
}

apr_status_t pc_json_parse_consent_page(apr_array_header_t **out,
                                        const char **next, const char *body,
                                        apr_size_t len, apr_pool_t *p,
                                        const char **err)
{
    return parse_page(out, next, body, len, 1, p, err);
}

apr_status_t pc_json_parse_consent_page_full(apr_array_header_t **out,
                                             const char **next,
                                             const char *body, apr_size_t len,
                                             apr_pool_t *p, const char **err)
{
    return parse_page(out, next, body, len, 0, p, err);
}

apr_status_t pc_json_parse_consent_list(apr_array_header_t **out,
                                        const char *body, apr_size_t len,
                                        apr_pool_t *p, const char **err)
{
    return pc_json_parse_consent_page(out, NULL, body, len, p, err);
}

static apr_status_t user_list_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                                  const char **why)
{
    static const coll_spec_t spec = {"users", 0,
                                     "_embedded.users is not an array"};
    pc_json_t *items;
    apr_array_header_t *list;
    apr_size_t i, n;

    if (collection_items(&items, doc, &spec, why) != APR_SUCCESS)
        return APR_EGENERAL;
    n = pc_json_array_len(items);
    list = apr_array_make(p, n ? (int)n : 1, sizeof(pc_user_t *));
    for (i = 0; i < n; i++) {
        pc_json_t *o = pc_json_array_at(items, i);
        pc_user_t *u;

        if (!pc_json_is(o, PC_JSON_OBJECT))
            return fail(why, "user is not an object");
        u = apr_pcalloc(p, sizeof(*u));
        if (pc_json_req_string(&u->id, o, "id", p, why,
                               "user.id is not a string",
                               "user.id is missing or empty") != APR_SUCCESS)
            return APR_EGENERAL;
        if (pc_json_opt_string(&u->username, o, "username", p) !=
            APR_SUCCESS)
            return fail(why, "user.username is not a string");
        APR_ARRAY_PUSH(list, pc_user_t *) = u;
    }
    *(apr_array_header_t **)out = list;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_user_list(apr_array_header_t **out,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p, const char **err)
{
    *out = NULL;
    return pc_json_read(body, len, user_list_doc, out, p, err);
}

/* ---- token -------------------------------------------------------------- */

/* expires_in: a JSON integer, or (tolerated) a string of digits; clamped to
 * 0 .. PC_MAX_EXPIRES_IN. */
static apr_status_t read_expires_in(apr_int64_t *out, pc_json_t *v)
{
    apr_int64_t e = 0;

    if (pc_json_int64(&e, v) != APR_SUCCESS) {
        const char *s = pc_json_string(v);

        if (s == NULL || *s == '\0')
            return APR_EGENERAL;
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return APR_EGENERAL;
            if (e <= PC_MAX_EXPIRES_IN) /* stop growing: no overflow */
                e = e * 10 + (*s - '0');
        }
    }
    *out = e < 0 ? 0 : e > PC_MAX_EXPIRES_IN ? PC_MAX_EXPIRES_IN : e;
    return APR_SUCCESS;
}

/* access_token: required, and it goes into an Authorization header:
 * printable ASCII, no spaces, at most PC_MAX_TOKEN bytes. */
static apr_status_t read_access_token(const char **out, pc_json_t *doc,
                                      apr_pool_t *p, const char **why)
{
    const unsigned char *u;

    if (pc_json_opt_string(out, doc, "access_token", p) != APR_SUCCESS)
        return fail(why, "access_token is not a string");
    if (*out == NULL)
        return fail(why, "access_token is missing");
    if (**out == '\0')
        return fail(why, "access_token is empty");
    if (strlen(*out) > PC_MAX_TOKEN)
        return fail(why, "access_token is longer than 8192 bytes");
    for (u = (const unsigned char *)*out; *u; u++) {
        if (*u < 0x21 || *u > 0x7E)
            return fail(why, "access_token holds characters not allowed in "
                             "a header");
    }
    return APR_SUCCESS;
}

static apr_status_t token_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                              const char **why)
{
    pc_token_resp_t *t;
    const char *type;
    pc_json_t *v;

    if (!pc_json_is(doc, PC_JSON_OBJECT))
        return fail(why, "token answer is not a JSON object");
    t = apr_pcalloc(p, sizeof(*t));
    if (read_access_token(&t->access_token, doc, p, why) != APR_SUCCESS)
        return APR_EGENERAL;

    if (pc_json_opt_string(&type, doc, "token_type", p) != APR_SUCCESS)
        return fail(why, "token_type is not a string");
    if (type != NULL && apr_cstr_casecmp(type, "Bearer") != 0)
        return fail(why, "token_type is not Bearer");
    t->token_type = "Bearer"; /* absent or any spelling of Bearer */

    t->expires_in = PC_DEFAULT_EXPIRES_IN;
    if ((v = pc_json_member(doc, "expires_in")) != NULL &&
        read_expires_in(&t->expires_in, v) != APR_SUCCESS)
        return fail(why, "expires_in is not an integer");

    *(pc_token_resp_t **)out = t;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_token(pc_token_resp_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    *out = NULL;
    return pc_json_read(body, len, token_doc, out, p, err);
}

/* ---- error body --------------------------------------------------------- */

/* Error bodies are read tolerantly: a field of another type, or empty,
 * reads as absent. */
static const char *loose(pc_json_t *obj, const char *key, apr_pool_t *p)
{
    return non_empty(pc_json_loose_string(obj, key, p));
}

static apr_status_t error_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                              const char **why)
{
    pc_api_error_t *e;
    pc_json_t *d0;

    if (!pc_json_is(doc, PC_JSON_OBJECT))
        return fail(why, "error body is not a JSON object");
    e = apr_pcalloc(p, sizeof(*e));
    /* PingOne's own shape, else OAuth's {"error","error_description"}
     * (the token endpoint answers that way). */
    if ((e->code = loose(doc, "code", p)) == NULL)
        e->code = loose(doc, "error", p);
    if ((e->message = loose(doc, "message", p)) == NULL)
        e->message = loose(doc, "error_description", p);
    d0 = pc_json_array_at(pc_json_member(doc, "details"), 0);
    if (pc_json_is(d0, PC_JSON_OBJECT))
        e->detail_code = loose(d0, "code", p);
    *(pc_api_error_t **)out = e;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_error(pc_api_error_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    *out = NULL;
    return pc_json_read(body, len, error_doc, out, p, err);
}

/* ---- OATH revoke job ---------------------------------------------------- */

static apr_status_t job_doc(void *out, pc_json_t *doc, apr_pool_t *p,
                            const char **why)
{
    pc_job_t *j;
    pc_json_t *result, *v;

    if (!pc_json_is(doc, PC_JSON_OBJECT))
        return fail(why, "job answer is not a JSON object");
    j = apr_pcalloc(p, sizeof(*j));
    if (pc_json_req_string(&j->id, doc, "id", p, why,
                           "job.id is not a string",
                           "job.id is missing or empty") != APR_SUCCESS ||
        pc_json_req_string(&j->status, doc, "status", p, why,
                           "job.status is not a string",
                           "job.status is missing or empty") != APR_SUCCESS)
        return APR_EGENERAL;
    /* Only the documented values, exactly; anything else is in progress. */
    if (strcmp(j->status, "DONE") == 0)
        j->state = PC_JOB_DONE;
    else if (strcmp(j->status, "FAILED") == 0)
        j->state = PC_JOB_FAILED;
    else
        j->state = PC_JOB_RUNNING;

    j->revoked = -1;
    if (pc_json_opt_object(&result, doc, "result") != APR_SUCCESS)
        return fail(why, "job.result is not an object");
    if ((v = pc_json_member(result, "revoked")) != NULL &&
        (pc_json_int64(&j->revoked, v) != APR_SUCCESS || j->revoked < 0))
        return fail(why, "job.result.revoked is not a count");
    if (pc_json_opt_string(&j->reason, doc, "reason", p) != APR_SUCCESS)
        return fail(why, "job.reason is not a string");

    *(pc_job_t **)out = j;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_job(pc_job_t **out, const char *body,
                               apr_size_t len, apr_pool_t *p,
                               const char **err)
{
    *out = NULL;
    return pc_json_read(body, len, job_doc, out, p, err);
}

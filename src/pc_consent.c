/*
 * pc_consent.c - parsing PingOne's JSON answers (the only json-c user).
 *
 * Duplicate keys: json-c keeps the last value of a key; a document with
 * duplicated "status" is therefore read by its last occurrence.  That is
 * what most JSON readers do, and it cannot turn a well-formed deny into an
 * allow by itself (an attacker able to inject keys into PingOne's answer
 * owns the answer anyway).
 */
#include "pc_consent.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <json.h>
#include <string.h>

#define PC_MAX_SCOPES 256
#define PC_MAX_ITEMS 1000

/* ---- tokenising --------------------------------------------------------- */

static apr_status_t parse_doc(json_object **out, const char *body,
                              apr_size_t len, const char **err)
{
    json_tokener *tok;
    json_object *obj;
    enum json_tokener_error jerr;
    size_t used;

    *out = NULL;
    if (body == NULL || len == 0) {
        *err = "empty body";
        return APR_EGENERAL;
    }
    if (memchr(body, '\0', len) != NULL) {
        *err = "body contains a NUL byte";
        return APR_EGENERAL;
    }
    if (len > (apr_size_t)INT32_MAX) {
        *err = "body too large";
        return APR_EGENERAL;
    }
    tok = json_tokener_new_ex(PC_JSON_MAX_DEPTH);
    if (tok == NULL) {
        *err = "out of memory";
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
#ifdef JSON_TOKENER_VALIDATE_UTF8
                                    | JSON_TOKENER_VALIDATE_UTF8
#endif
    );
    obj = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (obj == NULL || jerr != json_tokener_success) {
        if (obj)
            json_object_put(obj);
        *err = jerr == json_tokener_error_depth ? "JSON nested too deeply"
               : jerr == json_tokener_continue  ? "truncated JSON"
                                                : "invalid JSON";
        return APR_EGENERAL;
    }
    /* Only white space may follow the value. */
    for (; used < len; used++) {
        if (!apr_isspace(body[used])) {
            json_object_put(obj);
            *err = "trailing data after the JSON value";
            return APR_EGENERAL;
        }
    }
    *out = obj;
    return APR_SUCCESS;
}

/* ---- field helpers ------------------------------------------------------ */

typedef struct ctx_t {
    apr_pool_t *p;
    const char *err;
} ctx_t;

static int fail(ctx_t *c, const char *why)
{
    if (c->err == NULL)
        c->err = why;
    return -1;
}

/* A string field: 1 found (copied into *out), 0 absent or null, -1 wrong
 * type or holds a NUL byte. */
static int get_str(ctx_t *c, json_object *o, const char *key,
                   const char **out, const char *why)
{
    json_object *v;
    const char *s;
    int n;

    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return fail(c, why);
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (n < 0 || memchr(s, '\0', (size_t)n) != NULL)
        return fail(c, why);
    *out = apr_pstrmemdup(c->p, s, (apr_size_t)n);
    return 1;
}

/* An object field: 1 found, 0 absent or null, -1 wrong type. */
static int get_obj(ctx_t *c, json_object *o, const char *key,
                   json_object **out, const char *why)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return fail(c, why);
    *out = v;
    return 1;
}

static int get_time(ctx_t *c, json_object *o, const char *key,
                    apr_time_t *out, const char *why)
{
    const char *s;
    int rc = get_str(c, o, key, &s, why);
    *out = 0;
    if (rc <= 0)
        return rc;
    if (pc_parse_timestamp(out, s) != APR_SUCCESS)
        return fail(c, why);
    return 1;
}

static int scope_token_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (*u == '\0' || strlen(s) > 256)
        return 0;
    for (; *u; u++) {
        if (*u < 0x21 || *u == 0x22 || *u == 0x5c || *u > 0x7e)
            return 0;
    }
    return 1;
}

/* ---- timestamps --------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int i, v = 0;
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date. */
static long long days_from_civil(int y, int m, int d)
{
    long long era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

apr_status_t pc_parse_timestamp(apr_time_t *out, const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, usec = 0, off = 0, dim;
    const char *c;
    long long t;

    if (s == NULL || strlen(s) < 20)
        return APR_EINVAL;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
        s[16] != ':' || digits(s + 17, 2, &sec))
        return APR_EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || h > 23 || mi > 59 ||
        sec > 60)
        return APR_EINVAL;
    dim = mdays[mo - 1] +
          (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d < 1 || d > dim)
        return APR_EINVAL;
    c = s + 19;
    if (*c == '.') {
        int n = 0, scale;
        c++;
        while (apr_isdigit(c[n]))
            n++;
        if (n == 0 || n > 9)
            return APR_EINVAL;
        for (scale = 0; scale < n; scale++) {
            if (scale < 6)
                usec = usec * 10 + (c[scale] - '0');
        }
        for (; scale < 6; scale++)
            usec *= 10;
        c += n;
    }
    if ((*c == 'Z' || *c == 'z') && c[1] == '\0') {
        off = 0;
    }
    else if ((*c == '+' || *c == '-') && strlen(c) == 6 && c[3] == ':') {
        int oh, om;
        if (digits(c + 1, 2, &oh) || digits(c + 4, 2, &om) || oh > 23 ||
            om > 59)
            return APR_EINVAL;
        off = (oh * 60 + om) * 60 * (*c == '+' ? 1 : -1);
    }
    else {
        return APR_EINVAL;
    }
    t = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec -
        off;
    if (t < 0)
        return APR_EINVAL;
    *out = (apr_time_t)t * APR_USEC_PER_SEC + usec;
    return APR_SUCCESS;
}

/* ---- consents ----------------------------------------------------------- */

static pc_consent_t *read_consent(ctx_t *c, json_object *o)
{
    pc_consent_t *cs;
    json_object *app = NULL, *user = NULL, *scope;

    if (!json_object_is_type(o, json_type_object)) {
        fail(c, "consent is not an object");
        return NULL;
    }
    cs = apr_pcalloc(c->p, sizeof(*cs));
    cs->scopes = apr_array_make(c->p, 4, sizeof(const char *));
    if (get_str(c, o, "id", &cs->id, "consent.id is not a string") <= 0 ||
        *cs->id == '\0') {
        fail(c, "consent.id is missing or empty");
        return NULL;
    }
    if (get_str(c, o, "status", &cs->status,
                "consent.status is not a string") <= 0 ||
        *cs->status == '\0') {
        fail(c, "consent.status is missing or empty");
        return NULL;
    }
    if (get_obj(c, o, "application", &app,
                "consent.application is not an object") < 0 ||
        (app && (get_str(c, app, "id", &cs->app_id,
                         "consent.application.id is not a string") < 0)))
        return NULL;
    if (get_str(c, o, "applicationName", &cs->app_name,
                "consent.applicationName is not a string") < 0)
        return NULL;
    if (cs->app_name == NULL && app &&
        get_str(c, app, "name", &cs->app_name,
                "consent.application.name is not a string") < 0)
        return NULL;
    if (get_obj(c, o, "user", &user, "consent.user is not an object") < 0 ||
        (user && get_str(c, user, "id", &cs->user_id,
                         "consent.user.id is not a string") < 0))
        return NULL;
    if (json_object_object_get_ex(o, "scope", &scope) && scope != NULL) {
        size_t i, n;
        if (!json_object_is_type(scope, json_type_array)) {
            fail(c, "consent.scope is not an array of strings");
            return NULL;
        }
        n = json_object_array_length(scope);
        if (n > PC_MAX_SCOPES) {
            fail(c, "consent.scope has more than 256 entries");
            return NULL;
        }
        for (i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(scope, i);
            const char *s;
            int len;
            if (e == NULL || !json_object_is_type(e, json_type_string)) {
                fail(c, "consent.scope is not an array of strings");
                return NULL;
            }
            s = json_object_get_string(e);
            len = json_object_get_string_len(e);
            if (len < 0 || memchr(s, '\0', (size_t)len) || !scope_token_ok(s)) {
                fail(c, "consent.scope holds an invalid scope token");
                return NULL;
            }
            APR_ARRAY_PUSH(cs->scopes, const char *) =
                apr_pstrmemdup(c->p, s, (apr_size_t)len);
        }
    }
    if (get_time(c, o, "consentedAt", &cs->consented_at,
                 "consent.consentedAt is not a valid timestamp") < 0 ||
        get_time(c, o, "updatedAt", &cs->updated_at,
                 "consent.updatedAt is not a valid timestamp") < 0 ||
        get_time(c, o, "expiresAt", &cs->expires_at,
                 "consent.expiresAt is not a valid timestamp") < 0)
        return NULL;
    return cs;
}

apr_status_t pc_json_parse_consent(pc_consent_t **out, const char *body,
                                   apr_size_t len, apr_pool_t *p,
                                   const char **err)
{
    json_object *doc;
    ctx_t c = {p, NULL};
    apr_status_t rv = parse_doc(&doc, body, len, err);

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    *out = read_consent(&c, doc);
    json_object_put(doc);
    if (*out == NULL) {
        *err = c.err ? c.err : "invalid consent";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The items of a collection: _embedded.<name>, or else the single array
 * under _embedded.  *items NULL (and success) when there are none. */
static int embedded_items(ctx_t *c, json_object *doc, const char *name,
                          json_object **items)
{
    json_object *emb;
    int rc;

    *items = NULL;
    if (!json_object_is_type(doc, json_type_object))
        return fail(c, "answer is not a JSON object");
    if ((rc = get_obj(c, doc, "_embedded", &emb,
                      "_embedded is not an object")) <= 0)
        return rc;
    if (json_object_object_get_ex(emb, name, items) && *items != NULL) {
        if (!json_object_is_type(*items, json_type_array))
            return fail(c, "_embedded collection is not an array");
    }
    else {
        int arrays = 0;
        json_object_object_foreach(emb, k, v)
        {
            (void)k;
            if (v && json_object_is_type(v, json_type_array)) {
                *items = v;
                arrays++;
            }
        }
        if (arrays != 1)
            *items = NULL;
    }
    if (*items && json_object_array_length(*items) > PC_MAX_ITEMS)
        return fail(c, "collection has more than 1000 items");
    return 0;
}

apr_status_t pc_json_parse_consent_list(apr_array_header_t **out,
                                        const char *body, apr_size_t len,
                                        apr_pool_t *p, const char **err)
{
    json_object *doc, *items;
    ctx_t c = {p, NULL};
    apr_status_t rv = parse_doc(&doc, body, len, err);
    size_t i, n;

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    if (embedded_items(&c, doc, "oauthConsents", &items) < 0)
        goto bad;
    n = items ? json_object_array_length(items) : 0;
    *out = apr_array_make(p, (int)(n ? n : 1), sizeof(pc_consent_t *));
    for (i = 0; i < n; i++) {
        pc_consent_t *cs = read_consent(&c, json_object_array_get_idx(items, i));
        if (cs == NULL)
            goto bad;
        APR_ARRAY_PUSH(*out, pc_consent_t *) = cs;
    }
    json_object_put(doc);
    return APR_SUCCESS;
bad:
    json_object_put(doc);
    *out = NULL;
    *err = c.err ? c.err : "invalid consent collection";
    return APR_EGENERAL;
}

apr_status_t pc_json_parse_user_list(apr_array_header_t **out,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p, const char **err)
{
    json_object *doc, *items;
    ctx_t c = {p, NULL};
    apr_status_t rv = parse_doc(&doc, body, len, err);
    size_t i, n;

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    if (embedded_items(&c, doc, "users", &items) < 0)
        goto bad;
    n = items ? json_object_array_length(items) : 0;
    *out = apr_array_make(p, (int)(n ? n : 1), sizeof(pc_user_t *));
    for (i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(items, i);
        pc_user_t *u = apr_pcalloc(p, sizeof(*u));
        if (o == NULL || !json_object_is_type(o, json_type_object)) {
            fail(&c, "user is not an object");
            goto bad;
        }
        if (get_str(&c, o, "id", &u->id, "user.id is not a string") <= 0) {
            fail(&c, "user.id is missing");
            goto bad;
        }
        if (get_str(&c, o, "username", &u->username,
                    "user.username is not a string") < 0)
            goto bad;
        APR_ARRAY_PUSH(*out, pc_user_t *) = u;
    }
    json_object_put(doc);
    return APR_SUCCESS;
bad:
    json_object_put(doc);
    *out = NULL;
    *err = c.err ? c.err : "invalid user collection";
    return APR_EGENERAL;
}

/* ---- token, error, job -------------------------------------------------- */

apr_status_t pc_json_parse_token(pc_token_resp_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    json_object *doc, *v;
    ctx_t c = {p, NULL};
    pc_token_resp_t *t;
    apr_status_t rv = parse_doc(&doc, body, len, err);
    const unsigned char *u;

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    t = apr_pcalloc(p, sizeof(*t));
    t->expires_in = 3600;
    if (!json_object_is_type(doc, json_type_object)) {
        fail(&c, "token answer is not a JSON object");
        goto bad;
    }
    if (get_str(&c, doc, "access_token", &t->access_token,
                "access_token is not a string") <= 0) {
        fail(&c, "access_token is missing");
        goto bad;
    }
    if (*t->access_token == '\0' || strlen(t->access_token) > 8192) {
        fail(&c, "access_token is empty or longer than 8192 bytes");
        goto bad;
    }
    for (u = (const unsigned char *)t->access_token; *u; u++) {
        if (*u < 0x21 || *u > 0x7e) {
            fail(&c, "access_token holds characters not allowed in a header");
            goto bad;
        }
    }
    if (get_str(&c, doc, "token_type", &t->token_type,
                "token_type is not a string") < 0)
        goto bad;
    if (t->token_type && strcasecmp(t->token_type, "Bearer") != 0) {
        fail(&c, "token_type is not Bearer");
        goto bad;
    }
    if (json_object_object_get_ex(doc, "expires_in", &v) && v != NULL) {
        apr_int64_t e;
        if (json_object_is_type(v, json_type_int)) {
            e = json_object_get_int64(v);
        }
        else if (json_object_is_type(v, json_type_string)) {
            const char *s = json_object_get_string(v), *d;
            if (*s == '\0' || strlen(s) > 12) {
                fail(&c, "expires_in is not an integer");
                goto bad;
            }
            for (d = s; *d; d++) {
                if (!apr_isdigit(*d)) {
                    fail(&c, "expires_in is not an integer");
                    goto bad;
                }
            }
            e = apr_atoi64(s);
        }
        else {
            fail(&c, "expires_in is not an integer");
            goto bad;
        }
        if (e < 0)
            e = 0;
        if (e > 86400LL * 366)
            e = 86400LL * 366;
        t->expires_in = e;
    }
    json_object_put(doc);
    *out = t;
    return APR_SUCCESS;
bad:
    json_object_put(doc);
    *err = c.err;
    return APR_EGENERAL;
}

apr_status_t pc_json_parse_error(pc_api_error_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    json_object *doc, *details;
    pc_api_error_t *e;
    ctx_t c = {p, NULL};
    apr_status_t rv = parse_doc(&doc, body, len, err);

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    if (!json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        *err = "error body is not a JSON object";
        return APR_EGENERAL;
    }
    e = apr_pcalloc(p, sizeof(*e));
    /* Tolerant: fields of another type are ignored (get_str fails only
     * for this field; its result is dropped). */
    if (get_str(&c, doc, "code", &e->code, "") < 0)
        e->code = NULL;
    if (e->code == NULL && get_str(&c, doc, "error", &e->code, "") < 0)
        e->code = NULL; /* OAuth's {"error": ...} */
    if (get_str(&c, doc, "message", &e->message, "") < 0)
        e->message = NULL;
    if (e->message == NULL &&
        get_str(&c, doc, "error_description", &e->message, "") < 0)
        e->message = NULL;
    if (json_object_object_get_ex(doc, "details", &details) && details &&
        json_object_is_type(details, json_type_array) &&
        json_object_array_length(details) > 0) {
        json_object *d0 = json_object_array_get_idx(details, 0);
        if (d0 && json_object_is_type(d0, json_type_object) &&
            get_str(&c, d0, "code", &e->detail_code, "") < 0)
            e->detail_code = NULL;
    }
    json_object_put(doc);
    *out = e;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_job(pc_job_t **out, const char *body,
                               apr_size_t len, apr_pool_t *p,
                               const char **err)
{
    json_object *doc, *result, *v;
    ctx_t c = {p, NULL};
    pc_job_t *j;
    apr_status_t rv = parse_doc(&doc, body, len, err);

    *out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    j = apr_pcalloc(p, sizeof(*j));
    j->revoked = -1;
    if (!json_object_is_type(doc, json_type_object)) {
        fail(&c, "job answer is not a JSON object");
        goto bad;
    }
    if (get_str(&c, doc, "id", &j->id, "job.id is not a string") <= 0 ||
        get_str(&c, doc, "status", &j->status,
                "job.status is not a string") <= 0) {
        fail(&c, "job.id or job.status is missing");
        goto bad;
    }
    j->state = strcmp(j->status, "DONE") == 0     ? PC_JOB_DONE
               : strcmp(j->status, "FAILED") == 0 ? PC_JOB_FAILED
                                                  : PC_JOB_RUNNING;
    if (get_obj(&c, doc, "result", &result, "job.result is not an object") <
        0)
        goto bad;
    if (result && json_object_object_get_ex(result, "revoked", &v) && v) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0) {
            fail(&c, "job.result.revoked is not a count");
            goto bad;
        }
        j->revoked = json_object_get_int64(v);
    }
    if (get_str(&c, doc, "reason", &j->reason, "job.reason is not a string") <
        0)
        goto bad;
    json_object_put(doc);
    *out = j;
    return APR_SUCCESS;
bad:
    json_object_put(doc);
    *err = c.err;
    return APR_EGENERAL;
}

/*
 * pc_consent.c - reading PingOne's JSON answers (the only json-c user).
 *
 * Two layers.  check_text() first makes sure the bytes are strict JSON text
 * in valid UTF-8: json-c 0.16's "strict" mode still takes single-quoted
 * strings, NaN/-Infinity and raw control characters in strings, and its
 * UTF-8 check lets overlong forms, surrogates and code points above
 * U+10FFFF through.  json-c then builds the tree (depth-limited, strict,
 * with its own UTF-8 check as well), and the readers below walk it.
 *
 * Conventions of the readers:
 *  - JSON null counts as an absent field (APIs often write null for "not
 *    set"); a required field that is null is therefore "missing".
 *  - Any NUL in a JSON string (written \u0000) makes the whole document
 *    invalid: our strings are C strings, and a key or value that is cut
 *    short at a NUL could read as something else.
 *  - Reasons given in *err are static strings naming fields only; they
 *    never quote the body, so they are safe to log.
 *  - Duplicate keys: json-c keeps the last value of a repeated key, so
 *    {"status":"REVOKED","status":"ACCEPTED"} reads as ACCEPTED (and the
 *    first value is freed, no leak).  RFC 8259 leaves this open, PingOne
 *    does not repeat keys, and whoever can write PingOne's answer decides
 *    the consent anyway; a wrongly typed value that is overridden by a later
 *    duplicate is never seen.
 */
#include "pc_consent.h"
#include "pc_parse.h"
#include "pc_text.h"

#include <apr_cstr.h>
#include <apr_strings.h>

#include <json.h>
#include <string.h>

#define PC_MAX_SCOPES 256
#define PC_MAX_ITEMS 1000
#define PC_MAX_TOKEN 8192
#define PC_MAX_EXPIRES_IN (86400 * 366)
#define PC_DEFAULT_EXPIRES_IN 3600

/* json_tokener_parse_ex() takes an int length: larger bodies are fed in
 * pieces.  Overridable so the tests can exercise the piecewise path. */
#ifndef PC_JSON_FEED_MAX
#define PC_JSON_FEED_MAX (1 << 30)
#endif

static apr_status_t fail(const char **why, const char *reason)
{
    *why = reason;
    return APR_EGENERAL;
}

/* Hand the outcome to the caller's err (which may be NULL). */
static apr_status_t finish(apr_status_t rv, const char **err, const char *why)
{
    if (err != NULL)
        *err = rv == APR_SUCCESS ? NULL : (why ? why : "invalid answer");
    return rv;
}

/* ---- JSON text ---------------------------------------------------------- */

static int utf8_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

/* Bytes that may appear outside strings in JSON text: white space,
 * structure, numbers and the letters of true/false/null.  Everything else
 * there (quotes ', comments, NaN, Infinity, a BOM, ...) is not JSON. */
static int json_outside_ok(unsigned char c)
{
    return c != '\0' && strchr(" \t\n\r{}[],:0123456789+-.eEtrufalsn", c);
}

/* A lexical pass over the whole body: no NUL byte, valid UTF-8 in strings,
 * no raw control characters in strings, no \u0000 escape, and nothing
 * outside strings that JSON does not allow.  Structure is json-c's job. */
static const char *check_text(const char *body, apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)body;
    apr_size_t i = 0, n;
    int in_str = 0, esc = 0;

    while (i < len) {
        unsigned char c = s[i];

        if (c == '\0')
            return "body contains a NUL byte";
        if (!in_str) {
            if (c == '"')
                in_str = 1;
            else if (!json_outside_ok(c))
                return "invalid JSON";
            i++;
        }
        else if (esc) {
            esc = 0;
            if (c == 'u' && len - i > 4 && memcmp(s + i + 1, "0000", 4) == 0)
                return "JSON string contains a NUL character";
            if (c < 0x21 || c > 0x7E)
                return "invalid JSON";
            i++;
        }
        else if (c == '"') {
            in_str = 0;
            i++;
        }
        else if (c == '\\') {
            esc = 1;
            i++;
        }
        else if (c < 0x20) {
            return "JSON string contains a control character";
        }
        else if ((n = pc_utf8_char(body + i, len - i)) == 0) {
            return "body is not valid UTF-8";
        }
        else {
            i += n;
        }
    }
    return NULL;
}

/* Parse exactly len bytes into one JSON value.  On success *doc may be NULL
 * (the text "null"); callers check the type they want. */
static apr_status_t parse_doc(json_object **doc, const char *body,
                              apr_size_t len, const char **why)
{
    json_tokener *tok;
    json_object *obj = NULL;
    enum json_tokener_error jerr = json_tokener_continue;
    apr_size_t off = 0;
    const char *bad;

    *doc = NULL;
    if (body == NULL || len == 0)
        return fail(why, "empty body");
    if ((bad = check_text(body, len)) != NULL)
        return fail(why, bad);
    if ((tok = json_tokener_new_ex(PC_JSON_MAX_DEPTH)) == NULL)
        return fail(why, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
#ifdef JSON_TOKENER_VALIDATE_UTF8
                                    | JSON_TOKENER_VALIDATE_UTF8
#endif
    );
    while (off < len) {
        apr_size_t n = len - off;

        if (n > (apr_size_t)PC_JSON_FEED_MAX) {
            /* json-c's UTF-8 check does not carry a character across
             * pieces: cut between characters (the text is valid UTF-8). */
            n = PC_JSON_FEED_MAX;
            while (n > 0 && utf8_cont(body[off + n]))
                n--;
            if (n == 0) {
                n = PC_JSON_FEED_MAX;
                while (off + n < len && utf8_cont(body[off + n]))
                    n++;
            }
        }
        obj = json_tokener_parse_ex(tok, body + off, (int)n);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_continue) {
            off += json_tokener_get_parse_end(tok);
            break;
        }
        off += n;
    }
    if (jerr == json_tokener_continue) {
        /* Everything was fed and the value is still open: either it is
         * truncated, or it is a bare number/literal that only ends with the
         * input.  A NUL byte tells json-c that the input has ended. */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        json_object_put(obj);
        switch (jerr) {
        case json_tokener_error_depth:
            return fail(why, "JSON nested too deeply");
        case json_tokener_continue:
        case json_tokener_error_parse_eof:
            return fail(why, "truncated JSON");
        case json_tokener_error_parse_utf8_string:
            return fail(why, "body is not valid UTF-8");
        default:
            return fail(why, "invalid JSON");
        }
    }
    /* Strict json-c already refuses most trailing data; this also covers a
     * value that ended exactly at a piece boundary. */
    for (; off < len; off++) {
        if (!strchr(" \t\n\r", body[off])) {
            json_object_put(obj);
            return fail(why, "invalid JSON: data after the value");
        }
    }
    *doc = obj;
    return APR_SUCCESS;
}

/* ---- members ------------------------------------------------------------ */

/* The value of key in obj; NULL when absent or JSON null. */
static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

/* The C string of a JSON string (owned by json-c), or NULL when v is not a
 * string or holds a NUL. */
static const char *cstr(json_object *v)
{
    const char *s;
    int n;

    if (!json_object_is_type(v, json_type_string))
        return NULL;
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (s == NULL || n < 0 || memchr(s, '\0', (size_t)n) != NULL)
        return NULL;
    return s;
}

/* Optional string member copied into the pool: *out NULL when absent.
 * APR_EGENERAL when present with another type. */
static apr_status_t opt_string(const char **out, json_object *obj,
                               const char *key, apr_pool_t *p)
{
    json_object *v = member(obj, key);
    const char *s;

    *out = NULL;
    if (v == NULL)
        return APR_SUCCESS;
    if ((s = cstr(v)) == NULL)
        return APR_EGENERAL;
    *out = apr_pstrmemdup(p, s, (apr_size_t)json_object_get_string_len(v));
    return APR_SUCCESS;
}

/* Required non-empty string member. */
static apr_status_t req_string(const char **out, json_object *obj,
                               const char *key, apr_pool_t *p,
                               const char **why, const char *why_type,
                               const char *why_missing)
{
    if (opt_string(out, obj, key, p) != APR_SUCCESS)
        return fail(why, why_type);
    if (*out == NULL || **out == '\0')
        return fail(why, why_missing);
    return APR_SUCCESS;
}

/* Optional object member: *out NULL when absent. */
static apr_status_t opt_object(json_object **out, json_object *obj,
                               const char *key)
{
    json_object *v = member(obj, key);

    *out = NULL;
    if (v == NULL)
        return APR_SUCCESS;
    if (!json_object_is_type(v, json_type_object))
        return APR_EGENERAL;
    *out = v;
    return APR_SUCCESS;
}

/* Optional timestamp member: *out 0 when absent. */
static apr_status_t opt_time(apr_time_t *out, json_object *obj,
                             const char *key)
{
    json_object *v = member(obj, key);
    const char *s;

    *out = 0;
    if (v == NULL)
        return APR_SUCCESS;
    if ((s = cstr(v)) == NULL)
        return APR_EGENERAL;
    return pc_parse_timestamp(out, s) == APR_SUCCESS ? APR_SUCCESS
                                                     : APR_EGENERAL;
}

/* ---- consents ----------------------------------------------------------- */

static apr_status_t read_scopes(apr_array_header_t *scopes, json_object *o,
                                apr_pool_t *p, const char **why)
{
    json_object *v = member(o, "scope");
    size_t i, n;

    if (v == NULL)
        return APR_SUCCESS;
    if (!json_object_is_type(v, json_type_array))
        return fail(why, "consent.scope is not an array of strings");
    n = json_object_array_length(v);
    if (n > PC_MAX_SCOPES)
        return fail(why, "consent.scope has more than 256 entries");
    for (i = 0; i < n; i++) {
        const char *s = cstr(json_object_array_get_idx(v, i));

        if (s == NULL)
            return fail(why, "consent.scope is not an array of strings");
        if (!pc_scope_token_ok(s))
            return fail(why, "consent.scope holds an invalid scope token");
        APR_ARRAY_PUSH(scopes, const char *) = apr_pstrdup(p, s);
    }
    return APR_SUCCESS;
}

/* Empty optional names and IDs read as absent. */
static const char *non_empty(const char *s)
{
    return s && *s ? s : NULL;
}

static apr_status_t read_consent(pc_consent_t **out, json_object *o,
                                 apr_pool_t *p, const char **why)
{
    pc_consent_t *c;
    json_object *app, *user;
    const char *app_name = NULL;

    if (!json_object_is_type(o, json_type_object))
        return fail(why, "consent is not an object");
    c = apr_pcalloc(p, sizeof(*c));
    c->scopes = apr_array_make(p, 4, sizeof(const char *));

    if (req_string(&c->id, o, "id", p, why, "consent.id is not a string",
                   "consent.id is missing or empty") != APR_SUCCESS ||
        req_string(&c->status, o, "status", p, why,
                   "consent.status is not a string",
                   "consent.status is missing or empty") != APR_SUCCESS)
        return APR_EGENERAL;

    if (opt_object(&app, o, "application") != APR_SUCCESS)
        return fail(why, "consent.application is not an object");
    if (app != NULL) {
        if (opt_string(&c->app_id, app, "id", p) != APR_SUCCESS)
            return fail(why, "consent.application.id is not a string");
        if (opt_string(&app_name, app, "name", p) != APR_SUCCESS)
            return fail(why, "consent.application.name is not a string");
        c->app_id = non_empty(c->app_id);
    }
    if (opt_string(&c->app_name, o, "applicationName", p) != APR_SUCCESS)
        return fail(why, "consent.applicationName is not a string");
    c->app_name = non_empty(c->app_name);
    if (c->app_name == NULL)
        c->app_name = non_empty(app_name); /* expand=applications */

    if (opt_object(&user, o, "user") != APR_SUCCESS)
        return fail(why, "consent.user is not an object");
    if (user != NULL) {
        if (opt_string(&c->user_id, user, "id", p) != APR_SUCCESS)
            return fail(why, "consent.user.id is not a string");
        c->user_id = non_empty(c->user_id);
    }

    if (read_scopes(c->scopes, o, p, why) != APR_SUCCESS)
        return APR_EGENERAL;

    if (opt_time(&c->consented_at, o, "consentedAt") != APR_SUCCESS)
        return fail(why, "consent.consentedAt is not a valid timestamp");
    if (opt_time(&c->updated_at, o, "updatedAt") != APR_SUCCESS)
        return fail(why, "consent.updatedAt is not a valid timestamp");
    if (opt_time(&c->expires_at, o, "expiresAt") != APR_SUCCESS)
        return fail(why, "consent.expiresAt is not a valid timestamp");

    *out = c;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_consent(pc_consent_t **out, const char *body,
                                   apr_size_t len, apr_pool_t *p,
                                   const char **err)
{
    json_object *doc;
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    if (!json_object_is_type(doc, json_type_object))
        rv = fail(&why, "consent answer is not a JSON object");
    else
        rv = read_consent(out, doc, p, &why);
    json_object_put(doc);
    if (rv != APR_SUCCESS)
        *out = NULL;
    return finish(rv, err, why);
}

/* ---- collections -------------------------------------------------------- */

typedef struct coll_spec_t {
    const char *name;         /* the key under _embedded */
    int any_single_array;     /* else: the one array under _embedded */
    const char *not_array;    /* reason: _embedded.<name> is not an array */
} coll_spec_t;

/* The item array of a collection answer, NULL when it has none. */
static apr_status_t collection_items(json_object **items, json_object *doc,
                                     const coll_spec_t *spec, const char **why)
{
    json_object *emb, *v;

    *items = NULL;
    if (!json_object_is_type(doc, json_type_object))
        return fail(why, "collection answer is not a JSON object");
    if (opt_object(&emb, doc, "_embedded") != APR_SUCCESS)
        return fail(why, "_embedded is not an object");
    if (emb == NULL)
        return APR_SUCCESS;

    if ((v = member(emb, spec->name)) != NULL) {
        if (!json_object_is_type(v, json_type_array))
            return fail(why, spec->not_array);
        *items = v;
    }
    else if (spec->any_single_array) {
        int arrays = 0;

        json_object_object_foreach(emb, key, val)
        {
            (void)key;
            if (val != NULL && json_object_is_type(val, json_type_array)) {
                *items = val;
                arrays++;
            }
        }
        /* Two or more arrays and none by the expected name: we cannot tell
         * which holds the items, and an empty answer would read as "no
         * consent", so call the answer unusable instead. */
        if (arrays > 1) {
            *items = NULL;
            return fail(why, "_embedded holds several arrays and no "
                             "known collection");
        }
    }
    if (*items != NULL && json_object_array_length(*items) > PC_MAX_ITEMS)
        return fail(why, "collection has more than 1000 items");
    return APR_SUCCESS;
}

static apr_status_t read_consent_list(apr_array_header_t **out,
                                      json_object *doc, apr_pool_t *p,
                                      const char **why)
{
    static const coll_spec_t spec = {
        "oauthConsents", 1, "_embedded.oauthConsents is not an array"};
    json_object *items;
    apr_array_header_t *list;
    size_t i, n;

    if (collection_items(&items, doc, &spec, why) != APR_SUCCESS)
        return APR_EGENERAL;
    n = items ? json_object_array_length(items) : 0;
    list = apr_array_make(p, n ? (int)n : 1, sizeof(pc_consent_t *));
    for (i = 0; i < n; i++) {
        pc_consent_t *c;

        if (read_consent(&c, json_object_array_get_idx(items, i), p, why) !=
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
static apr_status_t read_next(const char **next, json_object *doc,
                              apr_pool_t *p, const char **why)
{
    json_object *links, *nx;

    *next = NULL;
    if (opt_object(&links, doc, "_links") != APR_SUCCESS)
        return fail(why, "_links is not an object");
    if (links == NULL)
        return APR_SUCCESS;
    if (opt_object(&nx, links, "next") != APR_SUCCESS)
        return fail(why, "_links.next is not an object");
    if (nx == NULL)
        return APR_SUCCESS;
    return req_string(next, nx, "href", p, why,
                      "_links.next.href is not a string",
                      "_links.next.href is missing or empty");
}

apr_status_t pc_json_parse_consent_page(apr_array_header_t **out,
                                        const char **next, const char *body,
                                        apr_size_t len, apr_pool_t *p,
                                        const char **err)
{
    json_object *doc;
    const char *why = NULL, *nx = NULL;
    apr_status_t rv;

    *out = NULL;
    if (next)
        *next = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    rv = read_consent_list(out, doc, p, &why);
    if (rv == APR_SUCCESS)
        rv = read_next(&nx, doc, p, &why);
    json_object_put(doc);
    if (rv != APR_SUCCESS)
        *out = NULL;
    else if (next)
        *next = nx;
    return finish(rv, err, why);
}

apr_status_t pc_json_parse_consent_list(apr_array_header_t **out,
                                        const char *body, apr_size_t len,
                                        apr_pool_t *p, const char **err)
{
    return pc_json_parse_consent_page(out, NULL, body, len, p, err);
}

static apr_status_t read_user_list(apr_array_header_t **out, json_object *doc,
                                   apr_pool_t *p, const char **why)
{
    static const coll_spec_t spec = {"users", 0,
                                     "_embedded.users is not an array"};
    json_object *items;
    apr_array_header_t *list;
    size_t i, n;

    if (collection_items(&items, doc, &spec, why) != APR_SUCCESS)
        return APR_EGENERAL;
    n = items ? json_object_array_length(items) : 0;
    list = apr_array_make(p, n ? (int)n : 1, sizeof(pc_user_t *));
    for (i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(items, i);
        pc_user_t *u;

        if (!json_object_is_type(o, json_type_object))
            return fail(why, "user is not an object");
        u = apr_pcalloc(p, sizeof(*u));
        if (req_string(&u->id, o, "id", p, why, "user.id is not a string",
                       "user.id is missing or empty") != APR_SUCCESS)
            return APR_EGENERAL;
        if (opt_string(&u->username, o, "username", p) != APR_SUCCESS)
            return fail(why, "user.username is not a string");
        APR_ARRAY_PUSH(list, pc_user_t *) = u;
    }
    *out = list;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_user_list(apr_array_header_t **out,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p, const char **err)
{
    json_object *doc;
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    rv = read_user_list(out, doc, p, &why);
    json_object_put(doc);
    if (rv != APR_SUCCESS)
        *out = NULL;
    return finish(rv, err, why);
}

/* ---- token -------------------------------------------------------------- */

/* expires_in: a JSON integer, or (tolerated) a string of digits; clamped to
 * 0 .. PC_MAX_EXPIRES_IN. */
static apr_status_t read_expires_in(apr_int64_t *out, json_object *v)
{
    apr_int64_t e = 0;

    if (json_object_is_type(v, json_type_int)) {
        e = json_object_get_int64(v); /* json-c saturates at INT64_MIN/MAX */
    }
    else {
        const char *s = cstr(v);

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

static apr_status_t read_token(pc_token_resp_t **out, json_object *doc,
                               apr_pool_t *p, const char **why)
{
    pc_token_resp_t *t;
    const char *type;
    const unsigned char *u;
    json_object *v;

    if (!json_object_is_type(doc, json_type_object))
        return fail(why, "token answer is not a JSON object");
    t = apr_pcalloc(p, sizeof(*t));

    if (opt_string(&t->access_token, doc, "access_token", p) != APR_SUCCESS)
        return fail(why, "access_token is not a string");
    if (t->access_token == NULL)
        return fail(why, "access_token is missing");
    if (*t->access_token == '\0')
        return fail(why, "access_token is empty");
    if (strlen(t->access_token) > PC_MAX_TOKEN)
        return fail(why, "access_token is longer than 8192 bytes");
    /* It goes into an Authorization header: printable ASCII, no spaces. */
    for (u = (const unsigned char *)t->access_token; *u; u++) {
        if (*u < 0x21 || *u > 0x7E)
            return fail(why, "access_token holds characters not allowed in "
                             "a header");
    }

    if (opt_string(&type, doc, "token_type", p) != APR_SUCCESS)
        return fail(why, "token_type is not a string");
    if (type != NULL && apr_cstr_casecmp(type, "Bearer") != 0)
        return fail(why, "token_type is not Bearer");
    t->token_type = "Bearer"; /* absent or any spelling of Bearer */

    t->expires_in = PC_DEFAULT_EXPIRES_IN;
    if ((v = member(doc, "expires_in")) != NULL &&
        read_expires_in(&t->expires_in, v) != APR_SUCCESS)
        return fail(why, "expires_in is not an integer");

    *out = t;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_token(pc_token_resp_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    json_object *doc;
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    rv = read_token(out, doc, p, &why);
    json_object_put(doc);
    if (rv != APR_SUCCESS)
        *out = NULL;
    return finish(rv, err, why);
}

/* ---- error body --------------------------------------------------------- */

/* A string member, or NULL when absent, empty or of another type: error
 * bodies are read tolerantly. */
static const char *loose_string(json_object *obj, const char *key,
                                apr_pool_t *p)
{
    const char *s;

    if (opt_string(&s, obj, key, p) != APR_SUCCESS)
        return NULL;
    return non_empty(s);
}

apr_status_t pc_json_parse_error(pc_api_error_t **out, const char *body,
                                 apr_size_t len, apr_pool_t *p,
                                 const char **err)
{
    json_object *doc, *details, *d0;
    pc_api_error_t *e;
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    if (!json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        return finish(APR_EGENERAL, err, "error body is not a JSON object");
    }
    e = apr_pcalloc(p, sizeof(*e));
    /* PingOne's own shape, else OAuth's {"error","error_description"}
     * (the token endpoint answers that way). */
    if ((e->code = loose_string(doc, "code", p)) == NULL)
        e->code = loose_string(doc, "error", p);
    if ((e->message = loose_string(doc, "message", p)) == NULL)
        e->message = loose_string(doc, "error_description", p);
    details = member(doc, "details");
    if (details != NULL && json_object_is_type(details, json_type_array) &&
        json_object_array_length(details) > 0) {
        d0 = json_object_array_get_idx(details, 0);
        if (json_object_is_type(d0, json_type_object))
            e->detail_code = loose_string(d0, "code", p);
    }
    json_object_put(doc);
    *out = e;
    return finish(APR_SUCCESS, err, NULL);
}

/* ---- OATH revoke job ---------------------------------------------------- */

static apr_status_t read_job(pc_job_t **out, json_object *doc, apr_pool_t *p,
                             const char **why)
{
    pc_job_t *j;
    json_object *result, *v;

    if (!json_object_is_type(doc, json_type_object))
        return fail(why, "job answer is not a JSON object");
    j = apr_pcalloc(p, sizeof(*j));
    if (req_string(&j->id, doc, "id", p, why, "job.id is not a string",
                   "job.id is missing or empty") != APR_SUCCESS ||
        req_string(&j->status, doc, "status", p, why,
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
    if (opt_object(&result, doc, "result") != APR_SUCCESS)
        return fail(why, "job.result is not an object");
    if (result != NULL && (v = member(result, "revoked")) != NULL) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0)
            return fail(why, "job.result.revoked is not a count");
        j->revoked = json_object_get_int64(v);
    }
    if (opt_string(&j->reason, doc, "reason", p) != APR_SUCCESS)
        return fail(why, "job.reason is not a string");

    *out = j;
    return APR_SUCCESS;
}

apr_status_t pc_json_parse_job(pc_job_t **out, const char *body,
                               apr_size_t len, apr_pool_t *p,
                               const char **err)
{
    json_object *doc;
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = parse_doc(&doc, body, len, &why)) != APR_SUCCESS)
        return finish(rv, err, why);
    rv = read_job(out, doc, p, &why);
    json_object_put(doc);
    if (rv != APR_SUCCESS)
        *out = NULL;
    return finish(rv, err, why);
}

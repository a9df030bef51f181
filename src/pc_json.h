/*
 * pc_json.h - the module's one JSON layer (pure core, no httpd): a strict
 * parser for untrusted bytes, member readers with one set of conventions,
 * and a writer for everything the module answers in JSON.  pc_json.c is the
 * only file that includes json-c.
 *
 * Parsing.  pc_json_parse() takes exactly `len` bytes (no NUL terminator
 * needed, never read past `len`) and accepts only RFC 8259 JSON text in
 * strict UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF), one value with optional white space around it, nested at most
 * PC_JSON_MAX_DEPTH deep.  Refused: NUL bytes, \u0000 escapes, raw control
 * characters in strings, single quotes, comments, NaN / Infinity, a BOM,
 * trailing commas, data after the value.
 *
 * Lifetime.  A parsed document belongs to the pool it was parsed in: a pool
 * cleanup releases it, so nobody frees by hand and no error path leaks.
 * Readers that keep a few strings use pc_json_read(), which parses into a
 * scratch subpool, lets the reader copy what it keeps into the caller's
 * pool, and drops the document at once.
 *
 * Conventions of the member readers:
 *  - JSON null counts as an absent field (APIs often write null for "not
 *    set"); a required field that is null is therefore "missing".
 *  - A string holding NUL can never be read as a C string (it would be cut
 *    short and could read as something else); the parser already refuses
 *    \u0000, the readers check again.
 *  - A known field of the wrong JSON type is an error (APR_EGENERAL), not
 *    "absent" - except through pc_json_loose_string, for bodies read
 *    tolerantly.  Strings that are kept are copied into the pool given.
 *  - Reasons (*why) are static strings naming fields only; they never
 *    quote the body, so they are safe to log.
 *  - Duplicate keys: the last value of a repeated key wins, so
 *    {"status":"REVOKED","status":"ACCEPTED"} reads as ACCEPTED.  RFC 8259
 *    leaves this open, PingOne does not repeat keys, and whoever can write
 *    PingOne's answer decides the consent anyway; a wrongly typed value
 *    overridden by a later duplicate is never seen.
 */
#ifndef PC_JSON_H
#define PC_JSON_H

#include <apr_pools.h>
#include <apr_time.h>

/* Deepest nesting of arrays/objects the parser accepts and the writer
 * writes (the top-level value counts as one level).  Body size is capped by
 * whoever reads the body, not here. */
#define PC_JSON_MAX_DEPTH 32

/* A JSON value of a parsed document (json-c's object, opaque here).  JSON
 * null is the NULL pointer. */
typedef struct json_object pc_json_t;

typedef enum {
    PC_JSON_NULL = 0,
    PC_JSON_BOOL,
    PC_JSON_INT,     /* a number without fraction or exponent */
    PC_JSON_DOUBLE,  /* any other number */
    PC_JSON_STRING,
    PC_JSON_ARRAY,
    PC_JSON_OBJECT
} pc_json_type_e;

/* ---- parsing ------------------------------------------------------------ */

/* Parse exactly len bytes into *doc, owned by pool p.  On success *doc may
 * be NULL (the text "null"): callers check the type they want.  On failure
 * APR_EGENERAL with the reason in *why: "empty body", "body contains a NUL byte", "body is not valid
 * UTF-8", "JSON string contains a control character", "JSON string
 * contains a NUL character", "JSON nested too deeply", "truncated JSON",
 * "invalid JSON", "invalid JSON: data after the value" (or "out of
 * memory"). */
apr_status_t pc_json_parse(pc_json_t **doc, const char *body, apr_size_t len,
                           apr_pool_t *p, const char **why);

/* A reader of one parsed document: fills its baton, copying what it keeps
 * into p; on failure returns non-APR_SUCCESS with the reason in *why. */
typedef apr_status_t pc_json_read_fn(void *baton, pc_json_t *doc,
                                     apr_pool_t *p, const char **why);

/* Parse body in a scratch subpool of p, run fn on the document, drop the
 * document.  Returns the parse's or fn's status; *why is their reason on
 * failure (never NULL then), NULL on success. */
apr_status_t pc_json_read(const char *body, apr_size_t len,
                          pc_json_read_fn *fn, void *baton, apr_pool_t *p,
                          const char **why);

/* ---- values ------------------------------------------------------------- */

/* 1 when v is of that type (NULL is PC_JSON_NULL). */
int pc_json_is(const pc_json_t *v, pc_json_type_e type);

/* The value of key in obj: NULL when obj is not an object, the key is
 * absent, or its value is null. */
pc_json_t *pc_json_member(const pc_json_t *obj, const char *key);

/* The C string of a JSON string (owned by the document), or NULL when v is
 * not a string or holds a NUL. */
const char *pc_json_string(pc_json_t *v);

/* A JSON integer (INT64 saturated at its limits): APR_SUCCESS and *out, or
 * APR_EGENERAL when v is not an integer (a fraction, a string, ...). */
apr_status_t pc_json_int64(apr_int64_t *out, const pc_json_t *v);

/* Number of elements of an array (0 when a is not an array), and one of
 * them (NULL when out of range or JSON null). */
apr_size_t pc_json_array_len(const pc_json_t *a);
pc_json_t *pc_json_array_at(const pc_json_t *a, apr_size_t i);

/* Calls fn for each member of obj, in document order (a repeated key once,
 * with its last value; null values as NULL), until fn returns non-zero.
 * Returns that value, or 0. */
typedef int pc_json_member_fn(void *baton, const char *key, pc_json_t *val);
int pc_json_each_member(const pc_json_t *obj, pc_json_member_fn *fn,
                        void *baton);

/* How many members of obj are arrays; *last (may be NULL) the last of them
 * (NULL when none).  For collections whose item array is "the one array
 * under _embedded". */
int pc_json_arrays_in(const pc_json_t *obj, pc_json_t **last);

/* ---- members (the conventions above) ------------------------------------ */

/* Optional string member copied into p: *out NULL when absent.
 * APR_EGENERAL when present with another type or holding NUL. */
apr_status_t pc_json_opt_string(const char **out, const pc_json_t *obj,
                                const char *key, apr_pool_t *p);

/* Required non-empty string member: APR_EGENERAL with *why = why_type when
 * of another type, why_missing when absent, null or "". */
apr_status_t pc_json_req_string(const char **out, const pc_json_t *obj,
                                const char *key, apr_pool_t *p,
                                const char **why, const char *why_type,
                                const char *why_missing);

/* A string member copied into p, or NULL when absent or of another type
 * (for bodies read tolerantly: error answers, webhook events).  obj may be
 * NULL or not an object. */
const char *pc_json_loose_string(const pc_json_t *obj, const char *key,
                                 apr_pool_t *p);

/* Optional object / array member: *out NULL when absent, APR_EGENERAL when
 * of another type. */
apr_status_t pc_json_opt_object(pc_json_t **out, const pc_json_t *obj,
                                const char *key);
apr_status_t pc_json_opt_array(pc_json_t **out, const pc_json_t *obj,
                               const char *key);

/* Optional timestamp member (a string for pc_parse_timestamp): *out 0 when
 * absent, APR_EGENERAL when not a string or not a valid timestamp. */
apr_status_t pc_json_opt_time(apr_time_t *out, const pc_json_t *obj,
                              const char *key);

/* ---- writing ------------------------------------------------------------ */

/* s as a JSON string literal (RFC 8259), quotes included: '"' and '\'
 * escaped, \b \f \n \r \t by name, other control characters and DEL as
 * \u00XX, valid UTF-8 passed through unchanged, and each byte of an invalid
 * UTF-8 sequence replaced by \ufffd - so the result is always valid JSON in
 * valid UTF-8.  NULL gives null. */
const char *pc_json_quote(apr_pool_t *p, const char *s);

/* A JSON writer: builds one document, value by value.
 *
 *     pc_jw_t *w = pc_jw_make(r->pool);
 *     pc_jw_object(w, NULL);               // the document is an object
 *     pc_jw_str(w, "job", job_id);
 *     pc_jw_object(w, "counts");           // "counts":{
 *     pc_jw_int(w, "polls", polls);
 *     pc_jw_end(w);                        // }
 *     pc_jw_array(w, "users");             // "users":[
 *     pc_jw_str(w, NULL, user);            // elements take no key
 *     text = pc_jw_text(w);                // closes what is still open
 *
 * `key` names the member inside an object and must be NULL inside an array
 * and for the document itself.  Keys and strings go through pc_json_quote.
 * Misuse (a key where none belongs or none where one must be, a second
 * top-level value, pc_jw_end with nothing open, nesting deeper than
 * PC_JSON_MAX_DEPTH, raw JSON given as NULL) spoils the writer:
 * pc_jw_text then returns NULL, never half a document. */
typedef struct pc_jw_t pc_jw_t;

pc_jw_t *pc_jw_make(apr_pool_t *p);
void pc_jw_object(pc_jw_t *w, const char *key);  /* opens {  */
void pc_jw_array(pc_jw_t *w, const char *key);   /* opens [  */
void pc_jw_end(pc_jw_t *w);                      /* closes the innermost */
void pc_jw_str(pc_jw_t *w, const char *key, const char *s); /* NULL: null */
void pc_jw_int(pc_jw_t *w, const char *key, apr_int64_t v);
void pc_jw_uint(pc_jw_t *w, const char *key, apr_uint64_t v);
void pc_jw_bool(pc_jw_t *w, const char *key, int v);
void pc_jw_null(pc_jw_t *w, const char *key);
/* json must be one complete JSON value; it is copied as it is. */
void pc_jw_raw(pc_jw_t *w, const char *key, const char *json);

/* The document (in the writer's pool), with open arrays and objects
 * closed; NULL when nothing was written or the writer is spoilt.  The
 * writer is finished: writing more spoils it. */
const char *pc_jw_text(pc_jw_t *w);

#endif

/*
 * pc_json.c - strict JSON in, correct JSON out (the only json-c user).
 *
 * Parsing has two layers.  check_text() first makes sure the bytes are
 * strict JSON text in valid UTF-8: json-c 0.16's "strict" mode still takes
 * single-quoted strings, NaN/-Infinity and raw control characters in
 * strings, and its UTF-8 check lets overlong forms, surrogates and code
 * points above U+10FFFF through.  json-c then builds the tree
 * (depth-limited, strict, with its own UTF-8 check as well).
 */
#include "pc_json.h"
#include "pc_parse.h"
#include "pc_text.h"

#include <apr_strings.h>

#include <json.h>
#include <string.h>

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

/* How many bytes from off to hand json-c next: all that is left, or at
 * most PC_JSON_FEED_MAX cut between two characters, because json-c's UTF-8
 * check does not carry a character across pieces (the text is valid UTF-8
 * by now). */
static apr_size_t next_piece(const char *body, apr_size_t off, apr_size_t len)
{
    apr_size_t n = len - off;

    if (n <= (apr_size_t)PC_JSON_FEED_MAX)
        return n;
    n = PC_JSON_FEED_MAX;
    while (n > 0 && utf8_cont(body[off + n]))
        n--;
    if (n == 0) {
        n = PC_JSON_FEED_MAX;
        while (off + n < len && utf8_cont(body[off + n]))
            n++;
    }
    return n;
}

static const char *tokener_reason(enum json_tokener_error jerr)
{
    switch (jerr) {
    case json_tokener_error_depth:
        return "JSON nested too deeply";
    case json_tokener_continue:
    case json_tokener_error_parse_eof:
        return "truncated JSON";
    case json_tokener_error_parse_utf8_string:
        return "body is not valid UTF-8";
    default:
        return "invalid JSON";
    }
}

/* Feed all len bytes to tok; *end is where the value ended. */
static json_object *tokenize(json_tokener *tok, const char *body,
                             apr_size_t len, apr_size_t *end,
                             enum json_tokener_error *jerr)
{
    json_object *obj = NULL;
    apr_size_t off = 0;

    *jerr = json_tokener_continue;
    while (off < len) {
        apr_size_t n = next_piece(body, off, len);

        obj = json_tokener_parse_ex(tok, body + off, (int)n);
        *jerr = json_tokener_get_error(tok);
        if (*jerr != json_tokener_continue) {
            off += json_tokener_get_parse_end(tok);
            break;
        }
        off += n;
    }
    if (*jerr == json_tokener_continue) {
        /* Everything was fed and the value is still open: either it is
         * truncated, or it is a bare number/literal that only ends with the
         * input.  A NUL byte tells json-c that the input has ended. */
        obj = json_tokener_parse_ex(tok, "", 1);
        *jerr = json_tokener_get_error(tok);
    }
    *end = off;
    return obj;
}

static apr_status_t put_doc(void *doc)
{
    json_object_put(doc);
    return APR_SUCCESS;
}

apr_status_t pc_json_parse(pc_json_t **doc, const char *body, apr_size_t len,
                           apr_pool_t *p, const char **why)
{
    json_tokener *tok;
    json_object *obj;
    enum json_tokener_error jerr;
    apr_size_t end;
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
    obj = tokenize(tok, body, len, &end, &jerr);
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        json_object_put(obj);
        return fail(why, tokener_reason(jerr));
    }
    /* Strict json-c already refuses most trailing data; this also covers a
     * value that ended exactly at a piece boundary. */
    for (; end < len; end++) {
        if (!strchr(" \t\n\r", body[end])) {
            json_object_put(obj);
            return fail(why, "invalid JSON: data after the value");
        }
    }
    if (obj != NULL)
        apr_pool_cleanup_register(p, obj, put_doc, apr_pool_cleanup_null);
    *doc = obj;
    return APR_SUCCESS;
}

apr_status_t pc_json_read(const char *body, apr_size_t len,
                          pc_json_read_fn *fn, void *baton, apr_pool_t *p,
                          const char **why)
{
    apr_pool_t *scratch;
    pc_json_t *doc;
    const char *reason = NULL;
    apr_status_t rv;

    if ((rv = apr_pool_create(&scratch, p)) != APR_SUCCESS) {
        reason = "out of memory";
    }
    else {
        rv = pc_json_parse(&doc, body, len, scratch, &reason);
        if (rv == APR_SUCCESS)
            rv = fn(baton, doc, p, &reason);
        apr_pool_destroy(scratch);
    }
    if (rv != APR_SUCCESS && reason == NULL)
        reason = "invalid JSON";
    if (why != NULL)
        *why = rv == APR_SUCCESS ? NULL : reason;
    return rv;
}

/* ---- values ------------------------------------------------------------- */

int pc_json_is(const pc_json_t *v, pc_json_type_e type)
{
    static const enum json_type map[] = {
        [PC_JSON_NULL] = json_type_null,     [PC_JSON_BOOL] = json_type_boolean,
        [PC_JSON_INT] = json_type_int,       [PC_JSON_DOUBLE] = json_type_double,
        [PC_JSON_STRING] = json_type_string, [PC_JSON_ARRAY] = json_type_array,
        [PC_JSON_OBJECT] = json_type_object,
    };

    if ((unsigned)type >= sizeof(map) / sizeof(map[0]))
        return 0;
    return json_object_is_type(v, map[type]);
}

pc_json_t *pc_json_member(const pc_json_t *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

const char *pc_json_string(pc_json_t *v)
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

apr_status_t pc_json_int64(apr_int64_t *out, const pc_json_t *v)
{
    if (!json_object_is_type(v, json_type_int))
        return APR_EGENERAL;
    *out = json_object_get_int64(v); /* json-c saturates at INT64_MIN/MAX */
    return APR_SUCCESS;
}

apr_size_t pc_json_array_len(const pc_json_t *a)
{
    return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                   : 0;
}

pc_json_t *pc_json_array_at(const pc_json_t *a, apr_size_t i)
{
    if (i >= pc_json_array_len(a))
        return NULL;
    return json_object_array_get_idx(a, i);
}

int pc_json_each_member(const pc_json_t *obj, pc_json_member_fn *fn,
                        void *baton)
{
    int rc;

    if (!json_object_is_type(obj, json_type_object))
        return 0;
    json_object_object_foreach((json_object *)obj, key, val)
    {
        if ((rc = fn(baton, key, val)) != 0)
            return rc;
    }
    return 0;
}

typedef struct arrays_t {
    pc_json_t *last;
    int count;
} arrays_t;

static int count_array(void *baton, const char *key, pc_json_t *val)
{
    arrays_t *a = baton;

    (void)key;
    if (pc_json_is(val, PC_JSON_ARRAY)) {
        a->last = val;
        a->count++;
    }
    return 0;
}

int pc_json_arrays_in(const pc_json_t *obj, pc_json_t **last)
{
    arrays_t a = {NULL, 0};

    pc_json_each_member(obj, count_array, &a);
    if (last)
        *last = a.last;
    return a.count;
}

/* ---- members ------------------------------------------------------------ */

/* An optional string member, owned by the document: *s NULL when absent. */
static apr_status_t member_string(const char **s, const pc_json_t *obj,
                                  const char *key)
{
    json_object *v = pc_json_member(obj, key);

    *s = NULL;
    if (v == NULL)
        return APR_SUCCESS;
    return (*s = pc_json_string(v)) != NULL ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t pc_json_opt_string(const char **out, const pc_json_t *obj,
                                const char *key, apr_pool_t *p)
{
    const char *s;

    *out = NULL;
    if (member_string(&s, obj, key) != APR_SUCCESS)
        return APR_EGENERAL;
    if (s != NULL)
        *out = apr_pstrdup(p, s); /* holds no NUL: pc_json_string */
    return APR_SUCCESS;
}

apr_status_t pc_json_req_string(const char **out, const pc_json_t *obj,
                                const char *key, apr_pool_t *p,
                                const char **why, const char *why_type,
                                const char *why_missing)
{
    if (pc_json_opt_string(out, obj, key, p) != APR_SUCCESS)
        return fail(why, why_type);
    if (*out == NULL || **out == '\0')
        return fail(why, why_missing);
    return APR_SUCCESS;
}

const char *pc_json_loose_string(const pc_json_t *obj, const char *key,
                                 apr_pool_t *p)
{
    const char *s;

    if (pc_json_opt_string(&s, obj, key, p) != APR_SUCCESS)
        return NULL;
    return s;
}

/* Optional member of one type: *out NULL when absent. */
static apr_status_t opt_typed(pc_json_t **out, const pc_json_t *obj,
                              const char *key, enum json_type type)
{
    json_object *v = pc_json_member(obj, key);

    *out = NULL;
    if (v == NULL)
        return APR_SUCCESS;
    if (!json_object_is_type(v, type))
        return APR_EGENERAL;
    *out = v;
    return APR_SUCCESS;
}

apr_status_t pc_json_opt_object(pc_json_t **out, const pc_json_t *obj,
                                const char *key)
{
    return opt_typed(out, obj, key, json_type_object);
}

apr_status_t pc_json_opt_array(pc_json_t **out, const pc_json_t *obj,
                               const char *key)
{
    return opt_typed(out, obj, key, json_type_array);
}

apr_status_t pc_json_opt_time(apr_time_t *out, const pc_json_t *obj,
                              const char *key)
{
    const char *s;

    *out = 0;
    if (member_string(&s, obj, key) != APR_SUCCESS)
        return APR_EGENERAL;
    if (s == NULL)
        return APR_SUCCESS;
    return pc_parse_timestamp(out, s) == APR_SUCCESS ? APR_SUCCESS
                                                     : APR_EGENERAL;
}

/* ---- writing ------------------------------------------------------------ */

/* A growing text in a pool (old buffers stay in the pool: at most as much
 * again as the final text). */
typedef struct jbuf_t {
    apr_pool_t *p;
    char *s;
    apr_size_t len, cap;
} jbuf_t;

/* Room for n more bytes and a NUL; returns where they go. */
static char *reserve(jbuf_t *b, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap * 2 : 256;
        char *s;

        while (cap < b->len + n + 1)
            cap *= 2;
        s = apr_palloc(b->p, cap);
        if (b->len)
            memcpy(s, b->s, b->len);
        b->s = s;
        b->cap = cap;
    }
    return b->s + b->len;
}

static void put(jbuf_t *b, const char *s, apr_size_t n)
{
    memcpy(reserve(b, n), s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* One byte below 0x80, escaped as JSON wants; returns bytes written. */
static apr_size_t escape_ascii(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    static const char named[] = "\"\"\\\\\bb\ff\nn\rr\tt";
    const char *e;

    if (c >= 0x20 && c != 0x7F && c != '"' && c != '\\') {
        o[0] = (char)c;
        return 1;
    }
    for (e = named; *e; e += 2) {
        if ((unsigned char)e[0] == c) {
            o[0] = '\\';
            o[1] = e[1];
            return 2;
        }
    }
    memcpy(o, "\\u00", 4);
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return 6;
}

/* s as a JSON string literal, appended to b. */
static void put_quoted(jbuf_t *b, const char *s)
{
    apr_size_t n = strlen(s), i = 0, k;
    char *o = reserve(b, n * 6 + 2), *start = o;

    *o++ = '"';
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            o += escape_ascii(o, (unsigned char)s[i++]);
        }
        else if ((k = pc_utf8_char(s + i, n - i)) != 0) {
            memcpy(o, s + i, k);
            o += k;
            i += k;
        }
        else {
            memcpy(o, "\\ufffd", 6); /* one per byte of a bad sequence */
            o += 6;
            i++;
        }
    }
    *o++ = '"';
    b->len += (apr_size_t)(o - start);
    b->s[b->len] = '\0';
}

const char *pc_json_quote(apr_pool_t *p, const char *s)
{
    jbuf_t b = {p, NULL, 0, 0};

    if (s == NULL)
        return "null";
    put_quoted(&b, s);
    return b.s;
}

struct pc_jw_t {
    jbuf_t out;
    int depth;                     /* open arrays and objects */
    char open[PC_JSON_MAX_DEPTH];  /* '}' or ']' for each */
    char any[PC_JSON_MAX_DEPTH];   /* each has a value already */
    int values;                    /* top-level values (one at most) */
    int spoilt;
};

pc_jw_t *pc_jw_make(apr_pool_t *p)
{
    pc_jw_t *w = apr_pcalloc(p, sizeof(*w));

    w->out.p = p;
    return w;
}

static int spoil(pc_jw_t *w)
{
    w->spoilt = 1;
    return 0;
}

/* Before each value: the comma and key it needs.  0 when the value does
 * not belong here (the writer is spoilt then). */
static int begin_value(pc_jw_t *w, const char *key)
{
    int d = w->depth - 1;

    if (w->spoilt)
        return 0;
    if (d < 0)
        return key == NULL && w->values++ == 0 ? 1 : spoil(w);
    if ((w->open[d] == '}') != (key != NULL))
        return spoil(w);
    if (w->any[d])
        put(&w->out, ",", 1);
    w->any[d] = 1;
    if (key != NULL) {
        put_quoted(&w->out, key);
        put(&w->out, ":", 1);
    }
    return 1;
}

static void put_value(pc_jw_t *w, const char *key, const char *text)
{
    if (begin_value(w, key))
        put(&w->out, text, strlen(text));
}

static void open_container(pc_jw_t *w, const char *key, const char *brackets)
{
    if (w->depth >= PC_JSON_MAX_DEPTH) {
        spoil(w);
        return;
    }
    if (!begin_value(w, key))
        return;
    put(&w->out, brackets, 1);
    w->open[w->depth] = brackets[1];
    w->any[w->depth] = 0;
    w->depth++;
}

void pc_jw_object(pc_jw_t *w, const char *key)
{
    open_container(w, key, "{}");
}

void pc_jw_array(pc_jw_t *w, const char *key)
{
    open_container(w, key, "[]");
}

void pc_jw_end(pc_jw_t *w)
{
    if (w->depth == 0) {
        spoil(w);
        return;
    }
    w->depth--;
    put(&w->out, &w->open[w->depth], 1);
}

void pc_jw_str(pc_jw_t *w, const char *key, const char *s)
{
    if (s == NULL)
        put_value(w, key, "null");
    else if (begin_value(w, key))
        put_quoted(&w->out, s);
}

void pc_jw_int(pc_jw_t *w, const char *key, apr_int64_t v)
{
    char num[24];

    apr_snprintf(num, sizeof(num), "%" APR_INT64_T_FMT, v);
    put_value(w, key, num);
}

void pc_jw_uint(pc_jw_t *w, const char *key, apr_uint64_t v)
{
    char num[24];

    apr_snprintf(num, sizeof(num), "%" APR_UINT64_T_FMT, v);
    put_value(w, key, num);
}

void pc_jw_bool(pc_jw_t *w, const char *key, int v)
{
    put_value(w, key, v ? "true" : "false");
}

void pc_jw_null(pc_jw_t *w, const char *key)
{
    put_value(w, key, "null");
}

void pc_jw_raw(pc_jw_t *w, const char *key, const char *json)
{
    if (json == NULL || *json == '\0')
        spoil(w);
    else
        put_value(w, key, json);
}

const char *pc_jw_text(pc_jw_t *w)
{
    while (!w->spoilt && w->depth > 0)
        pc_jw_end(w);
    if (w->spoilt || w->values == 0)
        return NULL;
    return w->out.s;
}

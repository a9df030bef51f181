/*
 * pc_json_slim.c - the streaming pass before json-c (see pc_json_slim.h).
 *
 * A recursive-descent scanner over the text, bounded by the parser's own
 * depth limit.  It copies what it keeps to the output and only checks what
 * it drops.  In what it drops it is stricter than needed (a \u escape, a
 * number with an exponent or over 15 characters, anything odd: give up),
 * so that it can never accept a text the ordinary parse would refuse.
 */
#include "pc_json_slim.h"
#include "pc_text.h"

#include <string.h>

/* Where the scanner is, for the one rule it applies. */
typedef enum {
    AT_ROOT,        /* the top-level value */
    AT_EMBEDDED,    /* the value of the root's "_embedded" */
    AT_COLLECTION,  /* a member value of "_embedded" */
    AT_ITEM,        /* an element of such an array: members are filtered */
    AT_OTHER
} at_e;

typedef struct scan_t {
    const char *s;
    apr_size_t n, i;
    char *out;          /* NULL while dropping */
    apr_size_t o;
    const char *const *keep;
} scan_t;

static void ws(scan_t *sc)
{
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        sc->i++;
    }
}

static void emit(scan_t *sc, const char *from, apr_size_t len, int copy)
{
    if (copy) {
        memcpy(sc->out + sc->o, from, len);
        sc->o += len;
    }
}

/* A string at sc->i: 1 and its bounds [*b, *e) (quotes included). */
static int string(scan_t *sc, int copy, apr_size_t *b, apr_size_t *e)
{
    apr_size_t start = sc->i, k;

    if (sc->i >= sc->n || sc->s[sc->i] != '"')
        return 0;
    for (sc->i++; sc->i < sc->n; ) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            sc->i++;           /* the common case: plain ASCII */
            continue;
        }
        if (c == '"')
            break;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (sc->i + 1 >= sc->n || !strchr("\"\\/bfnrt", sc->s[sc->i + 1]) ||
                sc->s[sc->i + 1] == '\0')
                return 0;   /* \u (or anything else): leave it to json-c */
            sc->i += 2;
            continue;
        }
        if ((k = pc_utf8_char(sc->s + sc->i, sc->n - sc->i)) == 0)
            return 0;
        sc->i += k;
    }
    if (sc->i >= sc->n)
        return 0;
    sc->i++;
    *b = start;
    *e = sc->i;
    emit(sc, sc->s + start, sc->i - start, copy);
    return 1;
}

/* A number, strictly; while dropping only short plain ones. */
static int number(scan_t *sc, int copy)
{
    apr_size_t start = sc->i;
    const char *s = sc->s;

    if (sc->i < sc->n && s[sc->i] == '-')
        sc->i++;
    if (sc->i >= sc->n || s[sc->i] < '0' || s[sc->i] > '9')
        return 0;
    if (s[sc->i] == '0')
        sc->i++;
    else
        while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
            sc->i++;
    if (sc->i < sc->n && s[sc->i] == '.') {
        if (++sc->i >= sc->n || s[sc->i] < '0' || s[sc->i] > '9')
            return 0;
        while (sc->i < sc->n && s[sc->i] >= '0' && s[sc->i] <= '9')
            sc->i++;
    }
    if (sc->i < sc->n && (s[sc->i] == 'e' || s[sc->i] == 'E'))
        return 0;
    if (!copy && sc->i - start > 15)
        return 0;
    emit(sc, s + start, sc->i - start, copy);
    return 1;
}

static int literal(scan_t *sc, int copy)
{
    static const char *const words[] = {"true", "false", "null"};
    apr_size_t k, len;

    for (k = 0; k < 3; k++) {
        len = strlen(words[k]);
        if (sc->n - sc->i >= len && memcmp(sc->s + sc->i, words[k], len) == 0) {
            emit(sc, words[k], len, copy);
            sc->i += len;
            return 1;
        }
    }
    return 0;
}

static int value(scan_t *sc, at_e at, int depth, int copy);

static int kept(const scan_t *sc, apr_size_t b, apr_size_t e)
{
    const char *const *k;

    for (k = sc->keep; *k; k++) {
        if (strlen(*k) == e - b - 2 && memcmp(sc->s + b + 1, *k, e - b - 2) == 0)
            return 1;
    }
    return 0;
}

/* Where a member's value is, given the object's place and the key. */
static at_e member_at(const scan_t *sc, at_e at, apr_size_t b, apr_size_t e)
{
    if (at == AT_ROOT)
        return e - b == 11 && memcmp(sc->s + b, "\"_embedded\"", 11) == 0
                   ? AT_EMBEDDED
                   : AT_OTHER;
    return at == AT_EMBEDDED ? AT_COLLECTION : AT_OTHER;
}

static int object(scan_t *sc, at_e at, int depth, int copy)
{
    int members = 0, keep;
    apr_size_t b, e;

    emit(sc, "{", 1, copy);
    sc->i++;
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}')
        goto done;
    for (;;) {
        ws(sc);
        if (!string(sc, 0, &b, &e))
            return 0;
        keep = copy && (at != AT_ITEM || kept(sc, b, e));
        if (keep && members)
            emit(sc, ",", 1, 1);
        emit(sc, sc->s + b, e - b, keep);
        ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ':')
            return 0;
        emit(sc, ":", 1, keep);
        sc->i++;
        if (!value(sc, member_at(sc, at, b, e), depth + 1, keep))
            return 0;
        members += keep;
        ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        break;
    }
done:
    if (sc->i >= sc->n || sc->s[sc->i] != '}')
        return 0;
    sc->i++;
    emit(sc, "}", 1, copy);
    return 1;
}

static int array(scan_t *sc, at_e at, int depth, int copy)
{
    int first = 1;

    emit(sc, "[", 1, copy);
    sc->i++;
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ']')
        goto done;
    for (;;) {
        if (!first)
            emit(sc, ",", 1, copy);
        first = 0;
        if (!value(sc, at == AT_COLLECTION ? AT_ITEM : AT_OTHER, depth + 1,
                   copy))
            return 0;
        ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        break;
    }
done:
    if (sc->i >= sc->n || sc->s[sc->i] != ']')
        return 0;
    sc->i++;
    emit(sc, "]", 1, copy);
    return 1;
}

static int value(scan_t *sc, at_e at, int depth, int copy)
{
    apr_size_t b, e;

    if (depth > PC_JSON_MAX_DEPTH)
        return 0;
    ws(sc);
    if (sc->i >= sc->n)
        return 0;
    switch (sc->s[sc->i]) {
    case '{':
        return object(sc, at, depth, copy);
    case '[':
        return array(sc, at, depth, copy);
    case '"':
        return string(sc, copy, &b, &e);
    case 't':
    case 'f':
    case 'n':
        return literal(sc, copy);
    default:
        return number(sc, copy);
    }
}

apr_status_t pc_json_slim(const char **out, apr_size_t *out_len,
                          const char *body, apr_size_t len,
                          const char *const *keep, apr_pool_t *p)
{
    scan_t sc;

    *out = NULL;
    *out_len = 0;
    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL)
        return APR_EGENERAL;
    memset(&sc, 0, sizeof(sc));
    sc.s = body;
    sc.n = len;
    sc.keep = keep;
    sc.out = apr_palloc(p, len + 1);
    if (!value(&sc, AT_ROOT, 1, 1))
        return APR_EGENERAL;
    ws(&sc);
    if (sc.i != sc.n || sc.o == 0)
        return APR_EGENERAL;
    sc.out[sc.o] = '\0';
    *out = sc.out;
    *out_len = sc.o;
    return APR_SUCCESS;
}

apr_status_t pc_json_read_slim(const char *body, apr_size_t len,
                               const char *const *keep, pc_json_read_fn *fn,
                               void *baton, apr_pool_t *p, const char **why)
{
    const char *slim;
    apr_size_t slim_len;
    apr_pool_t *scratch;
    apr_status_t rv;

    if (apr_pool_create(&scratch, p) != APR_SUCCESS)
        return pc_json_read(body, len, fn, baton, p, why);
    if (pc_json_slim(&slim, &slim_len, body, len, keep, scratch) !=
        APR_SUCCESS) {
        apr_pool_destroy(scratch);
        return pc_json_read(body, len, fn, baton, p, why);
    }
    rv = pc_json_read(slim, slim_len, fn, baton, p, why);
    apr_pool_destroy(scratch);
    return rv;
}

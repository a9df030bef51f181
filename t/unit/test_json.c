/*
 * Unit tests for pc_json.c: the strict parser, the member readers and
 * their conventions, the JSON string writer and the document writer.
 *
 * Bodies are handed to the parser in malloc'd buffers of exactly `len`
 * bytes with no terminating NUL, so AddressSanitizer reports any read past
 * the end; LeakSanitizer reports a document whose pool cleanup is missing.
 * The Makefile builds this file twice: as it is, and with
 * -DPC_JSON_FEED_MAX=7 so that json-c is fed the text in 7-byte pieces.
 */
#include "pc_json.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

#include <stdlib.h>

static apr_pool_t *p;

/* ---- helpers ------------------------------------------------------------ */

static int has(const char *err, const char *want)
{
    return err != NULL && strstr(err, want) != NULL;
}

/* Parse the first n bytes of s from an exact-size copy, in pool p. */
static apr_status_t parse_n(pc_json_t **doc, const char *s, apr_size_t n,
                            const char **why)
{
    char *buf = malloc(n ? n : 1);
    apr_status_t rv;

    if (n > 0)
        memcpy(buf, s, n);
    rv = pc_json_parse(doc, s ? buf : NULL, n, p, why);
    free(buf);
    return rv;
}

static pc_json_t *parse(const char *s)
{
    pc_json_t *doc = NULL;
    const char *why = NULL;

    if (parse_n(&doc, s, strlen(s), &why) != APR_SUCCESS) {
        printf("# unexpected parse failure (%s): %s\n", why, s);
        return NULL;
    }
    return doc;
}

static void refused_n(const char *s, apr_size_t n, const char *what,
                      const char *want)
{
    pc_json_t *doc = (pc_json_t *)&doc; /* must be reset to NULL */
    const char *why = NULL;
    apr_status_t rv = parse_n(&doc, s, n, &why);

    ok(rv == APR_EGENERAL && doc == NULL && has(why, want),
       "refused: %s (reason '%s')", what, why ? why : "(none)");
}

static void refused(const char *s, const char *what, const char *want)
{
    refused_n(s, strlen(s), what, want);
}

/* The string a parsed JSON string literal holds (NULL when it is none). */
static const char *unquote(const char *literal)
{
    pc_json_t *doc = NULL;
    const char *why;

    if (parse_n(&doc, literal, strlen(literal), &why) != APR_SUCCESS)
        return NULL;
    return pc_json_string(doc);
}

/* ---- parser ------------------------------------------------------------- */

static void test_parse_accepts(void)
{
    static const char all[] = "{\"a\":[1,2.5,\"x\",true,null,{},[]]}";
    pc_json_t *doc;
    const char *why;
    char deep[80];
    int i;

    ok(parse_n(&doc, all, strlen(all), &why) == APR_SUCCESS &&
           pc_json_is(doc, PC_JSON_OBJECT),
       "an object with every kind of value");
    doc = (pc_json_t *)&doc;
    ok(parse_n(&doc, "null", 4, &why) == APR_SUCCESS && doc == NULL,
       "the text null: success, NULL document");
    ok(pc_json_is(parse(" \t\r\n42 \n"), PC_JSON_INT),
       "a bare number with white space around");
    ok(pc_json_is(parse("-1.5e3"), PC_JSON_DOUBLE), "a number with exponent");
    ok(pc_json_is(parse("true"), PC_JSON_BOOL), "a bare literal");
    ok(pc_json_is(parse("\"s\""), PC_JSON_STRING), "a bare string");
    ok(pc_json_is(parse("[]"), PC_JSON_ARRAY), "an empty array");
    is_str(unquote("\"caf\\u00e9 \\\"x\\\" \\ud83d\\ude00 \\/\""),
           "caf\xc3\xa9 \"x\" \xf0\x9f\x98\x80 /", "escapes are decoded");
    is_str(unquote("\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80\""),
           "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80",
           "UTF-8 of every length passes");
    /* 32 levels accepted (the top level counts), 33 refused below. */
    for (i = 0; i < 32; i++) {
        deep[i] = '[';
        deep[32 + i] = ']';
    }
    deep[64] = '\0';
    ok(parse(deep) != NULL, "exactly %d levels accepted", PC_JSON_MAX_DEPTH);
}

static void test_parse_refuses(void)
{
    char *deep = apr_palloc(p, 67);
    int i;

    refused_n("", 0, "empty body", "empty body");
    refused_n(NULL, 0, "NULL body", "empty body");
    refused_n("{}\0", 3, "NUL byte after the value", "NUL byte");
    refused_n("[\"a\0b\"]", 7, "NUL byte in a string", "NUL byte");
    refused("[\"a\\u0000b\"]", "\\u0000 escape", "NUL character");
    refused("[\"a\tb\"]", "raw tab in a string", "control character");
    refused("[\"a\nb\"]", "raw newline in a string", "control character");
    refused("[\"a\x1f\"]", "raw 0x1F in a string", "control character");
    refused("[\"caf\xe9\"]", "Latin-1 byte", "UTF-8");
    refused("[\"\xc0\xaf\"]", "overlong form", "UTF-8");
    refused("[\"\xed\xa0\x80\"]", "UTF-16 surrogate", "UTF-8");
    refused("[\"\xf4\x90\x80\x80\"]", "above U+10FFFF", "UTF-8");
    refused("[\"\x80\"]", "lone continuation byte", "UTF-8");
    refused_n("[\"\xe2\x82", 4, "sequence cut by the end", "UTF-8");
    refused("\xef\xbb\xbf[]", "byte order mark", "invalid JSON");
    refused("['a']", "single quotes", "invalid JSON");
    refused("[NaN]", "NaN", "invalid JSON");
    refused("[-Infinity]", "-Infinity", "invalid JSON");
    refused("[1] // c", "comment", "invalid JSON");
    refused("[1,]", "trailing comma", "invalid JSON");
    refused("{\"a\":1,}", "trailing comma in an object", "invalid JSON");
    refused("[True]", "True", "invalid JSON");
    refused("[\"\\x41\"]", "bad escape", "invalid JSON");
    refused("{a:1}", "unquoted key", "invalid JSON");
    refused("[01]", "leading zero", "invalid JSON");
    refused("[1,2,3]1", "data after the value", "invalid JSON");
    refused("[1,2,3] 1", "a second value", "invalid JSON");
    refused("{}{}", "two objects", "invalid JSON");
    refused("{\"a\":", "truncated object", "truncated JSON");
    refused("[\"abc", "truncated string", "truncated JSON");
    refused("tru", "truncated literal", "JSON");
    for (i = 0; i < 33; i++) {
        deep[i] = '[';
        deep[33 + i] = ']';
    }
    deep[66] = '\0';
    refused(deep, "33 levels", "nested too deeply");
}

/* The document lives as long as its pool: strings read from it stay valid
 * until then, and destroying the pool releases it (LeakSanitizer would
 * report 100 leaked documents otherwise). */
static void test_parse_lifetime(void)
{
    apr_pool_t *sub;
    pc_json_t *doc;
    const char *why, *s;
    int i, good = 0;

    for (i = 0; i < 100; i++) {
        apr_pool_create(&sub, p);
        if (pc_json_parse(&doc, "{\"k\":[\"v\"]}", 11, sub, &why) ==
            APR_SUCCESS) {
            s = pc_json_string(pc_json_array_at(pc_json_member(doc, "k"), 0));
            good += s != NULL && strcmp(s, "v") == 0;
        }
        apr_pool_destroy(sub);
    }
    is_int(good, 100, "100 documents parsed into subpools, read, dropped");
}

typedef struct reader_t {
    int calls;
    const char *key;
    const char *fail_with;
    const char *got;
} reader_t;

static apr_status_t reader(void *baton, pc_json_t *doc, apr_pool_t *rp,
                           const char **why)
{
    reader_t *r = baton;

    r->calls++;
    if (r->fail_with) {
        *why = r->fail_with;
        return APR_EGENERAL;
    }
    return pc_json_opt_string(&r->got, doc, r->key, rp);
}

static void test_read(void)
{
    reader_t r = {0, "name", NULL, NULL};
    const char *why = "unset";

    ok(pc_json_read("{\"name\":\"n\"}", 12, reader, &r, p, &why) ==
           APR_SUCCESS && why == NULL && r.calls == 1,
       "pc_json_read: the reader runs once, no reason on success");
    is_str(r.got, "n", "  the copy outlives the document");
    r.calls = 0;
    ok(pc_json_read("{\"name\":", 8, reader, &r, p, &why) == APR_EGENERAL &&
           r.calls == 0 && has(why, "truncated"),
       "pc_json_read: a parse failure skips the reader, with its reason");
    r.fail_with = "thing is not a widget";
    ok(pc_json_read("{}", 2, reader, &r, p, &why) == APR_EGENERAL &&
           r.calls == 1 && has(why, "widget"),
       "pc_json_read: the reader's failure and reason");
    r.fail_with = NULL;
    r.key = "n";
    ok(pc_json_read("{\"n\":5}", 7, reader, &r, p, &why) == APR_EGENERAL &&
           why != NULL,
       "pc_json_read: a reader failing without a reason still gets one");
    ok(pc_json_read("{}", 2, reader, &r, p, NULL) == APR_SUCCESS,
       "pc_json_read: why may be NULL");
}

/* ---- values and members ------------------------------------------------- */

static void test_values(void)
{
    pc_json_t *doc = parse("{\"i\":-7,\"big\":99999999999999999999,"
                           "\"d\":1.0,\"s\":\"x\",\"n\":null,\"a\":[1,null],"
                           "\"o\":{},\"b\":false}");
    apr_int64_t v = 0;

    ok(pc_json_is(pc_json_member(doc, "i"), PC_JSON_INT) &&
           pc_json_is(pc_json_member(doc, "d"), PC_JSON_DOUBLE) &&
           pc_json_is(pc_json_member(doc, "s"), PC_JSON_STRING) &&
           pc_json_is(pc_json_member(doc, "a"), PC_JSON_ARRAY) &&
           pc_json_is(pc_json_member(doc, "o"), PC_JSON_OBJECT) &&
           pc_json_is(pc_json_member(doc, "b"), PC_JSON_BOOL),
       "pc_json_is on each type");
    ok(!pc_json_is(pc_json_member(doc, "o"), PC_JSON_ARRAY) &&
           !pc_json_is(doc, (pc_json_type_e)99),
       "pc_json_is: other types and unknown type values are false");
    ok(pc_json_member(doc, "n") == NULL && pc_json_is(NULL, PC_JSON_NULL),
       "a null member reads as NULL");
    ok(pc_json_member(doc, "absent") == NULL, "an absent member is NULL");
    ok(pc_json_member(pc_json_member(doc, "a"), "x") == NULL &&
           pc_json_member(NULL, "x") == NULL,
       "members of a non-object or of NULL are NULL");
    ok(pc_json_int64(&v, pc_json_member(doc, "i")) == APR_SUCCESS && v == -7,
       "int64 of an integer");
    ok(pc_json_int64(&v, pc_json_member(doc, "big")) == APR_SUCCESS &&
           v == APR_INT64_MAX,
       "int64 saturates");
    ok(pc_json_int64(&v, pc_json_member(doc, "d")) == APR_EGENERAL &&
           pc_json_int64(&v, pc_json_member(doc, "s")) == APR_EGENERAL &&
           pc_json_int64(&v, NULL) == APR_EGENERAL,
       "int64 of a fraction, a string or null fails");
    is_int(pc_json_array_len(pc_json_member(doc, "a")), 2, "array length");
    ok(pc_json_array_len(doc) == 0 && pc_json_array_len(NULL) == 0,
       "array length of a non-array is 0");
    ok(pc_json_is(pc_json_array_at(pc_json_member(doc, "a"), 0), PC_JSON_INT) &&
           pc_json_array_at(pc_json_member(doc, "a"), 1) == NULL &&
           pc_json_array_at(pc_json_member(doc, "a"), 2) == NULL &&
           pc_json_array_at(doc, 0) == NULL,
       "array elements: null, out of range and non-arrays give NULL");
    ok(pc_json_string(pc_json_member(doc, "i")) == NULL &&
           pc_json_string(NULL) == NULL,
       "the string of a non-string is NULL");
}

static int collect(void *baton, const char *key, pc_json_t *val)
{
    char **keys = baton;

    *keys = apr_pstrcat(p, *keys, key, val ? "=v," : "=null,", NULL);
    return strcmp(key, "stop") == 0 ? 7 : 0;
}

static void test_each_member(void)
{
    char *keys = "";

    is_int(pc_json_each_member(parse("{\"b\":1,\"a\":null,\"b\":2,\"c\":{}}"),
                               collect, &keys), 0, "each member: all seen");
    is_str(keys, "b=v,a=null,c=v,", "  in order, a repeated key once");
    keys = "";
    is_int(pc_json_each_member(parse("{\"x\":1,\"stop\":1,\"y\":1}"), collect,
                               &keys), 7, "each member: stops on non-zero");
    is_str(keys, "x=v,stop=v,", "  and returns its value");
    is_int(pc_json_each_member(parse("[1]"), collect, &keys), 0,
           "each member of an array: none");
}

static void test_members(void)
{
    pc_json_t *doc = parse("{\"s\":\"val\",\"e\":\"\",\"n\":null,\"i\":1,"
                           "\"o\":{\"k\":\"v\"},\"a\":[],"
                           "\"t\":\"2022-08-23T22:23:34.624Z\","
                           "\"tbad\":\"yesterday\",\"dup\":1,\"dup\":\"x\"}");
    pc_json_t *o;
    const char *s, *why = NULL;
    apr_time_t t = 1;

    ok(pc_json_opt_string(&s, doc, "s", p) == APR_SUCCESS && !strcmp(s, "val"),
       "opt string: present");
    ok(pc_json_opt_string(&s, doc, "absent", p) == APR_SUCCESS && s == NULL,
       "opt string: absent is NULL");
    ok(pc_json_opt_string(&s, doc, "n", p) == APR_SUCCESS && s == NULL,
       "opt string: null is absent");
    ok(pc_json_opt_string(&s, doc, "e", p) == APR_SUCCESS && *s == '\0',
       "opt string: empty stays empty");
    ok(pc_json_opt_string(&s, doc, "i", p) == APR_EGENERAL,
       "opt string: a number is an error");
    ok(pc_json_opt_string(&s, doc, "dup", p) == APR_SUCCESS && !strcmp(s, "x"),
       "duplicate keys: the last wins");

    ok(pc_json_req_string(&s, doc, "s", p, &why, "T", "M") == APR_SUCCESS,
       "req string: present");
    ok(pc_json_req_string(&s, doc, "absent", p, &why, "T", "M") ==
           APR_EGENERAL && !strcmp(why, "M"),
       "req string: absent is missing");
    ok(pc_json_req_string(&s, doc, "n", p, &why, "T", "M") == APR_EGENERAL &&
           !strcmp(why, "M"),
       "req string: null is missing");
    ok(pc_json_req_string(&s, doc, "e", p, &why, "T", "M") == APR_EGENERAL &&
           !strcmp(why, "M"),
       "req string: empty is missing");
    ok(pc_json_req_string(&s, doc, "o", p, &why, "T", "M") == APR_EGENERAL &&
           !strcmp(why, "T"),
       "req string: an object is the wrong type");

    is_str(pc_json_loose_string(doc, "s", p), "val", "loose string: present");
    ok(pc_json_loose_string(doc, "i", p) == NULL &&
           pc_json_loose_string(doc, "n", p) == NULL &&
           pc_json_loose_string(NULL, "s", p) == NULL &&
           pc_json_loose_string(pc_json_member(doc, "a"), "s", p) == NULL,
       "loose string: wrong type, null, NULL or non-object give NULL");

    ok(pc_json_opt_object(&o, doc, "o") == APR_SUCCESS &&
           pc_json_is(o, PC_JSON_OBJECT),
       "opt object: present");
    ok(pc_json_opt_object(&o, doc, "n") == APR_SUCCESS && o == NULL,
       "opt object: null is absent");
    ok(pc_json_opt_object(&o, doc, "a") == APR_EGENERAL,
       "opt object: an array is an error");
    ok(pc_json_opt_array(&o, doc, "a") == APR_SUCCESS &&
           pc_json_is(o, PC_JSON_ARRAY),
       "opt array: present");
    ok(pc_json_opt_array(&o, doc, "absent") == APR_SUCCESS && o == NULL,
       "opt array: absent");
    ok(pc_json_opt_array(&o, doc, "o") == APR_EGENERAL,
       "opt array: an object is an error");

    ok(pc_json_opt_time(&t, doc, "t") == APR_SUCCESS &&
           t == 1661293414624000LL,
       "opt time: an RFC 3339 timestamp");
    ok(pc_json_opt_time(&t, doc, "n") == APR_SUCCESS && t == 0,
       "opt time: null is absent (0)");
    ok(pc_json_opt_time(&t, doc, "tbad") == APR_EGENERAL &&
           pc_json_opt_time(&t, doc, "i") == APR_EGENERAL,
       "opt time: not a timestamp, or a number, is an error");
}

/* ---- the string writer -------------------------------------------------- */

static void test_quote(void)
{
    static const char *const ctl[32] = {
        NULL,      "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
        "\\u0006", "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b",
        "\\f",     "\\r",     "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
        "\\u001e", "\\u001f"};
    char in[4];
    int c;

    is_str(pc_json_quote(p, NULL), "null", "NULL is null");
    is_str(pc_json_quote(p, ""), "\"\"", "empty string");
    is_str(pc_json_quote(p, "plain text / 1"), "\"plain text / 1\"",
           "plain ASCII, slash unescaped");
    is_str(pc_json_quote(p, "say \"hi\""), "\"say \\\"hi\\\"\"", "quotes");
    is_str(pc_json_quote(p, "a\\b\\\\"), "\"a\\\\b\\\\\\\\\"", "backslashes");
    for (c = 1; c < 32; c++) {
        in[0] = 'x';
        in[1] = (char)c;
        in[2] = '\0';
        is_str(pc_json_quote(p, in), apr_pstrcat(p, "\"x", ctl[c], "\"", NULL),
               "control character 0x%02x", c);
    }
    is_str(pc_json_quote(p, "\x7f"), "\"\\u007f\"", "DEL as \\u007f");
    is_str(pc_json_quote(p, "Caf\xc3\xa9 \"App\""),
           "\"Caf\xc3\xa9 \\\"App\\\"\"", "Caf\xc3\xa9 \"App\"");
    is_str(pc_json_quote(p, "\xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf"),
           "\"\xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf\"",
           "three- and four-byte characters pass unchanged");
    is_str(pc_json_quote(p, "caf\xe9"), "\"caf\\ufffd\"", "a Latin-1 byte");
    is_str(pc_json_quote(p, "\xff\xfe"), "\"\\ufffd\\ufffd\"", "FF FE");
    is_str(pc_json_quote(p, "a\xc3"), "\"a\\ufffd\"", "a cut sequence at the end");
    is_str(pc_json_quote(p, "\xe2\x82x"), "\"\\ufffd\\ufffdx\"",
           "a cut sequence: one per byte");
    is_str(pc_json_quote(p, "\xc0\xaf"), "\"\\ufffd\\ufffd\"", "overlong");
    is_str(pc_json_quote(p, "\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"",
           "a surrogate");
    is_str(pc_json_quote(p, "\xf4\x90\x80\x80!"),
           "\"\\ufffd\\ufffd\\ufffd\\ufffd!\"", "above U+10FFFF");
    is_str(pc_json_quote(p, "\x80\xc3\xa9"), "\"\\ufffd\xc3\xa9\"",
           "a lone continuation byte, then a good character");
}

/* xorshift32: the same "random" strings on every run. */
static unsigned next_rand(unsigned *state)
{
    unsigned x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Pieces with a known outcome: good ones come back as they are, each byte
 * of a bad UTF-8 sequence comes back as U+FFFD.  A cut sequence is followed
 * by '!' so that a lone continuation byte after it cannot complete it. */
#define FFFD "\xef\xbf\xbd"
static const struct {
    const char *raw, *decoded;
} pieces[] = {
    {"a", "a"}, {" ", " "}, {"\"", "\""}, {"\\", "\\"}, {"/", "/"},
    {"\n", "\n"}, {"\t", "\t"}, {"\x01", "\x01"}, {"\x1f", "\x1f"},
    {"\x7f", "\x7f"}, {"\\u0000", "\\u0000"}, {"\xc3\xa9", "\xc3\xa9"},
    {"\xe2\x82\xac", "\xe2\x82\xac"}, {"\xed\x9f\xbf", "\xed\x9f\xbf"},
    {"\xee\x80\x80", "\xee\x80\x80"},
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
    {"\x80", FFFD}, {"\xbf", FFFD}, {"\xc0", FFFD}, {"\xf5", FFFD},
    {"\xff", FFFD}, {"\xc1\xbf", FFFD FFFD}, {"\xc3!", FFFD "!"},
    {"\xe2\x82!", FFFD FFFD "!"}, {"\xf0\x9f\x98!", FFFD FFFD FFFD "!"},
    {"\xed\xa0\x80", FFFD FFFD FFFD}, {"\xe0\x80\xaf", FFFD FFFD FFFD},
    {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},
};

static void test_round_trip(void)
{
    unsigned seed = 0x9e3779b9u, i, k, bad_pieced = 0, bad_random = 0;
    char raw[201];

    for (i = 0; i < 3000; i++) {
        char *s = "", *want = "";
        unsigned n = next_rand(&seed) % 40;
        const char *got;

        for (k = 0; k < n; k++) {
            unsigned r = next_rand(&seed) % (sizeof(pieces) / sizeof(pieces[0]));
            s = apr_pstrcat(p, s, pieces[r].raw, NULL);
            want = apr_pstrcat(p, want, pieces[r].decoded, NULL);
        }
        got = unquote(pc_json_quote(p, s));
        if (got == NULL || strcmp(got, want) != 0)
            bad_pieced++;
    }
    is_int(bad_pieced, 0, "3000 strings of good and bad pieces: the strict "
                          "parser reads back what was meant");

    for (i = 0; i < 3000; i++) {
        unsigned n = 1 + next_rand(&seed) % 200;

        for (k = 0; k < n; k++)
            raw[k] = (char)(1 + next_rand(&seed) % 255);
        raw[n] = '\0';
        if (unquote(pc_json_quote(p, raw)) == NULL)
            bad_random++;
    }
    is_int(bad_random, 0, "3000 random byte strings: the writer's output "
                          "always passes the strict parser as a string");
}

/* ---- the document writer ------------------------------------------------ */

static void test_writer(void)
{
    pc_jw_t *w = pc_jw_make(p);
    pc_json_t *doc;
    const char *text;
    int i;

    pc_jw_object(w, NULL);
    pc_jw_str(w, "name", "Caf\xc3\xa9 \"App\"");
    pc_jw_str(w, "none", NULL);
    pc_jw_int(w, "neg", -42);
    pc_jw_int(w, "min", APR_INT64_MIN);
    pc_jw_uint(w, "max", APR_UINT64_MAX);
    pc_jw_bool(w, "yes", 1);
    pc_jw_bool(w, "no", 0);
    pc_jw_null(w, "nil");
    pc_jw_raw(w, "raw", "{\"x\":[1]}");
    pc_jw_object(w, "key \"quoted\"\n");
    pc_jw_end(w);
    pc_jw_array(w, "list");
    pc_jw_str(w, NULL, "a");
    pc_jw_int(w, NULL, 1);
    pc_jw_array(w, NULL);
    pc_jw_end(w);
    pc_jw_object(w, NULL);
    pc_jw_bool(w, "in", 1);
    text = pc_jw_text(w); /* closes {, [ and { */
    is_str(text,
           "{\"name\":\"Caf\xc3\xa9 \\\"App\\\"\",\"none\":null,\"neg\":-42,"
           "\"min\":-9223372036854775808,\"max\":18446744073709551615,"
           "\"yes\":true,\"no\":false,\"nil\":null,\"raw\":{\"x\":[1]},"
           "\"key \\\"quoted\\\"\\n\":{},\"list\":[\"a\",1,[],{\"in\":true}]}",
           "every kind of value, nesting, and closing at the end");
    doc = text ? parse(text) : NULL;
    is_str(pc_json_loose_string(doc, "name", p), "Caf\xc3\xa9 \"App\"",
           "  the strict parser reads the name back");
    is_str(pc_jw_text(w), text, "the text again: the same");
    pc_jw_int(w, "late", 1);
    ok(pc_jw_text(w) == NULL, "writing after the text spoils the writer");

    w = pc_jw_make(p);
    pc_jw_array(w, NULL);
    for (i = 0; i < 2000; i++)
        pc_jw_str(w, NULL, "0123456789");
    text = pc_jw_text(w);
    is_int(pc_json_array_len(text ? parse(text) : NULL), 2000,
           "2000 elements: the buffer grows, the text parses");
    w = pc_jw_make(p);
    pc_jw_str(w, NULL, "bare");
    is_str(pc_jw_text(w), "\"bare\"", "a bare string document");
    w = pc_jw_make(p);
    for (i = 0; i < PC_JSON_MAX_DEPTH; i++)
        pc_jw_array(w, NULL);
    text = pc_jw_text(w);
    ok(text && parse(text) != NULL, "%d levels written and parsed",
       PC_JSON_MAX_DEPTH);
}

typedef void misuse_fn(pc_jw_t *w);

static void key_in_array(pc_jw_t *w)
{
    pc_jw_array(w, NULL);
    pc_jw_int(w, "k", 1);
}
static void no_key_in_object(pc_jw_t *w)
{
    pc_jw_object(w, NULL);
    pc_jw_int(w, NULL, 1);
}
static void key_at_top(pc_jw_t *w)
{
    pc_jw_object(w, "k");
}
static void two_documents(pc_jw_t *w)
{
    pc_jw_object(w, NULL);
    pc_jw_end(w);
    pc_jw_object(w, NULL);
}
static void end_without_open(pc_jw_t *w)
{
    pc_jw_object(w, NULL);
    pc_jw_end(w);
    pc_jw_end(w);
}
static void too_deep(pc_jw_t *w)
{
    int i;

    for (i = 0; i <= PC_JSON_MAX_DEPTH; i++)
        pc_jw_array(w, NULL);
}
static void raw_null(pc_jw_t *w)
{
    pc_jw_array(w, NULL);
    pc_jw_raw(w, NULL, NULL);
}
static void raw_empty(pc_jw_t *w)
{
    pc_jw_array(w, NULL);
    pc_jw_raw(w, NULL, "");
}
static void nothing(pc_jw_t *w)
{
    (void)w;
}
static void spoilt_stays_spoilt(pc_jw_t *w)
{
    pc_jw_array(w, NULL);
    pc_jw_int(w, "k", 1);
    pc_jw_int(w, NULL, 2);
    pc_jw_end(w);
}

static void test_writer_misuse(void)
{
    static const struct { misuse_fn *fn; const char *what; } cases[] = {
        {key_in_array, "a key inside an array"},
        {no_key_in_object, "no key inside an object"},
        {key_at_top, "a key for the document"},
        {two_documents, "a second top-level value"},
        {end_without_open, "an end with nothing open"},
        {too_deep, "nesting deeper than PC_JSON_MAX_DEPTH"},
        {raw_null, "raw JSON given as NULL"},
        {raw_empty, "raw JSON given as \"\""},
        {nothing, "nothing written"},
        {spoilt_stays_spoilt, "good calls after a misuse"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pc_jw_t *w = pc_jw_make(p);

        cases[i].fn(w);
        ok(pc_jw_text(w) == NULL, "writer misuse gives NULL: %s",
           cases[i].what);
    }
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);

    test_parse_accepts();
    test_parse_refuses();
    test_parse_lifetime();
    test_read();
    test_values();
    test_each_member();
    test_members();
    test_quote();
    test_round_trip();
    test_writer();
    test_writer_misuse();

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

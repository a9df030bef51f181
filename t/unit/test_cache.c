/* Unit tests: cache keys, value encoding/decoding, TTL arithmetic. */
#include "pc_cache.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdlib.h>

static apr_pool_t *p;

#define USER_ID "5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5d"
#define APP_ID "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
#define CONSENT_ID "0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1"

static apr_array_header_t *scopes_of(const char *const *s, int n)
{
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));
    int i;
    for (i = 0; i < n; i++)
        APR_ARRAY_PUSH(a, const char *) = s[i];
    return a;
}

static pc_consent_t *make_consent(const char *status, const char *app_name,
                                  const char *const *scopes, int nscopes,
                                  apr_time_t expires_at)
{
    pc_consent_t *c = apr_pcalloc(p, sizeof(*c));
    c->id = CONSENT_ID;
    c->status = status;
    c->app_name = app_name;
    c->scopes = scopes_of(scopes, nscopes);
    c->expires_at = expires_at;
    return c;
}

static pc_cache_entry_t consent_entry(pc_consent_t *c)
{
    pc_cache_entry_t e;
    memset(&e, 0, sizeof(e));
    e.kind = PC_CK_CONSENT;
    e.fetched_at = apr_time_from_sec(1700000000);
    e.fresh_until = apr_time_from_sec(1700000300);
    e.user_id = USER_ID;
    e.app = APP_ID;
    e.consent = c;
    return e;
}

static int keys_equal(const unsigned char *a, const unsigned char *b)
{
    return memcmp(a, b, PC_CACHE_KEY_LEN) == 0;
}

static const char *hex(const unsigned char *k)
{
    char *s = apr_palloc(p, 2 * PC_CACHE_KEY_LEN + 1);
    int i;
    for (i = 0; i < PC_CACHE_KEY_LEN; i++)
        apr_snprintf(s + 2 * i, 3, "%02x", k[i]);
    return s;
}

/* ---- keys --------------------------------------------------------------- */

static void test_key(void)
{
    unsigned char a[PC_CACHE_KEY_LEN], b[PC_CACHE_KEY_LEN];

    pc_cache_key(a, PC_CK_CONSENT, "env", "user", "app");
    pc_cache_key(b, PC_CK_CONSENT, "env", "user", "app");
    ok(keys_equal(a, b), "key is deterministic");
    /* SHA-1 of "\x01env\0user\0app", computed independently */
    is_str(hex(a), "a8c9d2a4f8f98d07780d992db3c18913b023cacd",
           "key is SHA-1 of kind, env, NUL, user, NUL, app");

    pc_cache_key(b, PC_CK_USER, "env", "user", "app");
    ok(!keys_equal(a, b), "key differs by kind");
    pc_cache_key(b, PC_CK_CONSENT, "env2", "user", "app");
    ok(!keys_equal(a, b), "key differs by environment");
    pc_cache_key(b, PC_CK_CONSENT, "env", "User", "app");
    ok(!keys_equal(a, b), "key differs by user (case)");
    pc_cache_key(b, PC_CK_CONSENT, "env", "user", "app2");
    ok(!keys_equal(a, b), "key differs by application");

    pc_cache_key(a, PC_CK_CONSENT, "env", "ab", "c");
    pc_cache_key(b, PC_CK_CONSENT, "env", "a", "bc");
    ok(!keys_equal(a, b), "user/app boundary matters (ab,c vs a,bc)");
    pc_cache_key(a, PC_CK_CONSENT, "ab", "c", "app");
    pc_cache_key(b, PC_CK_CONSENT, "a", "bc", "app");
    ok(!keys_equal(a, b), "env/user boundary matters (ab,c vs a,bc)");
    pc_cache_key(a, PC_CK_CONSENT, "env", "user", "");
    pc_cache_key(b, PC_CK_CONSENT, "env", "", "user");
    ok(!keys_equal(a, b), "user in app slot differs");

    pc_cache_key(a, PC_CK_USER, NULL, NULL, NULL);
    pc_cache_key(b, PC_CK_USER, "", "", "");
    ok(keys_equal(a, b), "NULL strings hash as empty");
    is_str(hex(a), "32a3cf4aef238d77278831c3744c1327dcc8f8c0",
           "empty key is SHA-1 of \\x02\\0\\0");
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip(void)
{
    static const char *const sc[] = {"openid", "profile", "email",
                                     "read:reports", "", "x y"};
    const char *uname = "Portail Clients \xe2\x80\x94 Z\xc3\xbcrich "
                        "\xe6\x97\xa5\xe6\x9c\xac";
    pc_consent_t *c = make_consent("ACCEPTED", uname, sc, 6,
                                   apr_time_from_sec(1800000000));
    pc_cache_entry_t e = consent_entry(c), d;
    unsigned char *buf;
    unsigned int len;
    int i, all;

    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode full entry");
    is_int(pc_cache_decode(&d, buf, len, USER_ID, APP_ID, p), APR_SUCCESS,
           "decode full entry");
    is_int(d.kind, PC_CK_CONSENT, "kind");
    is_int(d.fetched_at, e.fetched_at, "fetched_at");
    is_int(d.fresh_until, e.fresh_until, "fresh_until");
    is_str(d.user_id, USER_ID, "user_id");
    is_str(d.app, APP_ID, "app");
    is_int(d.unknown_user, 0, "not unknown_user");
    ok(d.consent != NULL, "consent present");
    if (d.consent == NULL)
        return;
    is_str(d.consent->id, CONSENT_ID, "consent id");
    is_str(d.consent->status, "ACCEPTED", "status");
    is_str(d.consent->app_name, uname, "unicode app name");
    ok(d.consent->app_id == NULL, "app_id not carried");
    is_str(d.consent->user_id, USER_ID, "consent user_id from the entry");
    is_int(d.consent->expires_at, apr_time_from_sec(1800000000), "expires_at");
    is_int(d.consent->scopes->nelts, 6, "six scopes");
    for (i = 0, all = 1; i < 6 && d.consent->scopes->nelts == 6; i++)
        if (strcmp(APR_ARRAY_IDX(d.consent->scopes, i, const char *), sc[i]))
            all = 0;
    ok(all, "scopes in order, including empty and spaced ones");
}

static void test_round_trip_statuses(void)
{
    static const char *const in[] = {"REVOKED", "DECLINED", "PENDING",
                                     "accepted", NULL};
    static const char *const out[] = {"REVOKED", "DECLINED", "OTHER", "OTHER",
                                      "OTHER"};
    static const int code[] = {2, 3, 4, 4, 4};
    int i;

    for (i = 0; i < 5; i++) {
        pc_cache_entry_t e = consent_entry(make_consent(in[i], NULL, NULL, 0, 0)), d;
        unsigned char *buf;
        unsigned int len;
        is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode status %s",
               in[i] ? in[i] : "NULL");
        is_int(buf[2], code[i], "status byte for %s", in[i] ? in[i] : "NULL");
        is_int(pc_cache_decode(&d, buf, len, NULL, NULL, p), APR_SUCCESS, "decode");
        is_str(d.consent ? d.consent->status : NULL, out[i], "status decodes");
        ok(d.consent && d.consent->app_name == NULL, "empty app name is NULL");
        ok(d.consent && d.consent->scopes && d.consent->scopes->nelts == 0,
           "no scopes: empty array");
        is_int(d.consent ? d.consent->expires_at : -1, 0, "no expiry");
    }
}

static void test_round_trip_none(void)
{
    pc_cache_entry_t e = consent_entry(NULL), d;
    unsigned char *buf;
    unsigned int len;

    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode no-consent");
    is_int(buf[1], PC_CK_CONSENT, "kind byte without flag");
    is_int(buf[2], PC_CS_NONE, "status none");
    is_int(pc_cache_decode(&d, buf, len, USER_ID, APP_ID, p), APR_SUCCESS,
           "decode no-consent");
    ok(d.consent == NULL, "consent NULL");
    is_int(d.unknown_user, 0, "unknown_user 0");
    is_int(d.fresh_until, e.fresh_until, "fresh_until kept");

    e.unknown_user = 1;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode unknown user");
    is_int(buf[1], 0x80 | PC_CK_CONSENT, "unknown-user flag in kind high bit");
    is_int(pc_cache_decode(&d, buf, len, USER_ID, APP_ID, p), APR_SUCCESS,
           "decode unknown user");
    ok(d.consent == NULL, "unknown user: consent NULL");
    is_int(d.unknown_user, 1, "unknown_user 1");
    is_int(d.kind, PC_CK_CONSENT, "kind without flag");

    /* unknown_user is meaningless next to a consent: not written */
    e.consent = make_consent("ACCEPTED", NULL, NULL, 0, 0);
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode consent+flag");
    is_int(buf[1], PC_CK_CONSENT, "flag not written with a consent");
}

static void test_round_trip_user(void)
{
    pc_cache_entry_t e, d;
    unsigned char *buf;
    unsigned int len;

    memset(&e, 0, sizeof(e));
    e.kind = PC_CK_USER;
    e.fetched_at = apr_time_from_sec(1700000000);
    e.fresh_until = apr_time_from_sec(1700003600);
    e.user_id = USER_ID;
    e.app = "j\xc3\xb6rg@example.com";
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode user entry");
    is_int(buf[1], PC_CK_USER, "kind byte 2");
    is_int(pc_cache_decode(&d, buf, len, NULL, NULL, p), APR_SUCCESS,
           "decode user entry");
    is_int(d.kind, PC_CK_USER, "kind user");
    is_str(d.user_id, USER_ID, "user id");
    is_str(d.app, "j\xc3\xb6rg@example.com", "username");
    ok(d.consent == NULL, "no consent");
    is_int(d.fresh_until, e.fresh_until, "fresh_until");

    e.user_id = NULL; /* user not found: stored as "" */
    e.app = NULL;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode NULL strings");
    is_int(len, 20, "16 header bytes + 4 empty strings");
    is_int(pc_cache_decode(&d, buf, len, "", "", p), APR_SUCCESS, "decode");
    is_str(d.user_id, "", "NULL user becomes empty");
    is_str(d.app, "", "NULL app becomes empty");
}

/* ---- exact bytes -------------------------------------------------------- */

static void test_layout(void)
{
    static const char *const sc[] = {"a", "bc"};
    static const unsigned char want[] = {
        0x02, 0x01, 0x01, 0x02,             /* format, kind, ACCEPTED, 2 scopes */
        0x01, 0x02, 0x03, 0x04,             /* fetched_at */
        0x0A, 0x0B, 0x0C, 0x0D,             /* fresh_until */
        0x11, 0x22, 0x33, 0x44,             /* expires_at */
        0x02, 'u', '1',                     /* user */
        0x02, 'a', 'p',                     /* app */
        0x01, 'c',                          /* consent id */
        0x01, 'N',                          /* app name */
        0x01, 'a',                          /* scope */
        0x02, 'b', 'c',                     /* scope */
    };
    pc_consent_t *c = make_consent("ACCEPTED", "N", sc, 2,
                                   apr_time_from_sec(0x11223344) + 999999);
    pc_cache_entry_t e, d;
    unsigned char *buf;
    unsigned int len;

    c->id = "c";
    memset(&e, 0, sizeof(e));
    e.kind = PC_CK_CONSENT;
    e.fetched_at = apr_time_from_sec(0x01020304);
    e.fresh_until = apr_time_from_sec(0x0A0B0C0D);
    e.user_id = "u1";
    e.app = "ap";
    e.consent = c;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode small entry");
    is_int(len, sizeof(want), "length of small entry");
    ok(len == sizeof(want) && memcmp(buf, want, len) == 0,
       "bytes match the documented layout (big-endian, sub-second truncated)");
    is_int(pc_cache_decode(&d, want, sizeof(want), "u1", "ap", p), APR_SUCCESS,
           "hand-built bytes decode");
    is_int(d.consent ? d.consent->expires_at : 0, apr_time_from_sec(0x11223344),
           "expires_at to the second");

    {   /* canonical lowercase UUIDs, scopes included, are packed */
        static const char *const usc[] = {"00112233-4455-6677-8899-aabbccddeeff"};
        static const unsigned char uwant[] = {
            0x02, 0x01, 0x01, 0x01,         /* format, kind, ACCEPTED, 1 scope */
            0x01, 0x02, 0x03, 0x04,         /* fetched_at */
            0x0A, 0x0B, 0x0C, 0x0D,         /* fresh_until */
            0x11, 0x22, 0x33, 0x44,         /* expires_at */
            0xFF, 0x5d, 0x1b, 0x2a, 0x3c, 0x8f, 0x4e, 0x4b, 0x6a, /* user */
                  0x9c, 0x7d, 0x0e, 0x1f, 0x2a, 0x3b, 0x4c, 0x5d,
            0x02, 'a', 'p',                 /* app (text) */
            0xFF, 0x0f, 0x9e, 0x8d, 0x7c, 0x6b, 0x5a, 0x49, 0x48, /* consent id */
                  0x83, 0x72, 0x61, 0x50, 0xf4, 0xe3, 0xd2, 0xc1,
            0x00,                           /* app name (empty) */
            0xFF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, /* scope */
                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        };
        pc_consent_t *uc = make_consent("ACCEPTED", NULL, usc, 1,
                                        apr_time_from_sec(0x11223344));
        e.user_id = USER_ID;
        e.consent = uc;
        is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode UUID entry");
        is_int(len, sizeof(uwant), "length of UUID entry");
        ok(len == sizeof(uwant) && memcmp(buf, uwant, len) == 0,
           "UUIDs stored as 0xFF + 16 raw bytes, other text as length + bytes");
        is_int(pc_cache_decode(&d, uwant, sizeof(uwant), USER_ID, "ap", p),
               APR_SUCCESS, "hand-built UUID bytes decode (expected user matches)");
        is_str(d.user_id, USER_ID, "user UUID decodes to lowercase text");
        is_str(d.consent ? d.consent->id : NULL, CONSENT_ID,
               "consent UUID decodes to lowercase text");
        is_str(d.consent && d.consent->scopes->nelts == 1
                   ? APR_ARRAY_IDX(d.consent->scopes, 0, const char *) : NULL,
               usc[0], "scope UUID decodes to lowercase text");
        e.user_id = "u1";
    }

    /* clamping: before the epoch -> 0, past 2106 -> UINT32_MAX */
    e.consent = NULL;
    e.fetched_at = -apr_time_from_sec(1);
    e.fresh_until = apr_time_from_sec(APR_INT64_C(0x100000005));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode out-of-range times");
    ok(memcmp(buf + 4, "\0\0\0\0\xff\xff\xff\xff\0\0\0\0", 12) == 0,
       "times clamped to 0 and UINT32_MAX");
    is_int(pc_cache_decode(&d, buf, len, NULL, NULL, p), APR_SUCCESS, "decode clamped");
    is_int(d.fetched_at, 0, "negative time decodes as 0");
    is_int(d.fresh_until, apr_time_from_sec(APR_INT64_C(0xFFFFFFFF)),
           "huge time decodes as UINT32_MAX seconds");
}

/* ---- rejections --------------------------------------------------------- */

static unsigned char *sample(unsigned int *len)
{
    static const char *const sc[] = {"openid", "profile"};
    pc_cache_entry_t e = consent_entry(make_consent("ACCEPTED", "Web", sc, 2, 0));
    unsigned char *buf;
    if (pc_cache_encode(&buf, len, &e, p) != APR_SUCCESS)
        return NULL;
    return buf;
}

static unsigned char *copy(const unsigned char *b, unsigned int len,
                           unsigned int extra)
{
    unsigned char *c = malloc(len + extra); /* exact size: ASan sees overreads */
    memcpy(c, b, len);
    return c;
}

static void test_decode_rejects(void)
{
    pc_cache_entry_t d;
    unsigned int len, n, bad, off;
    unsigned char *buf = sample(&len), *m;

    ok(buf != NULL, "sample encodes");
    if (buf == NULL)
        return;
    is_int(pc_cache_decode(&d, buf, len, NULL, NULL, p), APR_SUCCESS, "sample decodes");

    m = copy(buf, len, 0);
    m[0] = 1;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "format 1 (UUIDs as text) rejected");
    m[0] = 3;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL, "format 3 rejected");
    m[0] = 0;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL, "format 0 rejected");
    free(m);

    for (n = 0, bad = 0; n < len; n++) {
        m = copy(buf, n, 0);
        if (pc_cache_decode(&d, m, n, NULL, NULL, p) != APR_EINVAL)
            bad++;
        free(m);
    }
    is_int(bad, 0, "every truncation 0..%u rejected", len - 1);

    m = copy(buf, len, 1);
    m[len] = 0;
    is_int(pc_cache_decode(&d, m, len + 1, NULL, NULL, p), APR_EINVAL,
           "trailing byte rejected");
    free(m);

    m = copy(buf, len, 0);
    m[1] = 3;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL, "kind 3 rejected");
    m[1] = 0;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL, "kind 0 rejected");
    m[1] = 0x80 | PC_CK_CONSENT;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "unknown-user flag with a consent rejected");
    m[1] = PC_CK_CONSENT;
    m[2] = 5;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL, "status 5 rejected");
    m[2] = 0;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "status none with scopes rejected");
    m[2] = 1;
    m[3] = 3;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "scope count past the end rejected");
    m[3] = 1;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "scope count short of the end rejected");
    m[3] = 2;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_SUCCESS, "restored copy decodes");

    /* last string is "profile" (1 + 7 bytes at the end) */
    off = len - 8;
    is_int(m[off], 7, "found the last length byte");
    m[off] = 8;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "string length one past the end rejected");
    m[off] = 254;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "string length 254 past the end rejected");
    m[off] = 255;
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "UUID marker with only 7 bytes left rejected");
    m[off] = 7;
    is_int(m[16], 0xFF, "user id is a packed UUID");
    m[16] = 200; /* user id length */
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "first string length past the end rejected");
    m[16] = 0xFF;
    /* app name "Web" follows the three packed UUIDs */
    off = 16 + 3 * 17;
    is_int(m[off], 3, "found the app name length byte");
    m[off + 2] = '\0';
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "NUL inside the app name rejected");
    m[off + 2] = 'e';
    m[17 + 5] = 0; /* a zero byte inside a packed UUID is just data */
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_SUCCESS,
           "zero byte inside a packed UUID decodes");
    is_str(d.user_id, "5d1b2a3c-8f00-4b6a-9c7d-0e1f2a3b4c5d",
           "as 00 in the text form");
    m[17 + 5] = buf[17 + 5];
    m[len - 1] = '\0';
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "NUL at the end of a scope rejected");
    m[len - 1] = 'e';
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_SUCCESS, "restored copy decodes");
    free(m);

    is_int(pc_cache_decode(&d, buf, PC_CACHE_MAX_VALUE + 1, NULL, NULL, p),
           APR_EINVAL, "len over PC_CACHE_MAX_VALUE rejected before reading");
    is_int(pc_cache_decode(&d, NULL, 0, NULL, NULL, p), APR_EINVAL, "NULL buffer");

    {   /* hand-built, otherwise valid values of exactly the limit and one
         * byte over: 16 header + 4 empty strings + 15 x 254-byte scopes +
         * one last scope that fills up */
        unsigned int sizes[2] = {PC_CACHE_MAX_VALUE, PC_CACHE_MAX_VALUE + 1};
        apr_status_t want[2] = {APR_SUCCESS, APR_EINVAL};
        int k, i;
        for (k = 0; k < 2; k++) {
            unsigned int total = sizes[k], w = 0;
            m = malloc(total);
            memset(m, 'z', total);
            m[w++] = PC_CACHE_FORMAT;
            m[w++] = PC_CK_CONSENT;
            m[w++] = PC_CS_ACCEPTED;
            m[w++] = 16;
            memset(m + w, 0, 12 + 4);
            w += 12 + 4;
            for (i = 0; i < 15; i++) {
                m[w] = 254;
                w += 255;
            }
            m[w] = (unsigned char)(total - w - 1);
            is_int(pc_cache_decode(&d, m, total, NULL, NULL, p), want[k],
                   "decodable value of %u bytes: %s", total,
                   k ? "over the limit, rejected" : "at the limit, accepted");
            free(m);
        }
    }

    {   /* no-consent entries must not carry consent fields */
        pc_cache_entry_t e = consent_entry(NULL);
        unsigned char *nb;
        unsigned int nl;
        pc_cache_encode(&nb, &nl, &e, p);
        m = copy(nb, nl, 0);
        m[15] = 1;
        is_int(pc_cache_decode(&d, m, nl, NULL, NULL, p), APR_EINVAL,
               "status none with an expiry rejected");
        free(m);
        m = copy(nb, nl + 1, 0);
        memcpy(m, nb, nl - 2);
        m[nl - 2] = 1; /* consent id "x" */
        m[nl - 1] = 'x';
        m[nl] = 0;
        is_int(pc_cache_decode(&d, m, nl + 1, NULL, NULL, p), APR_EINVAL,
               "status none with a consent id rejected");
        free(m);
    }
}

/* ---- UUID packing ------------------------------------------------------- */

/* The layout example with the user id replaced by a text string. */
static unsigned char *with_text_user(const char *user, unsigned int *len)
{
    static const unsigned char head[] = {
        0x02, 0x01, 0x01, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
    };
    static const unsigned char tail[] = {0x02, 'a', 'p', 0x01, 'c', 0x00};
    size_t n = strlen(user);
    unsigned char *m = malloc(sizeof(head) + 1 + n + sizeof(tail));

    memcpy(m, head, sizeof(head));
    m[sizeof(head)] = (unsigned char)n;
    memcpy(m + sizeof(head) + 1, user, n);
    memcpy(m + sizeof(head) + 1 + n, tail, sizeof(tail));
    *len = (unsigned int)(sizeof(head) + 1 + n + sizeof(tail));
    return m;
}

static void test_uuid(void)
{
    static const char *const text[] = {
        "5D1B2A3C-8F4E-4B6A-9C7D-0E1F2A3B4C5D", /* uppercase */
        "5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5D", /* one uppercase digit */
        "5d1b2a3c8f4e-4b6a-9c7d-0e1f2a3b4c5d-", /* dash misplaced */
        "5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5g", /* not hex */
        "5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5",  /* 35 chars */
        "5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5d0", /* 37 chars */
        "{5d1b2a3c-8f4e-4b6a-9c7d-0e1f2a3b4c5}",
        "5d1b2a3c58f4e54b6a59c7d50e1f2a3b4c5d",  /* digits where dashes go */
    };
    pc_cache_entry_t e = consent_entry(make_consent("ACCEPTED", NULL, NULL, 0, 0)), d;
    unsigned char *buf, *m;
    unsigned int len, i;

    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        size_t n = strlen(text[i]);
        e.user_id = text[i];
        is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS,
               "encode near-UUID user %u", i);
        ok(len > 17 + n && buf[16] == n && memcmp(buf + 17, text[i], n) == 0,
           "near-UUID user %u stored as text", i);
        is_int(pc_cache_decode(&d, buf, len, text[i], APP_ID, p), APR_SUCCESS,
               "near-UUID user %u round-trips and matches byte for byte", i);
        is_str(d.user_id, text[i], "near-UUID user %u unchanged", i);
    }
    e.user_id = text[0];
    pc_cache_encode(&buf, &len, &e, p);
    is_int(pc_cache_decode(&d, buf, len, USER_ID, NULL, p), APR_EMISMATCH,
           "uppercase UUID user does not match the lowercase one");

    /* a packed UUID next to text: all three UUID fields packed */
    e = consent_entry(make_consent("ACCEPTED", NULL, NULL, 0, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode UUID entry");
    is_int(len, 16 + 3 * 17 + 1, "three packed UUIDs + empty app name");
    ok(buf[16] == 0xFF && buf[33] == 0xFF && buf[50] == 0xFF,
       "user, app and consent id carry the marker");

    /* the same bytes as text are not canonical */
    m = with_text_user("u1", &len);
    is_int(pc_cache_decode(&d, m, len, "u1", "ap", p), APR_SUCCESS,
           "text user (control) decodes");
    free(m);
    m = with_text_user(USER_ID, &len);
    is_int(pc_cache_decode(&d, m, len, NULL, NULL, p), APR_EINVAL,
           "lowercase UUID encoded as text rejected");
    free(m);
    m = with_text_user(text[0], &len);
    is_int(pc_cache_decode(&d, m, len, text[0], "ap", p), APR_SUCCESS,
           "uppercase UUID encoded as text decodes");
    free(m);

    /* marker followed by fewer than 16 bytes */
    {
        static const unsigned char head[] = {
            0x02, 0x01, 0x00, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
            0x00, 0x00, 0x00,                   /* user, app, consent id */
            0xFF,                               /* app name: marker */
        };
        unsigned int k, bad = 0;
        for (k = 0; k < 16; k++) {
            m = malloc(sizeof(head) + k); /* exact size: ASan sees overreads */
            memcpy(m, head, sizeof(head));
            memset(m + sizeof(head), 0xab, k);
            if (pc_cache_decode(&d, m, (unsigned int)sizeof(head) + k, NULL,
                                NULL, p) != APR_EINVAL)
                bad++;
            free(m);
        }
        is_int(bad, 0, "UUID marker with 0..15 bytes left rejected");
    }
    {
        static const unsigned char head[] = {
            0x02, 0x01, 0x00, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
            0xFF,                               /* user: marker */
        };
        static const unsigned char tail[] = {0x00, 0x00, 0x00};
        unsigned int k, bad = 0;
        for (k = 0; k < 16; k++) {
            m = malloc(sizeof(head) + k + sizeof(tail));
            memcpy(m, head, sizeof(head));
            memset(m + sizeof(head), 0xab, k);
            memcpy(m + sizeof(head) + k, tail, sizeof(tail));
            if (pc_cache_decode(&d, m, (unsigned int)(sizeof(head) + k + sizeof(tail)),
                                NULL, NULL, p) != APR_EINVAL)
                bad++;
            free(m);
        }
        is_int(bad, 0, "UUID marker eating the following strings rejected");
        m = malloc(sizeof(head) + 16 + sizeof(tail));
        memcpy(m, head, sizeof(head));
        memset(m + sizeof(head), 0xab, 16);
        memcpy(m + sizeof(head) + 16, tail, sizeof(tail));
        is_int(pc_cache_decode(&d, m, (unsigned int)(sizeof(head) + 16 + sizeof(tail)),
                               "abababab-abab-abab-abab-abababababab", "", p),
               APR_SUCCESS, "UUID marker with 16 bytes decodes");
        free(m);
    }
}

/* Every single-byte change either fails cleanly or decodes to an entry
 * that encodes back to exactly the same bytes (the format is canonical). */
static void test_mutations(void)
{
    unsigned int len, pos, v, fails = 0, accepted = 0;
    unsigned char *buf = sample(&len), *m;
    apr_pool_t *sub;

    if (buf == NULL)
        return;
    apr_pool_create(&sub, p);
    m = copy(buf, len, 0);
    for (pos = 0; pos < len; pos++) {
        for (v = 0; v < 256; v++) {
            pc_cache_entry_t d;
            unsigned char *again;
            unsigned int alen;
            apr_status_t rv;

            m[pos] = (unsigned char)v;
            rv = pc_cache_decode(&d, m, len, NULL, NULL, sub);
            if (rv == APR_SUCCESS) {
                accepted++;
                if (pc_cache_encode(&again, &alen, &d, sub) != APR_SUCCESS ||
                    alen != len || memcmp(again, m, len) != 0)
                    fails++;
            }
            else if (rv != APR_EINVAL)
                fails++;
            apr_pool_clear(sub);
        }
        m[pos] = buf[pos];
    }
    free(m);
    apr_pool_destroy(sub);
    ok(accepted > 0, "some mutations decode (%u)", accepted);
    is_int(fails, 0, "all %u single-byte mutations fail cleanly or re-encode "
           "identically", len * 256);
}

static void test_expect(void)
{
    pc_cache_entry_t d;
    unsigned int len;
    unsigned char *buf = sample(&len);

    if (buf == NULL)
        return;
    is_int(pc_cache_decode(&d, buf, len, USER_ID, APP_ID, p), APR_SUCCESS,
           "expected user and app match");
    is_int(pc_cache_decode(&d, buf, len, USER_ID, NULL, p), APR_SUCCESS,
           "only user checked");
    is_int(pc_cache_decode(&d, buf, len, NULL, APP_ID, p), APR_SUCCESS,
           "only app checked");
    is_int(pc_cache_decode(&d, buf, len, "other", APP_ID, p), APR_EMISMATCH,
           "other user: mismatch");
    is_int(pc_cache_decode(&d, buf, len, USER_ID, "other", p), APR_EMISMATCH,
           "other app: mismatch");
    is_int(pc_cache_decode(&d, buf, len, USER_ID "x", APP_ID, p), APR_EMISMATCH,
           "longer user: mismatch");
    is_int(pc_cache_decode(&d, buf, len, "5D1B2A3C-8F4E-4B6A-9C7D-0E1F2A3B4C5D",
                           NULL, p), APR_EMISMATCH, "user compared case-sensitively");
    is_int(pc_cache_decode(&d, buf, len, "", NULL, p), APR_EMISMATCH,
           "empty user: mismatch");
}

/* ---- encoder limits ----------------------------------------------------- */

static void test_encode_limits(void)
{
    char *s254 = apr_palloc(p, 256), *s255 = apr_palloc(p, 256);
    const char *many[256], *big[20];
    pc_cache_entry_t e;
    unsigned char *buf = NULL;
    unsigned int len = 0;
    int i;

    memset(s254, 'x', 254);
    s254[254] = '\0';
    memset(s255, 'y', 255);
    s255[255] = '\0';
    for (i = 0; i < 256; i++)
        many[i] = "s";
    for (i = 0; i < 20; i++)
        big[i] = s254;

    e = consent_entry(make_consent("ACCEPTED", NULL, (const char *const *)&s254, 1, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "254-byte scope accepted");
    is_int(len, 16 + 3 * 17 + 1 + 1 + 254, "254-byte scope: length byte + bytes");
    is_int(buf[len - 255], 254, "254-byte scope: length byte 254");
    e = consent_entry(make_consent("ACCEPTED", NULL, (const char *const *)&s255, 1, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL,
           "255-byte scope rejected (255 is the UUID marker)");
    e = consent_entry(make_consent("ACCEPTED", NULL, many, 255, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "255 scopes accepted");
    is_int(buf[3], 255, "scope count byte 255");
    e = consent_entry(make_consent("ACCEPTED", NULL, many, 256, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "256 scopes rejected");
    e = consent_entry(make_consent("ACCEPTED", s255, NULL, 0, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "255-byte app name rejected");
    e = consent_entry(NULL);
    e.user_id = s255;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "255-byte user rejected");
    e.user_id = s254;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "254-byte user accepted");
    e = consent_entry(NULL);
    e.app = s255;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "255-byte app rejected");
    e = consent_entry(make_consent("ACCEPTED", NULL, NULL, 0, 0));
    e.consent->id = s255;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "255-byte consent id rejected");
    e = consent_entry(make_consent("ACCEPTED", NULL, big, 20, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL,
           "value over PC_CACHE_MAX_VALUE rejected");
    e = consent_entry(make_consent("ACCEPTED", NULL, big, 15, 0));
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "15 x 254-byte scopes fit");
    ok(len <= PC_CACHE_MAX_VALUE, "and stay within PC_CACHE_MAX_VALUE (%u)", len);
    e = consent_entry(NULL);
    e.kind = (pc_cache_kind_e)3;
    is_int(pc_cache_encode(&buf, &len, &e, p), APR_EINVAL, "encode rejects kind 3");
}

static void test_typical_size(void)
{
    static const char *const sc[] = {"openid", "profile", "email"};
    pc_cache_entry_t e = consent_entry(make_consent("ACCEPTED", "Web Portal", sc, 3,
                                                    apr_time_from_sec(1800000000)));
    unsigned char *buf;
    unsigned int len = 0;

    is_int(pc_cache_encode(&buf, &len, &e, p), APR_SUCCESS, "encode typical entry");
    printf("# typical consent value: %u bytes\n", len);
    /* 16 header + 3 packed UUIDs (3 x 17) + "Web Portal" (11) + scopes (21) */
    is_int(len, 16 + 3 * 17 + 11 + 7 + 8 + 6, "typical size follows the layout");
    ok(PC_CACHE_KEY_LEN + len + 24 <= 200,
       "key + typical value + shmcb index (24) fit in 200 bytes (%u)",
       PC_CACHE_KEY_LEN + len + 24);
}

/* ---- TTL arithmetic ----------------------------------------------------- */

static void test_ttl(void)
{
    apr_time_t now = apr_time_from_sec(1700000000) + 123456;
    pc_consent_t *acc = make_consent("ACCEPTED", NULL, NULL, 0, 0);
    pc_consent_t *rev = make_consent("REVOKED", NULL, NULL, 0, 0);
    pc_cache_entry_t e;

    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(300),
           "accepted: allow ttl");
    is_int(pc_cache_fresh_until(now, rev, 300, 60), now + apr_time_from_sec(60),
           "revoked: deny ttl");
    is_int(pc_cache_fresh_until(now, NULL, 300, 60), now + apr_time_from_sec(60),
           "no consent: deny ttl");
    acc->status = NULL;
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(60),
           "NULL status: deny ttl");
    acc->status = "ACCEPTED";

    acc->expires_at = now + apr_time_from_sec(100);
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(100),
           "capped at the consent's expiry");
    acc->expires_at = now + apr_time_from_sec(300);
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(300),
           "expiry equal to the ttl: ttl");
    acc->expires_at = now + apr_time_from_sec(1000);
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(300),
           "later expiry: ttl");
    acc->expires_at = now + 1;
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + 1,
           "expiry a microsecond away: capped");
    acc->expires_at = now;
    is_int(pc_cache_fresh_until(now, acc, 300, 60), now + apr_time_from_sec(60),
           "already expired: cached like a deny");
    is_int(pc_cache_fresh_until(now, acc, 300, 0), 0,
           "already expired, deny ttl 0: not cached");
    rev->expires_at = now + apr_time_from_sec(10);
    is_int(pc_cache_fresh_until(now, rev, 300, 60), now + apr_time_from_sec(60),
           "expiry ignored for a deny");
    acc->expires_at = 0;

    is_int(pc_cache_fresh_until(now, acc, 0, 60), 0, "allow ttl 0: do not cache");
    is_int(pc_cache_fresh_until(now, acc, -5, 60), 0, "allow ttl negative: do not cache");
    is_int(pc_cache_fresh_until(now, NULL, 300, 0), 0, "deny ttl 0: do not cache");
    is_int(pc_cache_fresh_until(now, rev, 300, 0), 0, "deny ttl 0, revoked: do not cache");

    is_int(pc_cache_store_expiry(now, 600), now + apr_time_from_sec(600),
           "store expiry adds the stale window");
    is_int(pc_cache_store_expiry(now, 0), now, "no stale window");
    is_int(pc_cache_store_expiry(now, -10), now, "negative window is 0");

    memset(&e, 0, sizeof(e));
    e.fresh_until = now;
    is_int(pc_cache_freshness(&e, now - 1, 30), 1, "just before fresh_until: fresh");
    is_int(pc_cache_freshness(&e, now, 30), 0, "exactly at fresh_until: stale");
    is_int(pc_cache_freshness(&e, now + apr_time_from_sec(30) - 1, 30), 0,
           "just inside the window: stale");
    is_int(pc_cache_freshness(&e, now + apr_time_from_sec(30), 30), -1,
           "exactly at the window's end: unusable");
    is_int(pc_cache_freshness(&e, now, 0), -1, "no window: at fresh_until unusable");
    is_int(pc_cache_freshness(&e, now, -30), -1, "negative window is 0");
    is_int(pc_cache_freshness(&e, now - 1, 0), 1, "no window: fresh before");
}

static void test_tombstone(void)
{
    char buf[PC_TOMBSTONE_MAX];
    apr_time_t t, now = apr_time_from_sec(1700000000) + 123456;
    unsigned int n;
    unsigned char k1[PC_CACHE_KEY_LEN], k2[PC_CACHE_KEY_LEN];
    static const struct { const char *v; const char *why; } bad[] = {
        {"", "empty"},
        {"PCT1 ", "tag without a time"},
        {"PCT1 0", "zero"},
        {"PCT1 0123", "leading zero"},
        {"PCT1 -5", "negative"},
        {"PCT1 +5", "sign"},
        {"PCT1 12a", "letter"},
        {"PCT1 12 ", "trailing space"},
        {"PCT1  12", "two spaces"},
        {"PCT2 12", "other version"},
        {"pct1 12", "lowercase tag"},
        {"PCT112", "no space"},
        {"PCT1 99999999999999999999", "20 digits"},
        {"PCT1 9999999999999999999", "19 digits over INT64_MAX"},
        {"\x02\x01\x01", "a consent value"},
    };
    size_t i;

    n = pc_cache_tombstone_encode(buf, now);
    ok(n > 5 && n < PC_TOMBSTONE_MAX, "tombstone encodes (%u bytes)", n);
    ok(pc_cache_tombstone_decode(&t, (unsigned char *)buf, n) == APR_SUCCESS &&
           t == now, "tombstone round trip keeps the microseconds");
    ok(pc_cache_tombstone_decode(&t, (unsigned char *)buf, n - 1) ==
           APR_SUCCESS && t == now / 10, "shorter digit run is another time");
    n = pc_cache_tombstone_encode(buf, APR_INT64_MAX);
    ok(pc_cache_tombstone_decode(&t, (unsigned char *)buf, n) == APR_SUCCESS &&
           t == APR_INT64_MAX, "INT64_MAX round trips");
    n = pc_cache_tombstone_encode(buf, -7);
    ok(pc_cache_tombstone_decode(&t, (unsigned char *)buf, n) == APR_SUCCESS &&
           t == 1, "a time before the epoch is stored as 1");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = 42;
        ok(pc_cache_tombstone_decode(&t, (const unsigned char *)bad[i].v,
                                     (unsigned int)strlen(bad[i].v)) ==
                   APR_EINVAL && t == 0,
           "tombstone rejected: %s", bad[i].why);
    }
    ok(pc_cache_tombstone_decode(&t, NULL, 8) == APR_EINVAL, "NULL rejected");
    ok(pc_cache_tombstone_decode(&t, (const unsigned char *)"PCT1 1\0002", 8) ==
           APR_EINVAL, "embedded NUL rejected");

    /* The race rule. */
    is_int(pc_cache_purge_raced(now, now - 1, 0), 1,
           "purge after the call started: raced");
    is_int(pc_cache_purge_raced(now, now, 0), 1, "purge at the same instant: raced");
    is_int(pc_cache_purge_raced(now - 1, now, 0), 0,
           "purge before the call, no slack: not raced");
    is_int(pc_cache_purge_raced(now - apr_time_from_sec(1), now,
                                apr_time_from_sec(1)), 1,
           "purge exactly one slack before: raced (skew)");
    is_int(pc_cache_purge_raced(now - apr_time_from_sec(1) - 1, now,
                                apr_time_from_sec(1)), 0,
           "purge just over one slack before: not raced");
    is_int(pc_cache_purge_raced(0, now, apr_time_from_sec(1)), 0,
           "no tombstone time: not raced");
    is_int(pc_cache_purge_raced(1, APR_INT64_MAX, APR_INT64_MAX), 1,
           "huge slack does not overflow");
    is_int(pc_cache_purge_raced(now - 5, now, -3), 0, "negative slack is 0");

    /* Tombstones live under their own keys. */
    pc_cache_key(k1, PC_CK_CONSENT, "env", "user", "app");
    pc_cache_key(k2, PC_CK_PURGED, "env", "user", "app");
    ok(memcmp(k1, k2, sizeof(k1)) != 0, "tombstone key differs from the entry's");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_key();
    test_round_trip();
    test_round_trip_statuses();
    test_round_trip_none();
    test_round_trip_user();
    test_layout();
    test_decode_rejects();
    test_uuid();
    test_mutations();
    test_expect();
    test_encode_limits();
    test_typical_size();
    test_ttl();
    test_tombstone();
    rc = done_testing();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}

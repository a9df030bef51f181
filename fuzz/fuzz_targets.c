/*
 * fuzz_targets.c - libFuzzer entry points for every parser of outside
 * input.  Built once per target with -DPC_FUZZ_<NAME> (see fuzz/Makefile
 * rules in the top Makefile): `make fuzz` runs each under libFuzzer for a
 * bounded time; `make test` replays the corpora under ASan + UBSan through
 * replay.c (no clang needed).
 */
#include "pc_activity.h"
#include "pc_cache.h"
#include "pc_consent.h"
#include "pc_farm.h"
#include "pc_hmac.h"
#include "pc_json.h"
#include "pc_parse.h"
#include "pc_rurl.h"
#include "pc_text.h"
#include "pc_url.h"
#include "pc_webhook.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(PC_FUZZ_CONSENT)
static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int same_consent(const pc_consent_t *a, const pc_consent_t *b)
{
    int i;
    if (!same_str(a->id, b->id) || !same_str(a->app_id, b->app_id) ||
        !same_str(a->app_name, b->app_name) ||
        !same_str(a->user_id, b->user_id) || !same_str(a->status, b->status) ||
        a->consented_at != b->consented_at || a->updated_at != b->updated_at ||
        a->expires_at != b->expires_at ||
        a->scopes->nelts != b->scopes->nelts)
        return 0;
    for (i = 0; i < a->scopes->nelts; i++) {
        if (!same_str(APR_ARRAY_IDX(a->scopes, i, const char *),
                      APR_ARRAY_IDX(b->scopes, i, const char *)))
            return 0;
    }
    return 1;
}

static int same_consents(const apr_array_header_t *a,
                         const apr_array_header_t *b)
{
    int i;
    if (a->nelts != b->nelts)
        return 0;
    for (i = 0; i < a->nelts; i++) {
        if (!same_consent(APR_ARRAY_IDX(a, i, const pc_consent_t *),
                          APR_ARRAY_IDX(b, i, const pc_consent_t *)))
            return 0;
    }
    return 1;
}
#endif

static apr_pool_t *pool(void)
{
    static apr_pool_t *root;
    apr_pool_t *p;
    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = pool();
    const char *body = (const char *)data, *err = NULL;
    /* A NUL-terminated copy for the string parsers. */
    char *s = apr_pstrmemdup(p, body, size);

#if defined(PC_FUZZ_CONSENT)
    apr_array_header_t *list, *full;
    pc_consent_t *c;
    const char *next, *next_full, *err_full = NULL;
    apr_status_t rv = pc_json_parse_consent_page(&list, &next, body, size, p,
                                                 &err),
                 rv_full = pc_json_parse_consent_page_full(
                     &full, &next_full, body, size, p, &err_full);
    /* The streaming pass must never change an answer (pc_json_slim.h). */
    if (rv != rv_full || !same_str(err, err_full) ||
        (rv == APR_SUCCESS &&
         (!same_str(next, next_full) || !same_consents(list, full))))
        abort();
    if (rv == APR_SUCCESS && next != NULL)
        pc_next_link_ok(next, "https://api.pingone.com/v1/environments/E/"
                              "users/U/oauthConsents?");
    pc_json_parse_consent(&c, body, size, p, &err);
#elif defined(PC_FUZZ_TOKEN)
    pc_token_resp_t *t;
    pc_api_error_t *e;
    pc_json_parse_token(&t, body, size, p, &err);
    pc_json_parse_error(&e, body, size, p, &err);
#elif defined(PC_FUZZ_JOB)
    pc_job_t *j;
    apr_array_header_t *users;
    pc_json_parse_job(&j, body, size, p, &err);
    pc_json_parse_user_list(&users, body, size, p, &err);
#elif defined(PC_FUZZ_WEBHOOK)
    apr_array_header_t *events;
    pc_webhook_parse(&events, body, size, p, &err);
#elif defined(PC_FUZZ_ACTIVITY)
    pc_activity_page_t *pg;
    apr_time_t cursor, since, last_ok;
    if (pc_activity_page_parse(&pg, body, size, p, &err) == APR_SUCCESS) {
        int i;
        for (i = 0; i < pg->events->nelts; i++) {
            const pc_event_t *ev = APR_ARRAY_IDX(pg->events, i, pc_event_t *);
            if (pc_activity_malformed(ev) == NULL)
                pc_activity_foreign(ev, "abcdef01-2345-4678-9abc-def012345678");
            pc_event_effect_in(NULL, ev->type);
        }
        if (pg->next)
            pc_next_link_ok(pg->next, "https://api.pingone.com/v1/"
                                      "environments/E/activities?");
    }
    /* The feed's record in the farm cache is outside input too. */
    if (pc_feed_record_decode(&cursor, &since, &last_ok, body, size) ==
        APR_SUCCESS) {
        char buf[PC_FEED_RECORD_MAX];
        apr_size_t n = pc_feed_record_encode(buf, cursor, since, last_ok);
        /* Whatever decodes encodes back to the same bytes. */
        if (n != size || memcmp(buf, body, size) != 0)
            __builtin_trap();
    }
#elif defined(PC_FUZZ_CACHE)
    pc_cache_entry_t e;
    if (pc_cache_decode(&e, data, (unsigned int)(size > 8192 ? 8192 : size),
                        NULL, NULL, p) == APR_SUCCESS) {
        unsigned char *buf;
        unsigned int len;
        /* Whatever decodes must encode back to the same bytes. */
        if (pc_cache_encode(&buf, &len, &e, p) != APR_SUCCESS ||
            len != size || memcmp(buf, data, size) != 0)
            __builtin_trap();
    }
    {
        /* Purge tombstones: whatever decodes encodes back the same. */
        apr_time_t at;
        if (pc_cache_tombstone_decode(&at, data,
                                      (unsigned int)(size > 64 ? 64 : size)) ==
            APR_SUCCESS) {
            char tb[PC_TOMBSTONE_MAX];
            unsigned int tn = pc_cache_tombstone_encode(tb, at);
            if (tn != size || memcmp(tb, data, size) != 0)
                __builtin_trap();
        }
    }
#elif defined(PC_FUZZ_DIRECTIVES)
    const char *out, *env, *secret;
    int a, b;
    apr_time_t ts;
    pc_parse_base_url(p, s, &out);
    pc_parse_timeout(p, s, NULL, &a, &b);
    pc_parse_user_from(p, s, &env);
    pc_check_scope(p, s);
    pc_scim_quote(p, s);
    pc_url_encode(p, s);
    pc_log_safe(p, s, 64);
    pc_is_uuid(s);
    pc_retry_after_seconds(s, 1700000000LL * 1000000, 5);
    pc_parse_timestamp(&ts, s);
    {
        /* Redis cache URL: what parses has a canonical form that parses
         * to itself. */
        pc_rurl_t *ru, *ru2;
        if (pc_rurl_parse(p, s, &ru) == NULL) {
            const char *c1 = pc_rurl_unparse(p, ru);
            if (pc_rurl_parse(p, c1, &ru2) != NULL ||
                strcmp(pc_rurl_unparse(p, ru2), c1) != 0)
                __builtin_trap();
        }
    }
    {
        pc_cache_spec_t cs;
        pc_parse_cache_spec(p, s, &cs);
    }
    {
        /* The JSON writer's output always passes the strict parser and,
         * for valid UTF-8, reads back as the input. */
        const char *q = pc_json_quote(p, s), *back;
        pc_json_t *doc;
        if (pc_json_parse(&doc, q, strlen(q), p, &err) != APR_SUCCESS ||
            (back = pc_json_string(doc)) == NULL ||
            (pc_utf8_valid(s, strlen(s)) && strcmp(back, s) != 0))
            __builtin_trap();
    }
    if (strncmp(s, "file:", 5) != 0) /* never read files named by input */
        pc_parse_secret(p, s, &secret);
#elif defined(PC_FUZZ_FARM)
    /* What a Redis farm reads back: purge messages (anyone who can
     * publish), entry frames and the epoch (anyone who can write, before
     * the seal is checked).  Whatever parses encodes back the same. */
    {
        const char *id;
        unsigned char *keys;
        int n;
        switch (pc_farm_msg_parse(data, size, &id, &keys, &n, p)) {
        case PC_FARM_MSG_ALL: {
            const char *m = pc_farm_msg_all(p, id);
            if (strlen(m) != size || memcmp(m, data, size) != 0)
                __builtin_trap();
            break;
        }
        case PC_FARM_MSG_KEYS: {
            const char *m = pc_farm_msg_keys(p, id, keys, n);
            if (m == NULL || strlen(m) != size || memcmp(m, data, size) != 0)
                __builtin_trap();
            break;
        }
        case PC_FARM_MSG_OTHER:
            break;
        }
    }
    {
        const unsigned char *v;
        apr_size_t vn;
        apr_time_t fu, ex;
        if (pc_farm_unframe(&v, &vn, &fu, &ex, data, size) == APR_SUCCESS) {
            unsigned char *f;
            apr_size_t fn;
            pc_farm_frame(&f, &fn, v, vn, fu, ex, p);
            if (fn != size || memcmp(f, data, size) != 0)
                __builtin_trap();
        }
    }
    {
        apr_uint32_t e;
        if (pc_farm_epoch_decode(&e, data, size) == APR_SUCCESS) {
            char eb[PC_FARM_EPOCH_MAX];
            if (pc_farm_epoch_encode(eb, e) != size ||
                memcmp(eb, data, size) != 0)
                __builtin_trap();
        }
    }
#elif defined(PC_FUZZ_HMAC)
    /* Input: u8 cache-key length (mod 64), the cache key, a sealed value
     * (seeds: fuzz/corpus/hmac, sealed with these two secrets). */
    static pc_hmac_t *h;
    static apr_pool_t *hp;
    const unsigned char *v, *key = data + (size ? 1 : 0), *sealed;
    apr_size_t klen = size ? data[0] % 64 : 0, vlen, slen;
    int prev = 0;
    if (h == NULL) {
        apr_pool_create(&hp, NULL);
        if (pc_hmac_create(&h, hp,
                           (const unsigned char *)"fuzz-current-secret-0123456789abcdef", 36,
                           (const unsigned char *)"fuzz-previous-secret-0123456789abcdef", 37) != NULL)
            __builtin_trap();
    }
    if (size && klen > size - 1)
        klen = size - 1;
    sealed = key + klen;
    slen = size ? size - 1 - klen : 0;
    if (pc_hmac_open(&v, &vlen, &prev, h, key, klen, sealed, slen) ==
        APR_SUCCESS) {
        /* Only a seal made with our secrets opens, and the value is the
         * sealed bytes minus the overhead; with the current secret,
         * sealing again gives the same bytes. */
        unsigned char *again;
        apr_size_t alen;
        if (v != sealed || vlen + PC_HMAC_OVERHEAD != slen)
            __builtin_trap();
        if (!prev && (pc_hmac_seal(&again, &alen, h, key, klen, v, vlen, p) !=
                          APR_SUCCESS ||
                      alen != slen || memcmp(again, sealed, slen) != 0))
            __builtin_trap();
    }
    {
        /* Round trip of the input as a value, and one flipped bit. */
        unsigned char *out;
        apr_size_t olen;
        if (pc_hmac_seal(&out, &olen, h, key, klen, sealed, slen, p) !=
                APR_SUCCESS ||
            pc_hmac_open(&v, &vlen, &prev, h, key, klen, out, olen) !=
                APR_SUCCESS ||
            vlen != slen || prev)
            __builtin_trap();
        out[size % olen] ^= 0x01;
        if (pc_hmac_open(&v, &vlen, &prev, h, key, klen, out, olen) ==
            APR_SUCCESS)
            __builtin_trap();
    }
#else
#error "define one PC_FUZZ_<TARGET>"
#endif
    (void)s;
    (void)err;
    (void)body;
    apr_pool_destroy(p);
    return 0;
}

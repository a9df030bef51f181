/* Unit tests: PingOne ACTIVITY deliveries. */
#include "pc_webhook.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

#define EV(type, user) \
    "{\"id\":\"e1\",\"action\":{\"type\":\"" type "\"},\"actors\":{\"client\":{\"id\":\"c\"}}," \
    "\"resources\":[{\"type\":\"OAUTH_CONSENT\",\"id\":\"x\"},{\"type\":\"USER\",\"id\":\"" user "\"}]," \
    "\"result\":{\"status\":\"SUCCESS\"}}"

static apr_status_t parse(apr_array_header_t **a, const char *body, const char **err)
{
    return pc_webhook_parse(a, body, strlen(body), p, err);
}

static const pc_event_t *ev(apr_array_header_t *a, int i)
{
    return APR_ARRAY_IDX(a, i, const pc_event_t *);
}

/* PingOneRevocationEvents: the configured list, the grant types beside
 * it, and the types the feed asks for. */
static void test_types(void)
{
    apr_array_header_t *drop = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *want;
    int i, n_accepted = 0, n_updated = 0;

    APR_ARRAY_PUSH(drop, const char *) = "OAUTH_CONSENT.REVOKED";
    APR_ARRAY_PUSH(drop, const char *) = "CUSTOM.GONE";
    ok(pc_event_effect_in(drop, "CUSTOM.GONE") == PC_EV_DROP_USER, "a configured type drops");
    ok(pc_event_effect_in(drop, "USER.DELETED") == PC_EV_IGNORED,
       "a default type not configured is ignored");
    ok(pc_event_effect_in(drop, "USER.UPDATED") == PC_EV_LIFT_DENY,
       "USER.UPDATED not configured: lifts denies only");
    ok(pc_event_effect_in(drop, "OAUTH_CONSENT.ACCEPTED") == PC_EV_GRANT, "grants whatever the list");
    APR_ARRAY_PUSH(drop, const char *) = "OAUTH_CONSENT.ACCEPTED";
    ok(pc_event_effect_in(drop, "OAUTH_CONSENT.ACCEPTED") == PC_EV_DROP_USER,
       "a grant type configured as a revocation drops");
    ok(pc_event_effect_in(NULL, "USER.DISABLED") == PC_EV_DROP_USER, "NULL list: the defaults");

    want = pc_event_types_wanted(p, drop);
    for (i = 0; i < want->nelts; i++) {
        const char *t = APR_ARRAY_IDX(want, i, const char *);
        n_accepted += strcmp(t, "OAUTH_CONSENT.ACCEPTED") == 0;
        n_updated += strcmp(t, "USER.UPDATED") == 0;
    }
    is_int(want->nelts, 4, "wanted: the three configured and USER.UPDATED");
    ok(n_accepted == 1 && n_updated == 1, "each type once");
    want = pc_event_types_wanted(p, NULL);
    is_int(want->nelts, 7, "wanted by default: six revocation types and the grant");

    ok(pc_event_type_check("OAUTH_CONSENT.REVOKED") == NULL, "a type checks");
    ok(pc_event_type_check("") != NULL, "empty refused");
    ok(pc_event_type_check("user.deleted") != NULL, "lower case refused");
    ok(pc_event_type_check("A\"B") != NULL, "a quote refused");
    ok(pc_event_type_check("A B") != NULL, "a space refused");
    ok(pc_event_type_check(apr_psprintf(p, "%065d", 1)) != NULL, "65 characters refused");
    ok(pc_event_type_check(apr_psprintf(p, "%064d", 1)) == NULL, "64 characters accepted");
}

/* What the activity feed needs besides the webhook's fields. */
static void test_event_fields(void)
{
    apr_array_header_t *a;
    const char *err;

    ok(parse(&a, "[{\"id\":\"ev-1\",\"recordedAt\":\"2026-11-22T10:00:01.500Z\","
                 "\"environment\":{\"id\":\"env-9\"},\"action\":{\"type\":\"USER.DELETED\"}}]",
             &err) == APR_SUCCESS, "an event with id, time and environment");
    is_str(ev(a, 0)->id, "ev-1", "id");
    ok(ev(a, 0)->recorded_at == apr_time_from_sec(1795341601) + 500000, "recordedAt");
    is_str(ev(a, 0)->env_id, "env-9", "environment.id");
    ok(parse(&a, "[{\"id\":7,\"recordedAt\":\"yesterday\",\"environment\":\"x\"}]", &err) ==
       APR_SUCCESS, "wrong types read tolerantly");
    ok(ev(a, 0)->id == NULL && ev(a, 0)->recorded_at == 0 && ev(a, 0)->env_id == NULL,
       "and read as absent");
}

/* Strict JSON like every other input (pc_json_parse), in the whole body
 * and in each ND-JSON line. */
static void test_strict_json(void)
{
    apr_array_header_t *a;
    const char *err;

    ok(parse(&a, "[" EV("USER.DELETED", "u\xc3\xa9") "]", &err) == APR_SUCCESS &&
       strcmp(ev(a, 0)->user_id, "u\xc3\xa9") == 0, "valid UTF-8 accepted");
    ok(parse(&a, "[{\"action\":{\"type\":\"USER.DELETED\"},\"note\":\"caf\\u00e9\","
                 "\"actors\":{\"user\":{\"id\":\"u-8\"}}}]", &err) == APR_SUCCESS &&
       strcmp(ev(a, 0)->user_id, "u-8") == 0, "\\u escapes accepted");
    ok(parse(&a, "[" EV("USER.DELETED", "u\xe9") "]", &err) != APR_SUCCESS && strstr(err, "UTF-8"),
       "Latin-1 byte rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u\xc0\xaf") "]", &err) != APR_SUCCESS && strstr(err, "UTF-8"),
       "overlong UTF-8 rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u\xed\xa0\x80") "]", &err) != APR_SUCCESS && strstr(err, "UTF-8"),
       "UTF-16 surrogate rejected");
    ok(parse(&a, EV("USER.DELETED", "u-9") "\n" EV("USER.DELETED", "u\xff") "\n", &err) != APR_SUCCESS &&
       strstr(err, "UTF-8"), "invalid UTF-8 in the second ND-JSON line rejects all");
    ok(parse(&a, "[{\"action\":{\"type\":\"USER.DELETED\"},\"n\":NaN}]", &err) != APR_SUCCESS,
       "NaN rejected");
    ok(parse(&a, EV("USER.DELETED", "u-10") "\n{\"n\":-Infinity}", &err) != APR_SUCCESS,
       "-Infinity in an ND-JSON line rejected");
    ok(parse(&a, "[{'action':{'type':'USER.DELETED'},'actors':{'user':{'id':'u'}}}]", &err) != APR_SUCCESS,
       "single quotes rejected");
    ok(parse(&a, "{'action':{'type':'USER.DELETED'}}\n" EV("USER.DELETED", "u-11"), &err) != APR_SUCCESS,
       "single quotes in an ND-JSON line rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u\t12") "]", &err) != APR_SUCCESS && strstr(err, "control"),
       "raw tab in a string rejected");
    ok(parse(&a, EV("USER.DELETED", "u-13") "\n" EV("USER.DELETED", "u\x01") "\n", &err) != APR_SUCCESS &&
       strstr(err, "control"), "raw control character in an ND-JSON line rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u\\u0000x") "]", &err) != APR_SUCCESS && strstr(err, "NUL"),
       "\\u0000 in a string rejected (was: read as no user)");
    ok(parse(&a, "\xef\xbb\xbf[" EV("USER.DELETED", "u-14") "]", &err) != APR_SUCCESS,
       "byte order mark rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u-15") ",]", &err) != APR_SUCCESS, "trailing comma rejected");
    ok(parse(&a, "[" EV("USER.DELETED", "u-16") "] // note", &err) != APR_SUCCESS, "comment rejected");
}

int main(void)
{
    apr_array_header_t *a;
    const char *err;
    char *big;
    int i;

    apr_initialize();
    apr_pool_create(&p, NULL);

    ok(pc_event_effect("OAUTH_CONSENT.REVOKED") == PC_EV_DROP_USER, "REVOKED drops");
    ok(pc_event_effect("OAUTH_CONSENT.DECLINED") == PC_EV_DROP_USER, "DECLINED drops");
    ok(pc_event_effect("OAUTH_CONSENT.DELETED") == PC_EV_DROP_USER, "DELETED drops");
    ok(pc_event_effect("USER.DELETED") == PC_EV_DROP_USER, "USER.DELETED drops");
    ok(pc_event_effect("USER.DISABLED") == PC_EV_DROP_USER, "USER.DISABLED drops");
    ok(pc_event_effect("USER.UPDATED") == PC_EV_DROP_USER, "USER.UPDATED drops by default");
    ok(pc_event_effect("OAUTH_CONSENT.ACCEPTED") == PC_EV_GRANT, "ACCEPTED is a grant (re-consent)");
    ok(pc_event_effect("USER.CREATED") == PC_EV_IGNORED, "USER.CREATED ignored");
    ok(pc_event_effect("oauth_consent.revoked") == PC_EV_IGNORED, "types are exact");
    ok(pc_event_effect(NULL) == PC_EV_IGNORED, "no type ignored");

    ok(parse(&a, "[" EV("OAUTH_CONSENT.REVOKED", "u-1") "," EV("USER.UPDATED", "u-2") "]", &err) == APR_SUCCESS,
       "JSON array");
    is_int(a->nelts, 2, "two events");
    is_str(ev(a, 0)->type, "OAUTH_CONSENT.REVOKED", "type");
    is_str(ev(a, 0)->user_id, "u-1", "user from resources[type=USER]");
    ok(ev(a, 0)->effect == PC_EV_DROP_USER && ev(a, 1)->effect == PC_EV_DROP_USER, "effects");

    ok(parse(&a, EV("USER.DELETED", "u-3") "\n" EV("OAUTH_CONSENT.DECLINED", "u-4") "\r\n\n", &err) == APR_SUCCESS,
       "ND-JSON with CRLF and blank lines");
    ok(a->nelts == 2 && strcmp(ev(a, 1)->user_id, "u-4") == 0, "both lines read");
    ok(parse(&a, "[\n  " EV("USER.DELETED", "u-5") "\n]\n", &err) == APR_SUCCESS && a->nelts == 1,
       "pretty-printed array");
    ok(parse(&a, EV("USER.DELETED", "u-6"), &err) == APR_SUCCESS && a->nelts == 1, "a single object");
    ok(parse(&a, "[{\"action\":{\"type\":\"OAUTH_CONSENT.REVOKED\"},\"actors\":{\"user\":{\"id\":\"u-7\"}}}]", &err) ==
       APR_SUCCESS && strcmp(ev(a, 0)->user_id, "u-7") == 0, "user from actors.user.id");
    ok(parse(&a, "[{\"action\":{\"type\":\"OAUTH_CONSENT.REVOKED\"}}]", &err) == APR_SUCCESS &&
       ev(a, 0)->user_id == NULL, "no user: NULL");
    ok(parse(&a, "[{\"action\":{\"type\":5},\"resources\":[{\"type\":\"USER\",\"id\":7}]}]", &err) == APR_SUCCESS &&
       ev(a, 0)->type == NULL && ev(a, 0)->user_id == NULL, "wrong types read as absent");
    ok(parse(&a, "[]", &err) == APR_SUCCESS && a->nelts == 0, "empty array");

    ok(parse(&a, "", &err) != APR_SUCCESS, "empty body rejected");
    ok(parse(&a, "[{\"action\":", &err) != APR_SUCCESS, "truncated rejected");
    ok(parse(&a, "[1,2]", &err) != APR_SUCCESS, "events that are not objects rejected");
    ok(parse(&a, "\"text\"", &err) != APR_SUCCESS, "a string rejected");
    ok(parse(&a, EV("USER.DELETED", "u") "\ngarbage\n", &err) != APR_SUCCESS, "a bad ND-JSON line rejects all");
    ok(err && *err, "with a reason (%s)", err ? err : "");
    {
        const char doc[] = "[]\0[]";
        ok(pc_webhook_parse(&a, doc, sizeof(doc) - 1, p, &err) != APR_SUCCESS, "NUL byte rejected");
    }

    big = apr_pstrdup(p, "[");
    for (i = 0; i < 1001; i++)
        big = apr_pstrcat(p, big, i ? "," : "", "{}", NULL);
    big = apr_pstrcat(p, big, "]", NULL);
    ok(parse(&a, big, &err) != APR_SUCCESS, "1001 events rejected");
    big = apr_palloc(p, 2001);
    for (i = 0; i < 1000; i++) {
        big[i] = '[';
        big[1000 + i] = ']';
    }
    big[2000] = '\0';
    ok(parse(&a, big, &err) != APR_SUCCESS, "nesting 1000 deep rejected");

    test_strict_json();
    test_types();
    test_event_fields();

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

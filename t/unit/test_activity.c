/* Unit tests: the activity feed's pure parts (src/pc_activity.c): the
 * filter and the call of a poll, the page reader, and the window, cursor,
 * de-duplication, health and back-off arithmetic. */
#include "pc_activity.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

#include <stdlib.h>

static apr_pool_t *p;

#define ENV "abcdef01-2345-4678-9abc-def012345678"
#define API "https://api.pingone.eu/v1"
#define URL API "/environments/" ENV "/activities"
#define SEC(n) apr_time_from_sec(n)
#define T0 ((apr_time_t)1795341600 * APR_USEC_PER_SEC) /* 2026-11-22 10:00 */
#define MARGIN SEC(30)
#define KEEP SEC(14 * 86400 - 3600)

#define EV(id, at, type, user)                                              \
    "{\"id\":\"" id "\",\"recordedAt\":\"" at "\",\"action\":{\"type\":\""  \
    type "\"},\"environment\":{\"id\":\"" ENV "\"},\"resources\":[{\"type\"" \
    ":\"USER\",\"id\":\"" user "\"}]}"
#define PAGE(items, next)                                                   \
    "{\"_links\":{\"self\":{\"href\":\"x\"}" next "},\"_embedded\":"        \
    "{\"activities\":[" items "]},\"count\":1,\"size\":1}"

/* ---- a scripted transport ------------------------------------------------ */

typedef struct fake_t {
    int status[8];
    const char *body[8];
    const char *retry_after[8];
    int n, next;
    pc_http_req_t seen[8];
} fake_t;

static apr_status_t fake_send(void *baton, const pc_http_req_t *req,
                              pc_http_resp_t *resp, apr_pool_t *pool)
{
    fake_t *f = baton;
    int i = f->next++;

    memset(resp, 0, sizeof(*resp));
    if (i >= f->n) {
        resp->outcome = PC_HTTP_FAILED;
        resp->error = "script exhausted";
        return APR_EGENERAL;
    }
    f->seen[i] = *req;
    f->seen[i].url = apr_pstrdup(p, req->url);
    f->seen[i].body = req->body ? apr_pstrdup(p, req->body) : NULL;
    resp->outcome = PC_HTTP_OK;
    resp->status = f->status[i];
    resp->body = apr_pstrdup(pool, f->body[i]);
    resp->body_len = strlen(resp->body);
    resp->retry_after = f->retry_after[i];
    return APR_SUCCESS;
}

static void answer(fake_t *f, int status, const char *body, const char *ra)
{
    f->status[f->n] = status;
    f->body[f->n] = body;
    f->retry_after[f->n] = ra;
    f->n++;
}

static pc_client_conf_t conf = {API, "https://auth.pingone.eu", ENV,
                                "client-id", "secret", 0, 3000, 1000,
                                1 << 20};

static pc_client_t *client(fake_t *f)
{
    pc_client_t *c = apr_pcalloc(p, sizeof(*c));

    memset(f, 0, sizeof(*f));
    answer(f, 200, "{\"access_token\":\"tok\",\"token_type\":\"Bearer\","
                   "\"expires_in\":3600}", NULL);
    c->conf = &conf;
    c->send = fake_send;
    c->transport = f;
    c->tokens = pc_token_store_local(p);
    return c;
}

/* ---- tests --------------------------------------------------------------- */

static void test_filter(void)
{
    apr_array_header_t *types = apr_array_make(p, 2, sizeof(const char *));
    const char *f, *form;

    is_str(pc_activity_url(p, API, ENV), URL, "the activities URL");
    is_str(pc_activity_time(p, T0 + 123456), "2026-11-22T10:00:00.123Z",
           "times as PingOne writes them, ms rounded down");
    f = pc_activity_filter(p, T0, T0 + SEC(2), NULL);
    is_str(f, "recordedat ge \"2026-11-22T10:00:00.000Z\" and recordedat le "
              "\"2026-11-22T10:00:02.000Z\"", "a window without types");
    APR_ARRAY_PUSH(types, const char *) = "OAUTH_CONSENT.REVOKED";
    f = pc_activity_filter(p, T0, T0 + SEC(2), types);
    ok(strstr(f, "and (action.type eq \"OAUTH_CONSENT.REVOKED\")") != NULL,
       "one type in parentheses");
    APR_ARRAY_PUSH(types, const char *) = "USER.DELETED";
    f = pc_activity_filter(p, T0, T0 + SEC(2), types);
    ok(strstr(f, "(action.type eq \"OAUTH_CONSENT.REVOKED\" or action.type eq "
                 "\"USER.DELETED\")") != NULL, "several joined by or");
    APR_ARRAY_PUSH(types, const char *) = "A\"B\\C";
    f = pc_activity_filter(p, T0, T0 + SEC(2), types);
    ok(strstr(f, "\"A\\\"B\\\\C\"") != NULL, "quotes and backslashes escaped");
    form = pc_activity_form(p, "recordedat ge \"x\" and a eq \"&=\"", 500);
    is_str(form, "filter=recordedat%20ge%20%22x%22%20and%20a%20eq%20%22%26%3D%22&limit=500",
           "the form body is form-encoded");
}

static void test_page(void)
{
    pc_activity_page_t *pg;
    const char *why;
    const pc_event_t *e;
    char *big;
    int i;
#define PARSE(body) pc_activity_page_parse(&pg, body, strlen(body), p, &why)

    ok(PARSE(PAGE(EV("e1", "2026-11-22T10:00:01.000Z", "OAUTH_CONSENT.REVOKED",
                     "u-1") "," EV("e2", "2026-11-22T10:00:02.000Z",
                                   "USER.DELETED", "u-2"),
                  ",\"next\":{\"href\":\"" URL "?cursor=abc\"}")) ==
       APR_SUCCESS, "a page with two events and a next link");
    is_int(pg->events->nelts, 2, "two events");
    e = APR_ARRAY_IDX(pg->events, 0, const pc_event_t *);
    ok(strcmp(e->id, "e1") == 0 && e->recorded_at == T0 + SEC(1) &&
       strcmp(e->type, "OAUTH_CONSENT.REVOKED") == 0 &&
       strcmp(e->user_id, "u-1") == 0 && strcmp(e->env_id, ENV) == 0,
       "id, time, type, user, environment");
    is_str(pg->next, URL "?cursor=abc", "the next link");
    ok(PARSE(PAGE("", "")) == APR_SUCCESS && pg->events->nelts == 0 &&
       pg->next == NULL, "an empty last page");
    ok(PARSE("{\"_embedded\":{\"items\":[" EV("e3", "2026-11-22T10:00:01Z",
                                              "USER.DELETED", "u") "]}}") ==
       APR_SUCCESS && pg->events->nelts == 1,
       "the one array under _embedded, whatever its name");
    ok(PARSE("{\"count\":0,\"size\":0,\"_links\":{}}") == APR_SUCCESS &&
       pg->events->nelts == 0, "no _embedded with size 0: empty");
    ok(PARSE("{\"_links\":{}}") != APR_SUCCESS,
       "no _embedded and no size: unusable, not 'no events'");
    ok(PARSE("{\"_embedded\":{\"a\":[],\"b\":[]}}") != APR_SUCCESS,
       "two arrays and no activities: unusable");
    ok(PARSE("{\"_embedded\":{\"activities\":{}}}") != APR_SUCCESS,
       "activities not an array: unusable");
    ok(PARSE("[]") != APR_SUCCESS, "not an object: unusable");
    ok(PARSE("{\"_embedded\":{\"activities\":[]},\"_links\":{\"next\":"
             "{\"href\":5}}}") != APR_SUCCESS, "a next link not a string");
    ok(PARSE("{\"_embedded\":{\"activities\":[{\"id\":\"x\"}") != APR_SUCCESS,
       "truncated JSON");
    ok(PARSE("{\"_embedded\":{\"activities\":[{\"id\":\"\xff\"}]}}") !=
       APR_SUCCESS && strstr(why, "UTF-8"), "strict JSON: bad UTF-8");
    ok(PARSE("{\"_embedded\":{\"activities\":[1,\"s\",null,{}]}}") ==
       APR_SUCCESS && pg->events->nelts == 4,
       "items that are not objects are kept, as malformed events");
    for (i = 0; i < 4; i++)
        ok(pc_activity_malformed(APR_ARRAY_IDX(pg->events, i, pc_event_t *)) !=
           NULL, "item %d malformed", i);
    big = apr_pstrdup(p, "{\"_embedded\":{\"activities\":[");
    for (i = 0; i < 1001; i++)
        big = apr_pstrcat(p, big, i ? "," : "", "{}", NULL);
    big = apr_pstrcat(p, big, "]}}", NULL);
    ok(PARSE(big) != APR_SUCCESS, "more than 1000 items refused");
#undef PARSE
}

static void test_malformed_foreign(void)
{
    pc_event_t e;

    memset(&e, 0, sizeof(e));
    e.id = "e1";
    e.recorded_at = T0;
    e.type = "USER.DELETED";
    ok(pc_activity_malformed(&e) == NULL, "id, time and type: usable");
    e.id = NULL;
    ok(pc_activity_malformed(&e) != NULL, "no id");
    e.id = apr_psprintf(p, "%0129d", 7);
    ok(pc_activity_malformed(&e) != NULL, "an id over 128 bytes");
    e.id = "e1";
    e.recorded_at = 0;
    ok(pc_activity_malformed(&e) != NULL, "no time");
    e.recorded_at = T0;
    e.type = "";
    ok(pc_activity_malformed(&e) != NULL, "no type");
    e.type = "USER.DELETED";
    ok(!pc_activity_foreign(&e, ENV), "no environment: the polled one's");
    e.env_id = "ABCDEF01-2345-4678-9ABC-DEF012345678";
    ok(!pc_activity_foreign(&e, ENV), "same environment in capitals");
    e.env_id = "11111111-2345-4678-9abc-def012345678";
    ok(pc_activity_foreign(&e, ENV), "another environment");
}

static void test_fetch(void)
{
    fake_t f;
    pc_client_t *c = client(&f);
    pc_activity_page_t *pg;
    pc_error_t err;
    const char *form = "filter=x&limit=500";

    answer(&f, 200, PAGE(EV("e1", "2026-11-22T10:00:01Z", "USER.DELETED",
                            "u"), ",\"next\":{\"href\":\"" URL "?cursor=c2\"}"),
           NULL);
    ok(pc_activity_fetch(&pg, c, URL, form, NULL, &err, p) == APR_SUCCESS &&
       pg->events->nelts == 1, "first page");
    ok(strcmp(f.seen[1].method, "POST") == 0 &&
       strcmp(f.seen[1].url, URL) == 0 &&
       strcmp(f.seen[1].body, form) == 0 &&
       strcmp(f.seen[1].content_type,
              "application/x-www-form-urlencoded") == 0,
       "the first page is a form POST (the filter stays out of the URL)");
    ok(strcmp(f.seen[1].authorization, "Bearer tok") == 0,
       "with the worker token");
    answer(&f, 200, PAGE("", ""), NULL);
    ok(pc_activity_fetch(&pg, c, URL, form, pg->next, &err, p) ==
       APR_SUCCESS && pg->next == NULL, "the next page");
    ok(strcmp(f.seen[2].method, "GET") == 0 &&
       strcmp(f.seen[2].url, URL "?cursor=c2") == 0 && f.seen[2].body == NULL,
       "followed by GET");
    ok(pc_activity_fetch(&pg, c, URL, form, "https://evil.example/v1/x?c=1",
                         &err, p) != APR_SUCCESS && err.kind == PC_E_PARSE &&
       f.next == 3, "a next link elsewhere is refused without a call");
    ok(pc_activity_fetch(&pg, c, URL, form, URL "/../users?x", &err, p) !=
       APR_SUCCESS && f.next == 3, "a next link to another collection too");
    answer(&f, 429, "{\"code\":\"REQUEST_LIMITED\"}", "7");
    ok(pc_activity_fetch(&pg, c, URL, form, NULL, &err, p) != APR_SUCCESS &&
       err.kind == PC_E_RATE_LIMITED && strcmp(err.retry_after, "7") == 0,
       "429: rate limited, with Retry-After");
    answer(&f, 403, "{\"code\":\"ACCESS_FAILED\",\"message\":\"no\"}", NULL);
    ok(pc_activity_fetch(&pg, c, URL, form, NULL, &err, p) != APR_SUCCESS &&
       err.http_status == 403, "403: the role is missing");
    answer(&f, 200, "<html>", NULL);
    ok(pc_activity_fetch(&pg, c, URL, form, NULL, &err, p) != APR_SUCCESS &&
       err.kind == PC_E_PARSE && strstr(err.message, "unusable"),
       "an unreadable page is an error");
}

static void test_window(void)
{
    pc_feed_t *f = calloc(1, sizeof(*f));
    int gap;

    pc_feed_window(f, T0, MARGIN, KEEP, &gap);
    ok(f->win_from == T0 - MARGIN && f->win_until == T0 && !gap,
       "the first window: the margin before now, to now");
    ok(f->since == T0 - MARGIN, "the feed sees everything from there");
    pc_feed_window(f, T0 + SEC(5), MARGIN, KEEP, &gap);
    ok(f->win_until == T0, "an open window is read on, not replaced");
    pc_feed_complete(f, MARGIN);
    ok(f->cursor == T0 && f->win_until == 0, "complete: the cursor moves");
    pc_feed_window(f, T0 + SEC(2), MARGIN, KEEP, &gap);
    ok(f->win_from == T0 - MARGIN && f->win_until == T0 + SEC(2),
       "the next window overlaps the last by the margin");
    ok(f->since == T0 - MARGIN, "since stays");
    pc_feed_abandon(f);
    ok(f->win_until == 0 && f->cursor == T0, "abandoned: the cursor stays");
    pc_feed_window(f, T0 + SEC(4), MARGIN, KEEP, &gap);
    ok(f->win_from == T0 - MARGIN && f->win_until == T0 + SEC(4),
       "and the window is read again from its start");
    pc_feed_complete(f, MARGIN);

    /* A cursor older than PingOne keeps events. */
    pc_feed_window(f, T0 + SEC(20 * 86400), MARGIN, KEEP, &gap);
    ok(gap && f->win_from == T0 + SEC(20 * 86400) - KEEP,
       "a cursor older than 14 days: the window starts at the oldest kept");
    ok(f->since == f->win_from, "and the feed's continuity starts again");
    pc_feed_complete(f, MARGIN);

    /* Another server's cursor. */
    ok(!pc_feed_adopt(f, T0, T0 - SEC(100)), "a cursor behind ours: kept ours");
    pc_feed_window(f, f->cursor + SEC(2), MARGIN, KEEP, &gap);
    ok(pc_feed_adopt(f, f->cursor + SEC(10), T0 - SEC(100)) &&
       f->since == T0 - SEC(100) && f->win_until == 0,
       "a cursor ahead: taken with its since, the open window dropped");
    free(f);
}

static void test_dedup(void)
{
    pc_feed_t *f = calloc(1, sizeof(*f));
    int gap, i, lost = 0;

    pc_feed_window(f, T0, MARGIN, KEEP, &gap);
    ok(!pc_feed_seen(f, "e1"), "a new ID");
    ok(pc_feed_remember(f, "e1", T0 - SEC(1)) == 0, "remembered");
    ok(pc_feed_seen(f, "e1"), "seen");
    ok(!pc_feed_seen(f, "e2") && !pc_feed_seen(f, "e1 "), "others are not");
    pc_feed_remember(f, "e-old", T0 - SEC(40));
    pc_feed_complete(f, MARGIN);
    ok(pc_feed_seen(f, "e1"), "an ID inside the next window is kept");
    ok(!pc_feed_seen(f, "e-old"),
       "one older than the next window's start is forgotten");
    for (i = 0; i < PC_FEED_SEEN + 5; i++)
        lost += pc_feed_remember(f, apr_psprintf(p, "x%d", i), T0);
    ok(lost >= 5, "a full memory forgets the oldest (%d)", lost);
    ok(pc_feed_seen(f, apr_psprintf(p, "x%d", PC_FEED_SEEN + 4)) &&
       !pc_feed_seen(f, "x0"), "the newest kept, the oldest gone");
    free(f);
}

static void test_health_backoff_record(void)
{
    char buf[PC_FEED_RECORD_MAX];
    apr_time_t c, s, l;
    apr_size_t n;

    ok(pc_feed_healthy(T0, T0 + SEC(4), SEC(4)), "a poll two intervals ago");
    ok(!pc_feed_healthy(T0, T0 + SEC(4) + 1, SEC(4)), "older: unhealthy");
    ok(!pc_feed_healthy(0, T0, SEC(4)), "never polled: unhealthy");

    ok(pc_feed_retry_at(T0, 1, SEC(2), NULL) == T0 + SEC(2),
       "first failure: the interval");
    ok(pc_feed_retry_at(T0, 3, SEC(2), NULL) == T0 + SEC(8), "then doubling");
    ok(pc_feed_retry_at(T0, 20, SEC(2), NULL) == T0 + SEC(60),
       "at most 60 s");
    ok(pc_feed_retry_at(T0, 20, SEC(120), NULL) == T0 + SEC(120),
       "never less than the interval");
    ok(pc_feed_retry_at(T0, 1, SEC(2), "9") == T0 + SEC(9),
       "PingOne's Retry-After");
    ok(pc_feed_retry_at(T0, 1, SEC(2), "junk") == T0 + SEC(2),
       "an unreadable Retry-After: the back-off");

    n = pc_feed_record_encode(buf, T0, T0 - SEC(30), T0 + 7);
    ok(pc_feed_record_decode(&c, &s, &l, buf, n) == APR_SUCCESS && c == T0 &&
       s == T0 - SEC(30) && l == T0 + 7, "the farm record round-trips");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 1 2", 8) != APR_SUCCESS,
       "a field missing");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 1 2 3 ", 11) != APR_SUCCESS,
       "trailing data");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 1 -2 3", 11) != APR_SUCCESS,
       "a sign");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF2 1 2 3", 10) != APR_SUCCESS,
       "another format");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 1234563456789 02 3", 23) !=
       APR_SUCCESS, "a leading zero (one way to write each value)");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 0 0 0", 10) == APR_SUCCESS &&
       c == 0, "zero itself");
    ok(pc_feed_record_decode(&c, &s, &l, "PCF1 12345678901234567890 2 3",
                             29) != APR_SUCCESS, "20 digits");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_filter();
    test_page();
    test_malformed_foreign();
    test_fetch();
    test_window();
    test_dedup();
    test_health_backoff_record();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

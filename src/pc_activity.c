/*
 * pc_activity.c - the audit-activity feed's pure parts (see pc_activity.h).
 */
#include "pc_activity.h"
#include "pc_json.h"
#include "pc_parse.h"
#include "pc_text.h"
#include "pc_url.h"

#include <apr_sha1.h>
#include <apr_strings.h>

#include <stdlib.h>
#include <string.h>

#define PAGE_MAX_ITEMS 1000
#define ID_MAX 128
#define RETRY_CAP apr_time_from_sec(60)

/* ---- a poll's call ------------------------------------------------------- */

const char *pc_activity_url(apr_pool_t *p, const char *api_base,
                            const char *env_id)
{
    return apr_pstrcat(p, api_base, "/environments/", env_id, "/activities",
                       NULL);
}

const char *pc_activity_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    if (t < 0)
        t = 0;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday, x.tm_hour,
                        x.tm_min, x.tm_sec, x.tm_usec / 1000);
}

/* A SCIM string literal: "..." with '"' and '\' escaped. */
static const char *quoted(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 3), *o = out;

    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *pc_activity_filter(apr_pool_t *p, apr_time_t from,
                               apr_time_t until,
                               const apr_array_header_t *types)
{
    const char *f = apr_pstrcat(p, "recordedat ge \"",
                                pc_activity_time(p, from),
                                "\" and recordedat le \"",
                                pc_activity_time(p, until), "\"", NULL);
    int i;

    for (i = 0; types && i < types->nelts; i++)
        f = apr_pstrcat(p, f, i ? " or " : " and (", "action.type eq ",
                        quoted(p, APR_ARRAY_IDX(types, i, const char *)),
                        NULL);
    return types && types->nelts ? apr_pstrcat(p, f, ")", NULL) : f;
}

const char *pc_activity_form(apr_pool_t *p, const char *filter, int limit)
{
    return apr_psprintf(p, "filter=%s&limit=%d", pc_form_encode(p, filter),
                        limit);
}

/* ---- a page -------------------------------------------------------------- */

/* The item array.  A page that cannot be read fails rather than reading as
 * "no events": the feed would be taken as healthy while it sees nothing. */
static apr_status_t page_items(pc_json_t **items, pc_json_t *doc,
                               const char **why)
{
    pc_json_t *emb;
    apr_int64_t n = -1;

    *items = NULL;
    if (!pc_json_is(doc, PC_JSON_OBJECT)) {
        *why = "the activities answer is not a JSON object";
        return APR_EGENERAL;
    }
    if (pc_json_opt_object(&emb, doc, "_embedded") != APR_SUCCESS) {
        *why = "_embedded is not an object";
        return APR_EGENERAL;
    }
    if (emb == NULL) {
        /* No _embedded at all: only an answer that says it is empty. */
        if ((pc_json_int64(&n, pc_json_member(doc, "size")) == APR_SUCCESS ||
             pc_json_int64(&n, pc_json_member(doc, "count")) ==
                 APR_SUCCESS) &&
            n == 0)
            return APR_SUCCESS;
        *why = "the answer has no _embedded.activities";
        return APR_EGENERAL;
    }
    if (pc_json_member(emb, "activities") != NULL) {
        if (pc_json_opt_array(items, emb, "activities") != APR_SUCCESS) {
            *why = "_embedded.activities is not an array";
            return APR_EGENERAL;
        }
    }
    else {
        if (pc_json_arrays_in(emb, items) != 1) {
            *items = NULL;
            *why = "_embedded holds no activities array";
            return APR_EGENERAL;
        }
    }
    if (pc_json_array_len(*items) > PAGE_MAX_ITEMS) {
        *why = "a page holds more than 1000 activities";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t read_page(void *baton, pc_json_t *doc, apr_pool_t *p,
                              const char **why)
{
    pc_activity_page_t *page = baton;
    pc_json_t *items, *links, *next;
    apr_size_t i, n;

    if (page_items(&items, doc, why) != APR_SUCCESS)
        return APR_EGENERAL;
    n = pc_json_array_len(items);
    for (i = 0; i < n; i++) {
        pc_event_t *ev = pc_event_read(pc_json_array_at(items, i), p);
        APR_ARRAY_PUSH(page->events, pc_event_t *) =
            ev ? ev : apr_pcalloc(p, sizeof(pc_event_t));
    }
    if (pc_json_opt_object(&links, doc, "_links") != APR_SUCCESS ||
        pc_json_opt_object(&next, links, "next") != APR_SUCCESS ||
        pc_json_opt_string(&page->next, next, "href", p) != APR_SUCCESS) {
        *why = "_links.next.href is not a string";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t pc_activity_page_parse(pc_activity_page_t **page,
                                    const char *body, apr_size_t len,
                                    apr_pool_t *p, const char **why)
{
    pc_activity_page_t *pg = apr_pcalloc(p, sizeof(*pg));

    *page = NULL;
    pg->events = apr_array_make(p, 16, sizeof(pc_event_t *));
    if (pc_json_read(body, len, read_page, pg, p, why) != APR_SUCCESS)
        return APR_EGENERAL;
    *page = pg;
    return APR_SUCCESS;
}

const char *pc_activity_malformed(const pc_event_t *ev)
{
    if (ev->id == NULL || *ev->id == '\0' || strlen(ev->id) > ID_MAX)
        return "no usable id";
    if (ev->recorded_at <= 0)
        return "no valid recordedAt";
    if (ev->type == NULL || *ev->type == '\0')
        return "no action.type";
    return NULL;
}

int pc_activity_foreign(const pc_event_t *ev, const char *env_id)
{
    return ev->env_id != NULL && strcasecmp(ev->env_id, env_id) != 0;
}

apr_status_t pc_activity_fetch(pc_activity_page_t **page, pc_client_t *c,
                               const char *url, const char *form,
                               const char *next_url, pc_error_t *err,
                               apr_pool_t *p)
{
    pc_http_resp_t resp;
    const char *why;

    *page = NULL;
    memset(err, 0, sizeof(*err));
    if (next_url && !pc_next_link_ok(next_url, apr_pstrcat(p, url, "?",
                                                           NULL))) {
        err->kind = PC_E_PARSE;
        err->tag = "upstream-parse";
        err->message = "audit activities: _links.next.href is not a page of "
                       "the activities collection on the configured API";
        return APR_EGENERAL;
    }
    if (pc_client_call(&resp, c, PC_EP_ACTIVITIES, next_url ? "GET" : "POST",
                       next_url ? next_url : url,
                       "application/x-www-form-urlencoded",
                       next_url ? NULL : form, "audit activities", err,
                       p) != APR_SUCCESS)
        return APR_EGENERAL;
    if (pc_activity_page_parse(page, resp.body, resp.body_len, p, &why) !=
        APR_SUCCESS) {
        err->kind = PC_E_PARSE;
        err->http_status = resp.status;
        err->tag = "upstream-parse";
        err->message = apr_pstrcat(p, "audit activities: unusable answer: ",
                                   why, NULL);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* ---- the feed's state ---------------------------------------------------- */

void pc_feed_window(pc_feed_t *f, apr_time_t now, apr_interval_time_t margin,
                    apr_interval_time_t retention, int *gap)
{
    apr_time_t from;

    *gap = 0;
    if (f->win_until)
        return;
    from = f->cursor ? f->cursor - margin : now - margin;
    if (from < now - retention) {
        from = now - retention;
        *gap = 1;
    }
    if (f->cursor == 0 || *gap)
        f->since = from;
    f->win_from = from;
    f->win_until = now > from ? now : from;
}

void pc_feed_complete(pc_feed_t *f, apr_interval_time_t margin)
{
    /* The next window starts at cursor - margin: an ID recorded before it
     * cannot come back (a second of slack for rounding to ms). */
    apr_time_t keep_from = f->win_until - margin - apr_time_from_sec(1);
    int i;

    if (f->win_until == 0)
        return;
    f->cursor = f->win_until;
    f->win_from = f->win_until = 0;
    for (i = 0; i < PC_FEED_SEEN; i++)
        if (f->seen[i].at && f->seen[i].at < keep_from)
            memset(&f->seen[i], 0, sizeof(f->seen[i]));
}

void pc_feed_abandon(pc_feed_t *f)
{
    f->win_from = f->win_until = 0;
}

int pc_feed_adopt(pc_feed_t *f, apr_time_t cursor, apr_time_t since)
{
    if (cursor <= f->cursor)
        return 0;
    f->cursor = cursor;
    f->since = since;
    f->win_from = f->win_until = 0;
    return 1;
}

static void id_key(unsigned char key[16], const char *id)
{
    unsigned char d[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t sha;

    apr_sha1_init(&sha);
    apr_sha1_update_binary(&sha, (const unsigned char *)id,
                           (unsigned int)strlen(id));
    apr_sha1_final(d, &sha);
    memcpy(key, d, 16);
}

int pc_feed_seen(const pc_feed_t *f, const char *id)
{
    unsigned char key[16];
    int i;

    id_key(key, id);
    for (i = 0; i < PC_FEED_SEEN; i++)
        if (f->seen[i].at && memcmp(f->seen[i].key, key, 16) == 0)
            return 1;
    return 0;
}

int pc_feed_remember(pc_feed_t *f, const char *id, apr_time_t recorded_at)
{
    pc_feed_seen_t *s = &f->seen[f->next % PC_FEED_SEEN];
    int lost = s->at != 0;

    id_key(s->key, id);
    s->at = recorded_at > 0 ? recorded_at : 1;
    f->next = (f->next + 1) % PC_FEED_SEEN;
    return lost;
}

int pc_feed_healthy(apr_time_t last_ok, apr_time_t now,
                    apr_interval_time_t within)
{
    return last_ok > 0 && now - last_ok <= within;
}

apr_time_t pc_feed_retry_at(apr_time_t now, int errors,
                            apr_interval_time_t interval,
                            const char *retry_after)
{
    apr_interval_time_t wait = interval;
    int i;

    for (i = 1; i < errors && wait < RETRY_CAP; i++)
        wait *= 2;
    if (wait > RETRY_CAP)
        wait = RETRY_CAP;
    if (wait < interval)
        wait = interval;
    if (retry_after)
        return now + apr_time_from_sec(pc_retry_after_seconds(
                         retry_after, now, (int)apr_time_sec(wait)));
    return now + wait;
}

apr_size_t pc_feed_record_encode(char buf[PC_FEED_RECORD_MAX],
                                 apr_time_t cursor, apr_time_t since,
                                 apr_time_t last_ok)
{
    return (apr_size_t)apr_snprintf(buf, PC_FEED_RECORD_MAX,
                                    "PCF1 %" APR_TIME_T_FMT
                                    " %" APR_TIME_T_FMT " %" APR_TIME_T_FMT,
                                    cursor, since, last_ok);
}

/* One decimal field of 1..19 digits, no sign, no leading zero (one way
 * to write each value): *s moves past it. */
static int time_field(apr_time_t *out, const char **s, const char *end)
{
    const char *c = *s;
    apr_int64_t v = 0;
    int n = 0;

    while (c < end && *c >= '0' && *c <= '9' && n < 19) {
        v = v * 10 + (*c - '0');
        c++;
        n++;
    }
    if (n == 0 || (c < end && *c >= '0' && *c <= '9') ||
        (n > 1 && **s == '0'))
        return -1;
    *out = (apr_time_t)v;
    *s = c;
    return 0;
}

apr_status_t pc_feed_record_decode(apr_time_t *cursor, apr_time_t *since,
                                   apr_time_t *last_ok, const char *buf,
                                   apr_size_t len)
{
    const char *s = buf, *end = buf + len;
    apr_time_t v[3];
    int i;

    if (len < 5 || len >= PC_FEED_RECORD_MAX || memcmp(buf, "PCF1", 4) != 0)
        return APR_EINVAL;
    s += 4;
    for (i = 0; i < 3; i++) {
        if (s >= end || *s != ' ')
            return APR_EINVAL;
        s++;
        if (time_field(&v[i], &s, end) != 0)
            return APR_EINVAL;
    }
    if (s != end)
        return APR_EINVAL;
    *cursor = v[0];
    *since = v[1];
    *last_ok = v[2];
    return APR_SUCCESS;
}

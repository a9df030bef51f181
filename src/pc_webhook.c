/*
 * pc_webhook.c - parsing PingOne ACTIVITY deliveries.
 *
 * The body, and each ND-JSON line, goes through pc_json's strict parser
 * like every other input: invalid UTF-8, NaN, single quotes, raw control
 * characters in strings or \u0000 refuse the delivery.
 */
#include "pc_webhook.h"
#include "pc_json.h"

#include <string.h>

pc_event_effect_e pc_event_effect(const char *type)
{
    static const char *const drop[] = {
        "OAUTH_CONSENT.REVOKED", "OAUTH_CONSENT.DECLINED",
        "OAUTH_CONSENT.DELETED", "USER.DELETED", "USER.DISABLED"};
    size_t i;
    for (i = 0; type && i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (strcmp(type, drop[i]) == 0)
            return PC_EV_DROP_USER;
    }
    return PC_EV_IGNORED;
}

/* The user an event is about: the first resources[] entry of type USER,
 * else actors.user.id; NULL when it names none. */
static const char *event_user(pc_json_t *o, apr_pool_t *p)
{
    pc_json_t *res = pc_json_member(o, "resources");
    apr_size_t i, n = pc_json_array_len(res);

    for (i = 0; i < n; i++) {
        pc_json_t *r = pc_json_array_at(res, i);
        const char *t = pc_json_loose_string(r, "type", p);

        if (t && strcmp(t, "USER") == 0)
            return pc_json_loose_string(r, "id", p);
    }
    return pc_json_loose_string(
        pc_json_member(pc_json_member(o, "actors"), "user"), "id", p);
}

/* Events are read tolerantly: a field of another type reads as absent. */
static int add_event(apr_array_header_t *events, pc_json_t *o,
                     apr_pool_t *p)
{
    pc_event_t *ev;

    if (!pc_json_is(o, PC_JSON_OBJECT))
        return -1;
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->type = pc_json_loose_string(pc_json_member(o, "action"), "type", p);
    ev->user_id = event_user(o, p);
    ev->effect = pc_event_effect(ev->type);
    APR_ARRAY_PUSH(events, pc_event_t *) = ev;
    return 0;
}

/* One JSON value (the body or one ND-JSON line): its events are appended. */
static apr_status_t read_events(void *baton, pc_json_t *doc, apr_pool_t *p,
                                const char **why)
{
    apr_array_header_t *events = baton;
    apr_size_t i, n;

    if (!pc_json_is(doc, PC_JSON_ARRAY)) {
        if (add_event(events, doc, p) == 0)
            return APR_SUCCESS;
        *why = "the delivery is not a JSON object or array";
        return APR_EGENERAL;
    }
    n = pc_json_array_len(doc);
    for (i = 0; i < n; i++) {
        if (add_event(events, pc_json_array_at(doc, i), p) != 0) {
            *why = "an event is not a JSON object";
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t pc_webhook_parse(apr_array_header_t **events, const char *body,
                              apr_size_t len, apr_pool_t *p,
                              const char **err)
{
    apr_size_t start = 0, end;
    int lines = 0;

    *events = apr_array_make(p, 8, sizeof(pc_event_t *));
    *err = NULL;
    if (body == NULL || len == 0 || memchr(body, '\0', len)) {
        *err = "empty body or NUL byte";
        return APR_EGENERAL;
    }
    /* ND-JSON, or one JSON value spread over lines: try the whole body
     * first, then line by line. */
    if (pc_json_read(body, len, read_events, *events, p, err) == APR_SUCCESS)
        goto counted;
    (*events)->nelts = 0;
    while (start < len) {
        const char *nl = memchr(body + start, '\n', len - start);
        end = nl ? (apr_size_t)(nl - body) : len;
        while (start < end && (body[start] == ' ' || body[start] == '\r' ||
                               body[start] == '\t'))
            start++;
        if (end > start) {
            apr_size_t e = end;
            while (e > start && (body[e - 1] == '\r' || body[e - 1] == ' '))
                e--;
            if (pc_json_read(body + start, e - start, read_events, *events, p,
                             err) != APR_SUCCESS)
                return APR_EGENERAL;
            lines++;
        }
        start = end + 1;
    }
    if (lines == 0) {
        *err = "no event in the body";
        return APR_EGENERAL;
    }
counted:
    if ((*events)->nelts > PC_WEBHOOK_MAX_EVENTS) {
        *err = "more than 1000 events in one delivery";
        return APR_EGENERAL;
    }
    *err = NULL;
    return APR_SUCCESS;
}

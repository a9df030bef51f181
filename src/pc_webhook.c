/*
 * pc_webhook.c - parsing PingOne ACTIVITY deliveries, and what their
 * action types mean.
 *
 * The body, and each ND-JSON line, goes through pc_json's strict parser
 * like every other input: invalid UTF-8, NaN, single quotes, raw control
 * characters in strings or \u0000 refuse the delivery.
 */
#include "pc_webhook.h"
#include "pc_json.h"
#include "pc_parse.h"

#include <string.h>

const char *const pc_default_revocation_events[] = {
    "OAUTH_CONSENT.REVOKED", "OAUTH_CONSENT.DECLINED", "OAUTH_CONSENT.DELETED",
    "USER.DELETED",          "USER.DISABLED",          "USER.UPDATED",
    NULL};

/* A consent granted: the user's decisions go, so the new consent (and its
 * scopes) counts on the next request. */
#define GRANT_TYPE "OAUTH_CONSENT.ACCEPTED"
/* A user changed (re-enabled, say): when it is not a revocation type, it
 * still lifts the user's cached denies. */
#define LIFT_TYPE "USER.UPDATED"

static int in_list(const apr_array_header_t *drop, const char *type)
{
    int i;

    if (drop == NULL) {
        for (i = 0; pc_default_revocation_events[i]; i++)
            if (strcmp(type, pc_default_revocation_events[i]) == 0)
                return 1;
        return 0;
    }
    for (i = 0; i < drop->nelts; i++)
        if (strcmp(type, APR_ARRAY_IDX(drop, i, const char *)) == 0)
            return 1;
    return 0;
}

pc_event_effect_e pc_event_effect_in(const apr_array_header_t *drop,
                                     const char *type)
{
    if (type == NULL)
        return PC_EV_IGNORED;
    if (in_list(drop, type))
        return PC_EV_DROP_USER;
    if (strcmp(type, GRANT_TYPE) == 0)
        return PC_EV_GRANT;
    if (strcmp(type, LIFT_TYPE) == 0)
        return PC_EV_LIFT_DENY;
    return PC_EV_IGNORED;
}

pc_event_effect_e pc_event_effect(const char *type)
{
    return pc_event_effect_in(NULL, type);
}

const char *pc_event_type_check(const char *type)
{
    const char *c;

    if (type == NULL || *type == '\0')
        return "an action type is empty";
    if (strlen(type) > PC_EVENT_TYPE_MAX)
        return "an action type is longer than 64 characters";
    for (c = type; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.'))
            return "an action type holds other characters than A-Z, 0-9, "
                   "'_' and '.' (PingOne writes them in capitals, e.g. "
                   "OAUTH_CONSENT.REVOKED)";
    }
    return NULL;
}

static void add_once(apr_array_header_t *a, const char *type)
{
    if (!in_list(a, type))
        APR_ARRAY_PUSH(a, const char *) = type;
}

apr_array_header_t *pc_event_types_wanted(apr_pool_t *p,
                                          const apr_array_header_t *drop)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(const char *));
    int i;

    if (drop == NULL)
        for (i = 0; pc_default_revocation_events[i]; i++)
            add_once(a, pc_default_revocation_events[i]);
    else
        for (i = 0; i < drop->nelts; i++)
            add_once(a, APR_ARRAY_IDX(drop, i, const char *));
    add_once(a, GRANT_TYPE);
    add_once(a, LIFT_TYPE);
    return a;
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

pc_event_t *pc_event_read(pc_json_t *o, apr_pool_t *p)
{
    pc_event_t *ev;
    const char *at;

    if (!pc_json_is(o, PC_JSON_OBJECT))
        return NULL;
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->type = pc_json_loose_string(pc_json_member(o, "action"), "type", p);
    ev->user_id = event_user(o, p);
    ev->effect = pc_event_effect(ev->type);
    ev->id = pc_json_loose_string(o, "id", p);
    ev->env_id =
        pc_json_loose_string(pc_json_member(o, "environment"), "id", p);
    at = pc_json_loose_string(o, "recordedAt", p);
    if (at == NULL || pc_parse_timestamp(&ev->recorded_at, at) != APR_SUCCESS)
        ev->recorded_at = 0;
    return ev;
}

/* Events are read tolerantly: a field of another type reads as absent. */
static int add_event(apr_array_header_t *events, pc_json_t *o,
                     apr_pool_t *p)
{
    pc_event_t *ev = pc_event_read(o, p);

    if (ev == NULL)
        return -1;
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

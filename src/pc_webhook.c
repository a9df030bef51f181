/*
 * pc_webhook.c - parsing PingOne ACTIVITY deliveries.
 */
#include "pc_webhook.h"
#include "pc_consent.h"

#include <apr_strings.h>
#include <json.h>
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

static const char *str_at(json_object *o, const char *k1, const char *k2,
                          apr_pool_t *p)
{
    json_object *v;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, k1, &v) || v == NULL)
        return NULL;
    if (k2) {
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, k2, &v) || v == NULL)
            return NULL;
    }
    if (!json_object_is_type(v, json_type_string) ||
        memchr(json_object_get_string(v), '\0',
               (size_t)json_object_get_string_len(v)))
        return NULL;
    return apr_pstrmemdup(p, json_object_get_string(v),
                          (apr_size_t)json_object_get_string_len(v));
}

static int add_event(apr_array_header_t *events, json_object *o,
                     apr_pool_t *p)
{
    pc_event_t *ev;
    json_object *res, *actors;

    if (o == NULL || !json_object_is_type(o, json_type_object))
        return -1;
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->type = str_at(o, "action", "type", p);
    if (json_object_object_get_ex(o, "resources", &res) && res &&
        json_object_is_type(res, json_type_array)) {
        size_t i, n = json_object_array_length(res);
        for (i = 0; i < n && ev->user_id == NULL; i++) {
            json_object *r = json_object_array_get_idx(res, i);
            const char *t = str_at(r, "type", NULL, p);
            if (t && strcmp(t, "USER") == 0)
                ev->user_id = str_at(r, "id", NULL, p);
        }
    }
    if (ev->user_id == NULL && json_object_object_get_ex(o, "actors", &actors))
        ev->user_id = str_at(actors, "user", "id", p);
    ev->effect = pc_event_effect(ev->type);
    APR_ARRAY_PUSH(events, pc_event_t *) = ev;
    return 0;
}

/* One JSON value from [s, s+len): its events are appended. */
static apr_status_t parse_value(apr_array_header_t *events, const char *s,
                                apr_size_t len, apr_pool_t *p,
                                const char **err)
{
    json_tokener *tok;
    json_object *doc;
    int ok = 0;

    if (len > 0x7fffffff) {
        *err = "body too large";
        return APR_EGENERAL;
    }
    tok = json_tokener_new_ex(PC_JSON_MAX_DEPTH);
    if (tok == NULL) {
        *err = "out of memory";
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    doc = json_tokener_parse_ex(tok, s, (int)len);
    if (doc && json_tokener_get_error(tok) == json_tokener_success) {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && (s[end] == ' ' || s[end] == '\n' ||
                             s[end] == '\r' || s[end] == '\t'))
            end++;
        ok = end == len;
        if (!ok)
            *err = "trailing data after a JSON value";
    }
    if (ok) {
        ok = 1;
        if (json_object_is_type(doc, json_type_array)) {
            size_t i, n = json_object_array_length(doc);
            for (i = 0; i < n && ok; i++)
                ok = add_event(events, json_object_array_get_idx(doc, i),
                               p) == 0;
            if (!ok)
                *err = "an event is not a JSON object";
        }
        else if (add_event(events, doc, p) != 0) {
            ok = 0;
            *err = "the delivery is not a JSON object or array";
        }
    }
    else if (*err == NULL || doc == NULL) {
        *err = "invalid JSON";
    }
    json_tokener_free(tok);
    if (doc)
        json_object_put(doc);
    return ok ? APR_SUCCESS : APR_EGENERAL;
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
    if (parse_value(*events, body, len, p, err) == APR_SUCCESS)
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
            if (parse_value(*events, body + start, e - start, p, err) !=
                APR_SUCCESS)
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

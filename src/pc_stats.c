/*
 * pc_stats.c - counter names and the metric registry (see pc_stats.h).
 */
#include "pc_stats.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

const char *const pc_counter_names[PC_CNT_MAX] = {
    "hits",          "misses",           "stale",
    "errors",        "coalesced",        "fail_open",
    "pingone_calls", "token_calls",      "cache_errors",
    "webhook_accepted", "webhook_refused", "webhook_users_dropped",
    "budget_exceeded",
    "feed_polls",    "feed_audit_calls", "feed_events",
    "feed_applied",  "feed_malformed",   "feed_foreign",
    "feed_errors",   "feed_rate_limited",
    "cache_seal_failures"};

#define WEBHOOK_HELP                                                         \
    "Webhook deliveries (pingone-consent-webhook), by result: accepted, "    \
    "or refused (wrong Authorization, unreadable body)."

/* Rows by index, so a counter added elsewhere merges without touching
 * these lines (and test_stats.c says it has no row yet). */
const pc_counter_def_t pc_counter_defs[PC_CNT_MAX] = {
    [PC_CNT_HIT] = {"pingone_consent_cache_hits_total",
                    "Lookups a fresh cached decision answered (no PingOne "
                    "call).", NULL, NULL},
    [PC_CNT_MISS] = {"pingone_consent_cache_misses_total",
                     "Lookups without a fresh cached decision (PingOne, or a "
                     "concurrent lookup of the same key, answered).",
                     NULL, NULL},
    [PC_CNT_STALE] = {"pingone_consent_stale_answers_total",
                      "Lookups a stale cached decision answered because "
                      "PingOne failed (PingOneConsentStaleIfError).",
                      NULL, NULL},
    [PC_CNT_ERROR] = {"pingone_consent_pingone_failures_total",
                      "Lookups for which PingOne failed or could not be "
                      "asked (back-off, budget), whatever then decided.",
                      NULL, NULL},
    [PC_CNT_COALESCED] = {"pingone_consent_singleflight_saved_total",
                          "PingOne calls saved by single flight: a "
                          "concurrent lookup of the same key answered.",
                          NULL, NULL},
    [PC_CNT_FAIL_OPEN] = {"pingone_consent_fail_open_total",
                          "Lookups allowed without a consent check because "
                          "PingOne failed (PingOneConsentFailMode open).",
                          NULL, NULL},
    [PC_CNT_PINGONE] = {"pingone_consent_pingone_lookups_total",
                        "Lookups (consent or username) that asked PingOne; "
                        "each takes one or more HTTP requests.", NULL, NULL},
    [PC_CNT_TOKEN] = {"pingone_consent_token_fetches_total",
                      "Worker access tokens fetched from PingOne.", NULL,
                      NULL},
    [PC_CNT_CACHE_ERROR] = {"pingone_consent_cache_errors_total",
                            "Operations on the decision cache that failed.",
                            NULL, NULL},
    [PC_CNT_WEBHOOK_OK] = {"pingone_consent_webhook_deliveries_total",
                           WEBHOOK_HELP, "result", "accepted"},
    [PC_CNT_WEBHOOK_REFUSED] = {"pingone_consent_webhook_deliveries_total",
                                WEBHOOK_HELP, "result", "refused"},
    [PC_CNT_WEBHOOK_DROPPED] = {"pingone_consent_users_dropped_total",
                                "Users whose cached decisions a revocation "
                                "event (webhook or feed) dropped.", NULL,
                                NULL},
    [PC_CNT_BUDGET] = {"pingone_consent_budget_exceeded_total",
                       "Lookups the PingOne call budget (PingOneRateLimit) "
                       "refused a call.", NULL, NULL},
    [PC_CNT_FEED_POLLS] = {"pingone_consent_feed_polls_total",
                           "Activity feed: audit windows read to their end "
                           "(PingOneActivityPoll).", NULL, NULL},
    [PC_CNT_FEED_CALLS] = {"pingone_consent_feed_audit_calls_total",
                           "Activity feed: calls to PingOne's audit API.",
                           NULL, NULL},
    [PC_CNT_FEED_EVENTS] = {"pingone_consent_feed_events_total",
                            "Activity feed: events seen (each counted once).",
                            NULL, NULL},
    [PC_CNT_FEED_APPLIED] = {"pingone_consent_feed_applied_total",
                             "Activity feed: users whose cached decisions an "
                             "event dropped.", NULL, NULL},
    [PC_CNT_FEED_MALFORMED] = {"pingone_consent_feed_malformed_total",
                               "Activity feed: events that could not be "
                               "read, ignored.", NULL, NULL},
    [PC_CNT_FEED_FOREIGN] = {"pingone_consent_feed_foreign_total",
                             "Activity feed: events of another environment, "
                             "ignored.", NULL, NULL},
    [PC_CNT_FEED_ERRORS] = {"pingone_consent_feed_errors_total",
                            "Activity feed: polls that failed (the feed turns "
                            "unhealthy after two intervals).", NULL, NULL},
    [PC_CNT_FEED_RATE_LIMITED] = {"pingone_consent_feed_rate_limited_total",
                                  "Activity feed: 429 answers from the audit "
                                  "API (backed off).", NULL, NULL},
    [PC_CNT_SEAL_FAILED] = {"pingone_consent_cache_seal_failures_total",
                            "Entries of a farm cache ignored because their "
                            "seal (PingOneConsentCacheKey) did not verify.",
                            NULL, NULL},
};

void pc_counter_desc_of(pc_counter_desc_t *out, const char *name,
                        const pc_counter_def_t *d, apr_pool_t *p)
{
    char *f, *c;

    memset(out, 0, sizeof(*out));
    out->name = name;
    if (d && d->family && d->help) {
        out->family = d->family;
        out->help = d->help;
        out->label = d->label;
        out->value = d->value;
        out->described = 1;
        return;
    }
    /* A short name is not necessarily a metric name. */
    f = apr_pstrcat(p, "pingone_consent_", name, "_total", NULL);
    for (c = f; *c; c++)
        if (!apr_isalnum(*c) && *c != '_')
            *c = '_';
    out->family = f;
    out->help = apr_pstrcat(p, "The module's counter ", name,
                            " (not described yet).", NULL);
}

void pc_counter_describe(pc_counter_desc_t *out, pc_counter_e which,
                         apr_pool_t *p)
{
    pc_counter_desc_of(out,
                       pc_counter_names[which]
                           ? pc_counter_names[which]
                           : apr_psprintf(p, "counter%d", (int)which),
                       &pc_counter_defs[which], p);
}

const pc_metric_def_t pc_metric_defs[PC_MET_MAX] = {
    [PC_MET_DECISIONS] = {
        "pingone_consent_decisions_total", PC_METRIC_COUNTER,
        "Consent decisions on requests, by virtual host, outcome (the "
        "request note reduced to a class) and source of the consent."},
    [PC_MET_REQUESTS] = {
        "pingone_consent_pingone_requests_total", PC_METRIC_COUNTER,
        "HTTP requests to PingOne, by endpoint and status class (or "
        "transport failure)."},
    [PC_MET_LATENCY] = {
        "pingone_consent_pingone_lookup_duration_seconds",
        PC_METRIC_HISTOGRAM,
        "Time a consent lookup at PingOne took (every page, and a token "
        "fetch when one was needed)."},
    [PC_MET_CACHE_ENTRIES] = {
        "pingone_consent_cache_entries", PC_METRIC_GAUGE,
        "Decisions in the local cache table (absent for a farm cache)."},
    [PC_MET_CACHE_CAPACITY] = {
        "pingone_consent_cache_capacity", PC_METRIC_GAUGE,
        "Decisions the local cache table holds at most "
        "(PingOneConsentCacheSize; absent for a farm cache)."},
    [PC_MET_CACHE_EVICTIONS] = {
        "pingone_consent_cache_evictions_total", PC_METRIC_COUNTER,
        "Decisions pushed out of the local cache table to make room."},
    [PC_MET_CACHE_EVICTIONS_FRESH] = {
        "pingone_consent_cache_fresh_evictions_total", PC_METRIC_COUNTER,
        "Decisions pushed out while still fresh: the cache is too small "
        "(PingOneConsentCacheSize)."},
    [PC_MET_BACKOFF] = {
        "pingone_consent_backoff_seconds", PC_METRIC_GAUGE,
        "Seconds left of the back-off PingOne asked for with a 429 (0: "
        "none); meanwhile nobody calls PingOne."},
    [PC_MET_BUDGET_RATE] = {
        "pingone_consent_budget_rate", PC_METRIC_GAUGE,
        "PingOne calls per second the call budget allows (PingOneRateLimit; "
        "0: no budget)."},
    [PC_MET_BUDGET_BURST] = {
        "pingone_consent_budget_burst", PC_METRIC_GAUGE,
        "PingOne calls the call budget allows at once (PingOneRateLimit)."},
    [PC_MET_BUDGET_AVAILABLE] = {
        "pingone_consent_budget_available", PC_METRIC_GAUGE,
        "PingOne calls the call budget has available now."},
    [PC_MET_TOKEN_LEFT] = {
        "pingone_consent_token_remaining_seconds", PC_METRIC_GAUGE,
        "Seconds until the longest-lived worker access token expires (0: "
        "none held)."},
};

const char *pc_metric_type_name(pc_metric_type_e type)
{
    switch (type) {
    case PC_METRIC_GAUGE:
        return "gauge";
    case PC_METRIC_HISTOGRAM:
        return "histogram";
    case PC_METRIC_COUNTER:
        break;
    }
    return "counter";
}

/* ---- PingOne requests ------------------------------------------------------ */

const char *const pc_endpoint_names[PC_EP_MAX] = {
    "other", "token", "consents", "consent", "users", "job", "activities"};

const char *const pc_call_class_names[PC_CC_MAX] = {
    "2xx", "3xx", "4xx", "429", "5xx", "timeout", "connect", "tls", "failed"};

pc_call_class_e pc_call_class_of_status(int status)
{
    if (status == 429)
        return PC_CC_429;
    if (status >= 200 && status <= 299)
        return PC_CC_2XX;
    if (status >= 300 && status <= 399)
        return PC_CC_3XX;
    if (status >= 400 && status <= 499)
        return PC_CC_4XX;
    if (status >= 500 && status <= 599)
        return PC_CC_5XX;
    return PC_CC_FAILED;
}

/* ---- decisions --------------------------------------------------------------- */

const char *const pc_decision_names[PC_DEC_MAX] = {
    [PC_DEC_ALLOW] = "allow",
    [PC_DEC_DENY_NONE] = "deny:none",
    [PC_DEC_DENY_REVOKED] = "deny:revoked",
    [PC_DEC_DENY_DECLINED] = "deny:declined",
    [PC_DEC_DENY_STATUS] = "deny:status",
    [PC_DEC_DENY_EXPIRED] = "deny:expired",
    [PC_DEC_DENY_SCOPE] = "deny:scope",
    [PC_DEC_DENY_UNKNOWN_USER] = "deny:unknown-user",
    [PC_DEC_DENY_BAD_USER] = "deny:bad-user",
    [PC_DEC_DENY_NO_USER_ID] = "deny:no-user-id",
    [PC_DEC_DENY_OTHER] = "deny:other",
    [PC_DEC_ERR_TIMEOUT] = "error:upstream-timeout",
    [PC_DEC_ERR_CONNECT] = "error:upstream-connect",
    [PC_DEC_ERR_TLS] = "error:upstream-tls",
    [PC_DEC_ERR_429] = "error:upstream-429",
    [PC_DEC_ERR_4XX] = "error:upstream-4xx",
    [PC_DEC_ERR_5XX] = "error:upstream-5xx",
    [PC_DEC_ERR_TOKEN] = "error:upstream-token",
    [PC_DEC_ERR_PARSE] = "error:upstream-parse",
    [PC_DEC_ERR_UPSTREAM] = "error:upstream",
    [PC_DEC_ERR_BUDGET] = "error:budget",
    [PC_DEC_ERR_CONFIG] = "error:config",
};

const char *const pc_dsource_names[PC_DSRC_MAX] = {
    "cache", "pingone", "stale", "fail-open", "none"};

/* Exact names first; the open-ended ones by prefix. */
static int named(const char *reason, pc_decision_e *out)
{
    int i;

    for (i = 0; i < PC_DEC_MAX; i++) {
        if (strcmp(reason, pc_decision_names[i]) == 0) {
            *out = (pc_decision_e)i;
            return 1;
        }
    }
    return 0;
}

/* error:upstream-<what>: the transport failures by name, statuses by
 * class (three digits only: anything else is not a status). */
static pc_decision_e upstream_class(const char *what)
{
    static const struct {
        const char *tag;
        pc_decision_e d;
    } tags[] = {{"timeout", PC_DEC_ERR_TIMEOUT}, {"connect", PC_DEC_ERR_CONNECT},
                {"tls", PC_DEC_ERR_TLS},         {"token", PC_DEC_ERR_TOKEN},
                {"401", PC_DEC_ERR_TOKEN},       {"parse", PC_DEC_ERR_PARSE},
                {"too-big", PC_DEC_ERR_PARSE}};
    apr_size_t i;

    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (strcmp(what, tags[i].tag) == 0)
            return tags[i].d;
    if (strlen(what) == 3 && what[0] >= '1' && what[0] <= '9' &&
        what[1] >= '0' && what[1] <= '9' && what[2] >= '0' && what[2] <= '9') {
        switch (pc_call_class_of_status(atoi(what))) {
        case PC_CC_429:
            return PC_DEC_ERR_429;
        case PC_CC_4XX:
            return PC_DEC_ERR_4XX;
        case PC_CC_5XX:
            return PC_DEC_ERR_5XX;
        default:
            break;
        }
    }
    return PC_DEC_ERR_UPSTREAM;
}

pc_decision_e pc_decision_of(const char *reason)
{
    pc_decision_e d;

    if (reason == NULL)
        return PC_DEC_ERR_UPSTREAM;
    if (strcmp(reason, "allow:fail-open") == 0)
        return PC_DEC_ALLOW;
    if (named(reason, &d))
        return d;
    if (strncmp(reason, "deny:scope:", 11) == 0)
        return PC_DEC_DENY_SCOPE;
    if (strncmp(reason, "deny:", 5) == 0)
        return PC_DEC_DENY_OTHER;
    if (strncmp(reason, "error:upstream-", 15) == 0)
        return upstream_class(reason + 15);
    return PC_DEC_ERR_UPSTREAM;
}

static int is_error(pc_decision_e d)
{
    return d >= PC_DEC_ERR_TIMEOUT;
}

pc_dsource_e pc_dsource_of(pc_decision_e d, const char *source)
{
    int i;

    if (source == NULL || is_error(d))
        return PC_DSRC_NONE;
    for (i = 0; i < PC_DSRC_NONE; i++)
        if (strcmp(source, pc_dsource_names[i]) == 0)
            return (pc_dsource_e)i;
    return PC_DSRC_NONE;
}

int pc_decision_expected(pc_decision_e d, pc_dsource_e s)
{
    if (d == PC_DEC_ALLOW)
        return s != PC_DSRC_NONE;
    if (d == PC_DEC_DENY_BAD_USER || d == PC_DEC_DENY_NO_USER_ID ||
        is_error(d))
        return s == PC_DSRC_NONE;
    /* a consent's verdict, or an unknown user: from wherever the answer
     * came, except fail-open (which allows) */
    return s == PC_DSRC_CACHE || s == PC_DSRC_PINGONE || s == PC_DSRC_STALE;
}

/* Unit tests: the counter and metric registry (src/pc_stats.c). */
#include "pc_prom.h"
#include "pc_stats.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

static apr_pool_t *p;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every counter described, names valid and unique, families consistent. */
static void registry(void)
{
    apr_hash_t *names = apr_hash_make(p), *families = apr_hash_make(p);
    int i, j, described = 1, valid = 1, unique = 1, same_help = 1, labels = 1;

    for (i = 0; i < PC_CNT_MAX; i++) {
        pc_counter_desc_t d, e;
        pc_counter_describe(&d, (pc_counter_e)i, p);
        if (!d.described) {
            described = 0;
            printf("# counter %d (%s) has no row in pc_counter_defs\n", i, d.name);
        }
        if (!pc_prom_metric_name_ok(d.family) || !ends_with(d.family, "_total") ||
            strncmp(d.family, "pingone_consent_", 16) != 0 || !d.help || !*d.help) {
            valid = 0;
            printf("# counter %s: family %s\n", d.name, d.family);
        }
        if (apr_hash_get(names, d.name, APR_HASH_KEY_STRING))
            unique = 0;
        apr_hash_set(names, d.name, APR_HASH_KEY_STRING, d.name);
        apr_hash_set(families, d.family, APR_HASH_KEY_STRING, d.family);
        /* counters sharing a family: same help, one label, distinct values */
        for (j = 0; j < i; j++) {
            pc_counter_describe(&e, (pc_counter_e)j, p);
            if (strcmp(d.family, e.family) != 0)
                continue;
            if (strcmp(d.help, e.help) != 0)
                same_help = 0;
            if (!d.label || !e.label || strcmp(d.label, e.label) != 0 || !d.value ||
                !e.value || strcmp(d.value, e.value) == 0 || !pc_prom_label_name_ok(d.label))
                labels = 0;
        }
    }
    ok(described, "every counter has a row in pc_counter_defs");
    ok(valid, "every counter family is a valid pingone_consent_..._total name with help");
    ok(unique, "short names are unique (admin status JSON keys)");
    ok(same_help, "counters of one family share its help");
    ok(labels, "counters of one family differ by the value of one label");

    /* the other metrics: valid names, help, no clash with the counters */
    valid = unique = 1;
    for (i = 0; i < PC_MET_MAX; i++) {
        const pc_metric_def_t *m = &pc_metric_defs[i];
        if (!m->family || !pc_prom_metric_name_ok(m->family) || !m->help || !*m->help ||
            (m->type == PC_METRIC_COUNTER) != ends_with(m->family, "_total") ||
            (m->type == PC_METRIC_HISTOGRAM && !ends_with(m->family, "_seconds"))) {
            valid = 0;
            printf("# metric %d: %s\n", i, m->family ? m->family : "(none)");
            continue;
        }
        if (apr_hash_get(families, m->family, APR_HASH_KEY_STRING))
            unique = 0;
        apr_hash_set(families, m->family, APR_HASH_KEY_STRING, m->family);
    }
    ok(valid, "every other metric: valid name, help, _total exactly on counters, histograms in _seconds");
    ok(unique, "no two families share a name");
}

static void undescribed(void)
{
    /* A counter another change adds without a row still renders. */
    pc_counter_desc_t d;
    pc_counter_def_t none = {NULL, NULL, NULL, NULL};
    pc_counter_describe(&d, PC_CNT_HIT, p);
    is_str(d.family, "pingone_consent_cache_hits_total", "a described counter's family");
    pc_counter_desc_of(&d, "poll-calls.x", &none, p);
    is_str(d.family, "pingone_consent_poll_calls_x_total", "no row: a family from its name, made valid");
    ok(!d.described && strstr(d.help, "poll-calls.x") && d.label == NULL, "a help that names it, no label");
    pc_counter_desc_of(&d, "x", NULL, p);
    ok(pc_prom_metric_name_ok(d.family), "no row at all");
    is_str(pc_metric_type_name(PC_METRIC_HISTOGRAM), "histogram", "type names");
    is_str(pc_metric_type_name(PC_METRIC_COUNTER), "counter", "type names");
}

static void decisions(void)
{
    static const struct {
        const char *reason;
        const char *want;
    } cases[] = {
        {"allow", "allow"},
        {"allow:fail-open", "allow"},
        {"deny:none", "deny:none"},
        {"deny:revoked", "deny:revoked"},
        {"deny:declined", "deny:declined"},
        {"deny:status", "deny:status"},
        {"deny:expired", "deny:expired"},
        {"deny:scope:profile", "deny:scope"},
        {"deny:scope:a\"b", "deny:scope"},
        {"deny:unknown-user", "deny:unknown-user"},
        {"deny:bad-user", "deny:bad-user"},
        {"deny:no-user-id", "deny:no-user-id"},
        {"deny:something-new", "deny:other"},
        {"error:upstream-timeout", "error:upstream-timeout"},
        {"error:upstream-connect", "error:upstream-connect"},
        {"error:upstream-tls", "error:upstream-tls"},
        {"error:upstream-429", "error:upstream-429"},
        {"error:upstream-400", "error:upstream-4xx"},
        {"error:upstream-403", "error:upstream-4xx"},
        {"error:upstream-404", "error:upstream-4xx"},
        {"error:upstream-500", "error:upstream-5xx"},
        {"error:upstream-503", "error:upstream-5xx"},
        {"error:upstream-302", "error:upstream"},
        {"error:upstream-5031", "error:upstream"},
        {"error:upstream-50", "error:upstream"},
        {"error:upstream-token", "error:upstream-token"},
        {"error:upstream-401", "error:upstream-token"},
        {"error:upstream-parse", "error:upstream-parse"},
        {"error:upstream-too-big", "error:upstream-parse"},
        {"error:upstream-failed", "error:upstream"},
        {"error:upstream", "error:upstream"},
        {"error:budget", "error:budget"},
        {"error:config", "error:config"},
        {"error:bad-user-id", "error:upstream"},
        {"nonsense", "error:upstream"},
    };
    apr_size_t i;
    int all = 1, d;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = pc_decision_names[pc_decision_of(cases[i].reason)];
        if (strcmp(got, cases[i].want) != 0) {
            all = 0;
            printf("# %s -> %s, expected %s\n", cases[i].reason, got, cases[i].want);
        }
    }
    ok(all, "request notes reduce to a bounded set of outcomes (%d cases)",
       (int)(sizeof(cases) / sizeof(cases[0])));
    is_str(pc_decision_names[pc_decision_of(NULL)], "error:upstream", "no reason: error:upstream");
    for (d = 0, all = 1; d < PC_DEC_MAX; d++)
        if (!pc_decision_names[d] || (int)pc_decision_of(pc_decision_names[d]) != d)
            all = 0;
    ok(all, "every outcome's label value maps back to itself");

    is_int(pc_dsource_of(PC_DEC_ALLOW, "cache"), PC_DSRC_CACHE, "source cache");
    is_int(pc_dsource_of(PC_DEC_ALLOW, "pingone"), PC_DSRC_PINGONE, "source pingone");
    is_int(pc_dsource_of(PC_DEC_ALLOW, "stale"), PC_DSRC_STALE, "source stale");
    is_int(pc_dsource_of(PC_DEC_ALLOW, "fail-open"), PC_DSRC_FAIL_OPEN, "source fail-open");
    is_int(pc_dsource_of(PC_DEC_DENY_BAD_USER, NULL), PC_DSRC_NONE, "no source: none");
    is_int(pc_dsource_of(PC_DEC_ALLOW, "elsewhere"), PC_DSRC_NONE, "unknown source: none");
    is_int(pc_dsource_of(PC_DEC_ERR_5XX, "cache"), PC_DSRC_NONE, "errors have no source");

    ok(pc_decision_expected(PC_DEC_ALLOW, PC_DSRC_FAIL_OPEN) &&
       pc_decision_expected(PC_DEC_ALLOW, PC_DSRC_CACHE) &&
       !pc_decision_expected(PC_DEC_ALLOW, PC_DSRC_NONE), "allow: from a source, fail-open included");
    ok(pc_decision_expected(PC_DEC_DENY_REVOKED, PC_DSRC_STALE) &&
       !pc_decision_expected(PC_DEC_DENY_REVOKED, PC_DSRC_FAIL_OPEN) &&
       !pc_decision_expected(PC_DEC_DENY_REVOKED, PC_DSRC_NONE), "a consent's deny: cache, pingone, stale");
    ok(pc_decision_expected(PC_DEC_ERR_5XX, PC_DSRC_NONE) &&
       !pc_decision_expected(PC_DEC_ERR_5XX, PC_DSRC_CACHE) &&
       pc_decision_expected(PC_DEC_DENY_BAD_USER, PC_DSRC_NONE), "errors and bad users: source none");
}

static void requests(void)
{
    is_int(pc_call_class_of_status(200), PC_CC_2XX, "200: 2xx");
    is_int(pc_call_class_of_status(204), PC_CC_2XX, "204: 2xx");
    is_int(pc_call_class_of_status(302), PC_CC_3XX, "302: 3xx");
    is_int(pc_call_class_of_status(401), PC_CC_4XX, "401: 4xx");
    is_int(pc_call_class_of_status(429), PC_CC_429, "429 on its own");
    is_int(pc_call_class_of_status(503), PC_CC_5XX, "503: 5xx");
    is_int(pc_call_class_of_status(600), PC_CC_FAILED, "600: failed");
    is_int(pc_call_class_of_status(0), PC_CC_FAILED, "0: failed");
    ok(pc_endpoint_names[PC_EP_MAX - 1] && pc_call_class_names[PC_CC_MAX - 1] &&
       pc_dsource_names[PC_DSRC_MAX - 1], "every endpoint, class and source has a label value");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    registry();
    undescribed();
    decisions();
    requests();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

/* Unit tests: the Prometheus text exposition writer (src/pc_prom.c). */
#include "pc_prom.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <math.h>

static apr_pool_t *p;

static const char *text(pc_prom_t *w)
{
    return pc_prom_text(w, NULL);
}

int main(void)
{
    pc_prom_t *w;
    apr_size_t len;

    apr_initialize();
    apr_pool_create(&p, NULL);

    /* a counter family: HELP, TYPE, samples with and without labels */
    w = pc_prom_make(p);
    {
        pc_prom_label_t l[2] = {{"endpoint", "token"}, {"class", "2xx"}};
        ok(pc_prom_family(w, "pc_requests_total", PC_METRIC_COUNTER, "Requests.") == APR_SUCCESS,
           "family opened");
        ok(pc_prom_sample_u64(w, "", l, 2, 7) == APR_SUCCESS, "labelled sample");
        ok(pc_prom_family(w, "pc_up", PC_METRIC_GAUGE, "Up.") == APR_SUCCESS, "second family");
        ok(pc_prom_sample(w, NULL, NULL, 0, 1) == APR_SUCCESS, "bare sample");
    }
    is_str(text(w),
           "# HELP pc_requests_total Requests.\n"
           "# TYPE pc_requests_total counter\n"
           "pc_requests_total{endpoint=\"token\",class=\"2xx\"} 7\n"
           "# HELP pc_up Up.\n"
           "# TYPE pc_up gauge\n"
           "pc_up 1\n",
           "exposition as the format spells it");
    pc_prom_text(w, &len);
    is_int(len, strlen(text(w)), "length reported");
    ok(pc_prom_status(w) == APR_SUCCESS && pc_prom_error(w) == NULL, "no error");

    /* escaping: help (backslash, line feed), label values (also quotes) */
    w = pc_prom_make(p);
    {
        pc_prom_label_t l = {"server", "a\\b \"q\"\nz"};
        pc_prom_family(w, "pc_x", PC_METRIC_GAUGE, "Path C:\\dir\nsecond \"line\"");
        pc_prom_sample_u64(w, "", &l, 1, 0);
    }
    is_str(text(w),
           "# HELP pc_x Path C:\\\\dir\\nsecond \"line\"\n"
           "# TYPE pc_x gauge\n"
           "pc_x{server=\"a\\\\b \\\"q\\\"\\nz\"} 0\n",
           "help escapes backslash and line feed (not quotes); label values all three");

    /* UTF-8 passes as is; invalid UTF-8 is refused */
    w = pc_prom_make(p);
    {
        pc_prom_label_t ok_l = {"app", "Caf\xc3\xa9 \xe2\x98\x83"}, bad = {"app", "x\xff"};
        pc_prom_family(w, "pc_y", PC_METRIC_GAUGE, "Caf\xc3\xa9.");
        ok(pc_prom_sample_u64(w, "", &ok_l, 1, 1) == APR_SUCCESS, "UTF-8 label value accepted");
        ok(strstr(text(w), "pc_y{app=\"Caf\xc3\xa9 \xe2\x98\x83\"} 1\n") != NULL, "written unchanged");
        ok(pc_prom_sample_u64(w, "", &bad, 1, 1) == APR_EINVAL, "invalid UTF-8 refused");
        ok(pc_prom_error(w) && strstr(pc_prom_error(w), "not UTF-8"), "error says why: %s",
           pc_prom_error(w));
    }
    w = pc_prom_make(p);
    ok(pc_prom_family(w, "pc_z", PC_METRIC_GAUGE, "bad \xc0\xaf help") == APR_EINVAL,
       "help that is not UTF-8 refused");

    /* HELP and TYPE once per family */
    w = pc_prom_make(p);
    pc_prom_family(w, "pc_a_total", PC_METRIC_COUNTER, "A.");
    pc_prom_family(w, "pc_b", PC_METRIC_GAUGE, "B.");
    ok(pc_prom_family(w, "pc_a_total", PC_METRIC_COUNTER, "A.") == APR_EEXIST,
       "a family opened twice is refused");
    ok(strstr(pc_prom_error(w), "pc_a_total") != NULL, "the error names it");
    ok(pc_prom_sample(w, "", NULL, 0, 1) == APR_EEXIST, "the first error sticks");
    ok(strstr(text(w), "pc_b 1") == NULL, "nothing is written after an error");

    /* names */
    ok(pc_prom_metric_name_ok("a:b_c9") && pc_prom_metric_name_ok("_x"), "metric names: letters, _, :, digits");
    ok(!pc_prom_metric_name_ok("9a") && !pc_prom_metric_name_ok("a-b") && !pc_prom_metric_name_ok("") &&
       !pc_prom_metric_name_ok("a b") && !pc_prom_metric_name_ok(NULL), "bad metric names");
    ok(pc_prom_label_name_ok("server") && pc_prom_label_name_ok("_x1"), "label names");
    ok(!pc_prom_label_name_ok("__name__") && !pc_prom_label_name_ok("a:b") && !pc_prom_label_name_ok("1a"),
       "reserved __ prefix, colon and leading digit refused in label names");
    w = pc_prom_make(p);
    ok(pc_prom_family(w, "bad-name", PC_METRIC_GAUGE, "x") == APR_EINVAL, "bad family name refused");
    w = pc_prom_make(p);
    ok(pc_prom_family(w, "pc_nohelp", PC_METRIC_GAUGE, "") == APR_EINVAL, "empty help refused");
    w = pc_prom_make(p);
    ok(pc_prom_sample(w, "", NULL, 0, 1) == APR_EINVAL, "a sample outside a family refused");
    w = pc_prom_make(p);
    {
        pc_prom_label_t dup[2] = {{"a", "1"}, {"a", "2"}}, bad[1] = {{"__x", "1"}};
        pc_prom_family(w, "pc_l", PC_METRIC_GAUGE, "L.");
        ok(pc_prom_sample(w, "", dup, 2, 1) == APR_EINVAL, "duplicate label name refused");
        w = pc_prom_make(p);
        pc_prom_family(w, "pc_l", PC_METRIC_GAUGE, "L.");
        ok(pc_prom_sample(w, "", bad, 1, 1) == APR_EINVAL, "reserved label name refused");
    }

    /* values */
    w = pc_prom_make(p);
    pc_prom_family(w, "pc_v", PC_METRIC_GAUGE, "V.");
    pc_prom_sample_u64(w, "", NULL, 0, APR_UINT64_C(18446744073709551615));
    pc_prom_sample(w, "", NULL, 0, 0.1);
    pc_prom_sample(w, "", NULL, 0, 1e-3);
    pc_prom_sample(w, "", NULL, 0, 1.0 / 3.0);
    pc_prom_sample(w, "", NULL, 0, -2.5);
    pc_prom_sample(w, "", NULL, 0, INFINITY);
    pc_prom_sample(w, "", NULL, 0, -INFINITY);
    pc_prom_sample(w, "", NULL, 0, NAN);
    is_str(text(w),
           "# HELP pc_v V.\n# TYPE pc_v gauge\n"
           "pc_v 18446744073709551615\npc_v 0.1\npc_v 0.001\npc_v 0.3333333333333333\n"
           "pc_v -2.5\npc_v +Inf\npc_v -Inf\npc_v NaN\n",
           "integers exact, floats shortest round-trip, +Inf -Inf NaN");

    /* histograms: cumulative buckets, +Inf, _sum, _count */
    w = pc_prom_make(p);
    {
        const double le[3] = {0.001, 0.01, 0.1};
        const apr_uint64_t counts[4] = {2, 0, 3, 1};
        pc_prom_label_t l = {"server", "a"};
        pc_prom_family(w, "pc_seconds", PC_METRIC_HISTOGRAM, "Time.");
        ok(pc_prom_histogram(w, &l, 1, le, 3, counts, 0.5) == APR_SUCCESS, "histogram written");
    }
    is_str(text(w),
           "# HELP pc_seconds Time.\n# TYPE pc_seconds histogram\n"
           "pc_seconds_bucket{server=\"a\",le=\"0.001\"} 2\n"
           "pc_seconds_bucket{server=\"a\",le=\"0.01\"} 2\n"
           "pc_seconds_bucket{server=\"a\",le=\"0.1\"} 5\n"
           "pc_seconds_bucket{server=\"a\",le=\"+Inf\"} 6\n"
           "pc_seconds_sum{server=\"a\"} 0.5\n"
           "pc_seconds_count{server=\"a\"} 6\n",
           "buckets cumulative, +Inf equals _count");
    w = pc_prom_make(p);
    {
        const double le[2] = {1, 2};
        const apr_uint64_t counts[3] = {0, 0, 0};
        pc_prom_family(w, "pc_h", PC_METRIC_HISTOGRAM, "H.");
        ok(pc_prom_histogram(w, NULL, 0, le, 2, counts, 0) == APR_SUCCESS &&
           strstr(text(w), "pc_h_bucket{le=\"1\"} 0\n") && strstr(text(w), "pc_h_count 0\n") &&
           strstr(text(w), "pc_h_sum 0\n"), "an empty histogram without labels");
    }
    w = pc_prom_make(p);
    {
        const double le[2] = {2, 1};
        const apr_uint64_t counts[3] = {0, 0, 0};
        pc_prom_family(w, "pc_h", PC_METRIC_HISTOGRAM, "H.");
        ok(pc_prom_histogram(w, NULL, 0, le, 2, counts, 0) == APR_EINVAL, "bounds not ascending refused");
    }
    w = pc_prom_make(p);
    {
        const double le[1] = {1};
        const apr_uint64_t counts[2] = {0, 0};
        pc_prom_label_t l = {"le", "x"};
        pc_prom_family(w, "pc_h", PC_METRIC_HISTOGRAM, "H.");
        ok(pc_prom_histogram(w, &l, 1, le, 1, counts, 0) == APR_EINVAL, "a label named le refused");
        w = pc_prom_make(p);
        pc_prom_family(w, "pc_g", PC_METRIC_GAUGE, "G.");
        ok(pc_prom_histogram(w, NULL, 0, le, 1, counts, 0) == APR_EINVAL, "histogram in a gauge refused");
    }

    /* a big exposition grows its buffer */
    w = pc_prom_make(p);
    pc_prom_family(w, "pc_many", PC_METRIC_GAUGE, "Many.");
    {
        int i;
        for (i = 0; i < 2000; i++) {
            pc_prom_label_t l = {"i", apr_itoa(p, i)};
            pc_prom_sample_u64(w, "", &l, 1, (apr_uint64_t)i);
        }
    }
    ok(strstr(text(w), "pc_many{i=\"1999\"} 1999\n") != NULL && pc_prom_status(w) == APR_SUCCESS,
       "2000 samples");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}

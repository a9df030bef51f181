/*
 * pc_prom.h - a writer of Prometheus' text exposition format, version
 * 0.0.4 (pure core, no httpd).
 *
 * One writer makes one exposition: families one after the other, each
 * opened by pc_prom_family (its # HELP and # TYPE lines, written once: a
 * family opened twice is refused) and followed by its samples.  Names are
 * checked (metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* not starting with "__"), label values and help
 * text are escaped as the format says (label values: backslash, double
 * quote, line feed; help: backslash, line feed) and must be UTF-8.
 *
 * The first error sticks: every later call is ignored and pc_prom_status
 * reports it, with pc_prom_error saying what was refused.
 */
#ifndef PC_PROM_H
#define PC_PROM_H

#include <apr_pools.h>

#include "pc_stats.h"

typedef struct pc_prom_t pc_prom_t;

typedef struct pc_prom_label_t {
    const char *name;
    const char *value;
} pc_prom_label_t;

pc_prom_t *pc_prom_make(apr_pool_t *p);

/* Open a family: "# HELP name help" and "# TYPE name type".
 * APR_EINVAL: a bad name, no help, or help that is not UTF-8;
 * APR_EEXIST: this name was opened before. */
apr_status_t pc_prom_family(pc_prom_t *w, const char *name,
                            pc_metric_type_e type, const char *help);

/* A sample of the open family: name + suffix (suffix "" for counters and
 * gauges), labels (n of them, names unique), value.  Floating values:
 * shortest text that reads back the same; NaN, +Inf, -Inf as the format
 * spells them.  APR_EINVAL: no family open, a bad or duplicate label name,
 * a value that is not UTF-8, or "le" on a histogram family. */
apr_status_t pc_prom_sample(pc_prom_t *w, const char *suffix,
                            const pc_prom_label_t *labels, int n, double v);
apr_status_t pc_prom_sample_u64(pc_prom_t *w, const char *suffix,
                                const pc_prom_label_t *labels, int n,
                                apr_uint64_t v);

/* One histogram of the open (histogram) family, with the given labels:
 * `nb` upper bounds `le` in ascending order, nb + 1 observation counts per
 * bucket (the last: above every bound), and the sum of the observations.
 * Writes the cumulative name_bucket series (with le="+Inf"), name_sum and
 * name_count (equal to the +Inf bucket).  APR_EINVAL as for samples, or
 * for a family that is not a histogram, or bounds not ascending. */
apr_status_t pc_prom_histogram(pc_prom_t *w, const pc_prom_label_t *labels,
                               int n, const double *le, int nb,
                               const apr_uint64_t *counts, double sum);

/* APR_SUCCESS, or the first error. */
apr_status_t pc_prom_status(const pc_prom_t *w);
/* What the first error refused (NULL: none). */
const char *pc_prom_error(const pc_prom_t *w);

/* The exposition written so far, NUL terminated, and its length. */
const char *pc_prom_text(const pc_prom_t *w, apr_size_t *len);

/* 1 when name is a valid metric name / label name. */
int pc_prom_metric_name_ok(const char *name);
int pc_prom_label_name_ok(const char *name);

#endif

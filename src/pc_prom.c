/*
 * pc_prom.c - the text exposition format writer (see pc_prom.h).
 */
#include "pc_prom.h"
#include "pc_text.h"

#include <apr_hash.h>
#include <apr_strings.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pc_prom_t {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    apr_hash_t *families;      /* names opened so far */
    const char *family;        /* the open one, NULL: none */
    pc_metric_type_e type;
    apr_status_t status;       /* the first error */
    const char *error;
};

pc_prom_t *pc_prom_make(apr_pool_t *p)
{
    pc_prom_t *w = apr_pcalloc(p, sizeof(*w));

    w->p = p;
    w->cap = 4096;
    w->buf = apr_palloc(p, w->cap);
    w->buf[0] = '\0';
    w->families = apr_hash_make(p);
    return w;
}

static apr_status_t refuse(pc_prom_t *w, apr_status_t rv, const char *why)
{
    if (w->status == APR_SUCCESS) {
        w->status = rv;
        w->error = why;
    }
    return rv;
}

static void put(pc_prom_t *w, const char *s, apr_size_t n)
{
    if (w->len + n + 1 > w->cap) {
        char *nb;
        while (w->len + n + 1 > w->cap)
            w->cap *= 2;
        nb = apr_palloc(w->p, w->cap);
        memcpy(nb, w->buf, w->len);
        w->buf = nb;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(pc_prom_t *w, const char *s)
{
    put(w, s, strlen(s));
}

/* s with backslash and line feed escaped, and double quote too when
 * `quote` (label values). */
static void put_escaped(pc_prom_t *w, const char *s, int quote)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = *s == '\\'            ? "\\\\"
                          : *s == '\n'          ? "\\n"
                          : quote && *s == '"' ? "\\\""
                                                : NULL;
        if (esc == NULL)
            continue;
        put(w, run, (apr_size_t)(s - run));
        puts_(w, esc);
        run = s + 1;
    }
    put(w, run, (apr_size_t)(s - run));
}

static int name_ok(const char *s, int colon)
{
    const char *c = s;

    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || (colon && *c == ':')))
            return 0;
    }
    return 1;
}

int pc_prom_metric_name_ok(const char *name)
{
    return name_ok(name, 1);
}

int pc_prom_label_name_ok(const char *name)
{
    return name_ok(name, 0) && strncmp(name, "__", 2) != 0;
}

static int utf8(const char *s)
{
    return pc_utf8_valid(s, strlen(s));
}

apr_status_t pc_prom_family(pc_prom_t *w, const char *name,
                            pc_metric_type_e type, const char *help)
{
    if (w->status != APR_SUCCESS)
        return w->status;
    if (!pc_prom_metric_name_ok(name))
        return refuse(w, APR_EINVAL,
                      apr_psprintf(w->p, "bad metric name '%s'",
                                   name ? name : "(null)"));
    if (help == NULL || *help == '\0' || !utf8(help))
        return refuse(w, APR_EINVAL,
                      apr_psprintf(w->p, "%s: help missing or not UTF-8",
                                   name));
    if (apr_hash_get(w->families, name, APR_HASH_KEY_STRING))
        return refuse(w, APR_EEXIST,
                      apr_psprintf(w->p, "family %s opened twice", name));
    name = apr_pstrdup(w->p, name);
    apr_hash_set(w->families, name, APR_HASH_KEY_STRING, name);
    w->family = name;
    w->type = type;
    puts_(w, "# HELP ");
    puts_(w, name);
    puts_(w, " ");
    put_escaped(w, help, 0);
    puts_(w, "\n# TYPE ");
    puts_(w, name);
    puts_(w, " ");
    puts_(w, pc_metric_type_name(type));
    puts_(w, "\n");
    return APR_SUCCESS;
}

/* The labels checked (names valid and unique, values UTF-8; no "le" of
 * the caller's on a histogram). */
static apr_status_t check_labels(pc_prom_t *w, const pc_prom_label_t *l,
                                 int n)
{
    int i, j;

    if (w->family == NULL)
        return refuse(w, APR_EINVAL, "a sample outside any family");
    for (i = 0; i < n; i++) {
        if (!pc_prom_label_name_ok(l[i].name) ||
            (w->type == PC_METRIC_HISTOGRAM && strcmp(l[i].name, "le") == 0))
            return refuse(w, APR_EINVAL,
                          apr_psprintf(w->p, "%s: bad label name '%s'",
                                       w->family,
                                       l[i].name ? l[i].name : "(null)"));
        if (l[i].value == NULL || !utf8(l[i].value))
            return refuse(w, APR_EINVAL,
                          apr_psprintf(w->p, "%s: label %s: value missing "
                                       "or not UTF-8", w->family, l[i].name));
        for (j = 0; j < i; j++)
            if (strcmp(l[i].name, l[j].name) == 0)
                return refuse(w, APR_EINVAL,
                              apr_psprintf(w->p, "%s: label %s twice",
                                           w->family, l[i].name));
    }
    return APR_SUCCESS;
}

/* name{labels,le="..."} with the value text. */
static void put_sample(pc_prom_t *w, const char *suffix,
                       const pc_prom_label_t *l, int n, const char *le,
                       const char *value)
{
    int i;

    puts_(w, w->family);
    puts_(w, suffix ? suffix : "");
    if (n > 0 || le) {
        puts_(w, "{");
        for (i = 0; i < n; i++) {
            puts_(w, i ? "," : "");
            puts_(w, l[i].name);
            puts_(w, "=\"");
            put_escaped(w, l[i].value, 1);
            puts_(w, "\"");
        }
        if (le) {
            puts_(w, n ? ",le=\"" : "le=\"");
            puts_(w, le);
            puts_(w, "\"");
        }
        puts_(w, "}");
    }
    puts_(w, " ");
    puts_(w, value);
    puts_(w, "\n");
}

/* The shortest %g text that reads back as v. */
static const char *double_text(apr_pool_t *p, double v)
{
    char buf[64];
    int prec;

    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    for (prec = 6; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(buf, sizeof(buf), "%.17g", v);
    return apr_pstrdup(p, buf);
}

apr_status_t pc_prom_sample(pc_prom_t *w, const char *suffix,
                            const pc_prom_label_t *labels, int n, double v)
{
    if (w->status != APR_SUCCESS || check_labels(w, labels, n))
        return w->status;
    put_sample(w, suffix, labels, n, NULL, double_text(w->p, v));
    return APR_SUCCESS;
}

apr_status_t pc_prom_sample_u64(pc_prom_t *w, const char *suffix,
                                const pc_prom_label_t *labels, int n,
                                apr_uint64_t v)
{
    if (w->status != APR_SUCCESS || check_labels(w, labels, n))
        return w->status;
    put_sample(w, suffix, labels, n, NULL,
               apr_psprintf(w->p, "%" APR_UINT64_T_FMT, v));
    return APR_SUCCESS;
}

apr_status_t pc_prom_histogram(pc_prom_t *w, const pc_prom_label_t *labels,
                               int n, const double *le, int nb,
                               const apr_uint64_t *counts, double sum)
{
    apr_uint64_t run = 0;
    int i;

    if (w->status != APR_SUCCESS || check_labels(w, labels, n))
        return w->status;
    if (w->type != PC_METRIC_HISTOGRAM)
        return refuse(w, APR_EINVAL,
                      apr_psprintf(w->p, "%s is not a histogram", w->family));
    for (i = 1; i < nb; i++)
        if (!(le[i] > le[i - 1]))
            return refuse(w, APR_EINVAL,
                          apr_psprintf(w->p, "%s: bucket bounds not "
                                       "ascending", w->family));
    for (i = 0; i <= nb; i++) {
        run += counts[i];
        put_sample(w, "_bucket", labels, n,
                   i < nb ? double_text(w->p, le[i]) : "+Inf",
                   apr_psprintf(w->p, "%" APR_UINT64_T_FMT, run));
    }
    put_sample(w, "_sum", labels, n, NULL, double_text(w->p, sum));
    put_sample(w, "_count", labels, n, NULL,
               apr_psprintf(w->p, "%" APR_UINT64_T_FMT, run));
    return APR_SUCCESS;
}

apr_status_t pc_prom_status(const pc_prom_t *w)
{
    return w->status;
}

const char *pc_prom_error(const pc_prom_t *w)
{
    return w->error;
}

const char *pc_prom_text(const pc_prom_t *w, apr_size_t *len)
{
    if (len)
        *len = w->len;
    return w->buf;
}

/*
 * pc_metrics.c - Prometheus metrics (see pc_metrics.h).
 *
 * Area layout (in the shared segment, lock-free atomics):
 *
 *   generation                     post_config runs, to find stale slots
 *   requests[endpoint][class]      PingOne HTTP requests
 *   slot[0 .. PC_METRICS_SERVERS]  one per virtual host (the last one:
 *     label                          "(other)"), found again by its label
 *     generation                     the last post_config that used it
 *     decisions[outcome][source]
 *
 * A host keeps its slot across graceful restarts as long as its label
 * (ServerName:port) stays; a slot no host of the current configuration
 * uses is given to a new host, zeroed.  Request threads only add to slots
 * (their slot number is fixed in the parent at post_config, inherited by
 * the children), so nothing on the request path takes a lock.
 */
#include "pc_apache.h"
#include "pc_dcache.h"
#include "pc_metrics.h"
#include "pc_prom.h"
#include "pc_ratelimit.h"
#include "pc_text.h"
#include "pc_tokens.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(pingone_consent);

#define LABEL_MAX 128
#define OTHER_SLOT PC_METRICS_SERVERS
#define OTHER_LABEL "(other)"
#define DECISION_KEY "pingone-consent:metrics-decision"

typedef struct dslot_t {
    char label[LABEL_MAX];
    apr_uint32_t generation;
    apr_uint64_t v[PC_DEC_MAX][PC_DSRC_MAX];
} dslot_t;

typedef struct metrics_area_t {
    apr_uint32_t generation;
    apr_uint64_t requests[PC_EP_MAX][PC_CC_MAX];
    dslot_t slot[PC_METRICS_SERVERS + 1];
} metrics_area_t;

static metrics_area_t *g_area;
/* This generation's servers, by pc_srv_conf.index: their slot and label. */
static int *g_slot_of;
static const char **g_label_of;
static int g_nservers;

static void attach(void *mem, int fresh)
{
    (void)fresh;
    g_area = mem;
}

void pc_metrics_reset(void)
{
    g_area = NULL;
    g_slot_of = NULL;
    g_label_of = NULL;
    g_nservers = 0;
}

pc_seg_area_t pc_metrics_area(void)
{
    pc_seg_area_t a = {sizeof(metrics_area_t), attach};
    return a;
}

/* ---- slots ------------------------------------------------------------------ */

/* "ServerName:port" (the port the host is reached on), unique among the
 * servers labelled so far ("#<index>" appended otherwise). */
static const char *server_label(apr_pool_t *p, server_rec *v, int index,
                                apr_hash_t *seen)
{
    apr_port_t port = v->port;
    const char *name = v->server_hostname ? v->server_hostname : "-", *l;

    if (port == 0 && v->addrs)
        port = v->addrs->host_port;
    l = port ? apr_psprintf(p, "%s:%u", name, (unsigned)port) : name;
    if (strlen(l) >= LABEL_MAX - 8 || !pc_utf8_valid(l, strlen(l)) ||
        strcmp(l, OTHER_LABEL) == 0)
        l = apr_psprintf(p, "#%d", index);
    if (apr_hash_get(seen, l, APR_HASH_KEY_STRING))
        l = apr_psprintf(p, "%s#%d", l, index);
    apr_hash_set(seen, l, APR_HASH_KEY_STRING, l);
    return l;
}

static int find_slot(const char *label, apr_uint32_t gen)
{
    int i;

    for (i = 0; i < OTHER_SLOT; i++) {
        if (strcmp(g_area->slot[i].label, label) == 0) {
            g_area->slot[i].generation = gen;
            return i;
        }
    }
    return -1;
}

/* A slot no server of this generation uses, zeroed and labelled. */
static int claim_slot(const char *label, apr_uint32_t gen)
{
    int i;

    for (i = 0; i < OTHER_SLOT; i++) {
        dslot_t *d = &g_area->slot[i];
        if (d->label[0] == '\0' || d->generation != gen) {
            memset(d, 0, sizeof(*d));
            apr_cpystrn(d->label, label, sizeof(d->label));
            d->generation = gen;
            return i;
        }
    }
    return -1;
}

void pc_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_hash_t *seen = apr_hash_make(pconf);
    apr_uint32_t gen;
    server_rec *v;
    int i, overflow = 0;

    g_nservers = 0;
    for (v = s; v; v = v->next)
        g_nservers++;
    g_slot_of = apr_pcalloc(pconf, sizeof(int) * (apr_size_t)g_nservers);
    g_label_of = apr_pcalloc(pconf, sizeof(char *) * (apr_size_t)g_nservers);
    for (v = s, i = 0; v; v = v->next, i++)
        g_label_of[i] = server_label(pconf, v, i, seen);
    if (g_area == NULL)
        return;
    gen = ++g_area->generation;
    apr_cpystrn(g_area->slot[OTHER_SLOT].label, OTHER_LABEL, LABEL_MAX);
    /* Hosts that had a slot keep it; then the new ones claim one. */
    for (i = 0; i < g_nservers; i++)
        g_slot_of[i] = find_slot(g_label_of[i], gen);
    for (i = 0; i < g_nservers; i++) {
        if (g_slot_of[i] < 0 && (g_slot_of[i] = claim_slot(g_label_of[i],
                                                           gen)) < 0) {
            g_slot_of[i] = OTHER_SLOT;
            g_label_of[i] = OTHER_LABEL;
            overflow++;
        }
    }
    if (overflow)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "PC00230: %d virtual hosts have no metrics slot of "
                     "their own (%d slots): their decisions are counted "
                     "under server=\"" OTHER_LABEL "\"", overflow,
                     PC_METRICS_SERVERS);
}

/* ---- counting ------------------------------------------------------------ */

typedef struct decision_t {
    int slot;
    pc_decision_e d;
    pc_dsource_e s;
} decision_t;

/* When the request's pool goes: count its last decision. */
static apr_status_t count_decision(void *data)
{
    const decision_t *dn = data;

    if (g_area)
        __atomic_fetch_add(&g_area->slot[dn->slot].v[dn->d][dn->s], 1,
                           __ATOMIC_RELAXED);
    return APR_SUCCESS;
}

static int slot_of(const server_rec *s)
{
    int i = pc_srv(s)->index;

    return g_slot_of && i >= 0 && i < g_nservers ? g_slot_of[i] : OTHER_SLOT;
}

void pc_metrics_decision(request_rec *r, const char *reason,
                         const char *source)
{
    decision_t *dn = NULL;

    if (r->main != NULL || g_area == NULL)
        return;
    /* Internal redirects share the pool: one decision per request. */
    apr_pool_userdata_get((void **)&dn, DECISION_KEY, r->pool);
    if (dn == NULL) {
        dn = apr_palloc(r->pool, sizeof(*dn));
        dn->slot = slot_of(r->server);
        apr_pool_userdata_setn(dn, DECISION_KEY, count_decision, r->pool);
    }
    dn->d = pc_decision_of(reason);
    dn->s = pc_dsource_of(dn->d, source);
}

void pc_metrics_call(void *baton, pc_endpoint_e endpoint,
                     pc_call_class_e cls)
{
    (void)baton;
    if (g_area == NULL || (unsigned)endpoint >= PC_EP_MAX ||
        (unsigned)cls >= PC_CC_MAX)
        return;
    __atomic_fetch_add(&g_area->requests[endpoint][cls], 1,
                       __ATOMIC_RELAXED);
}

/* ---- rendering ----------------------------------------------------------- */

static apr_uint64_t load(const apr_uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void open_family(pc_prom_t *w, pc_metric_e m)
{
    pc_prom_family(w, pc_metric_defs[m].family, pc_metric_defs[m].type,
                   pc_metric_defs[m].help);
}

/* Every counter of the registry (pc_stats.h), grouped by family. */
static void render_counters(pc_prom_t *w, apr_pool_t *p)
{
    pc_counter_desc_t d[PC_CNT_MAX];
    pc_counters_t c;
    char done[PC_CNT_MAX];
    int i, j;

    pc_counters_read(&c);
    memset(done, 0, sizeof(done));
    for (i = 0; i < PC_CNT_MAX; i++)
        pc_counter_describe(&d[i], (pc_counter_e)i, p);
    for (i = 0; i < PC_CNT_MAX; i++) {
        if (done[i])
            continue;
        pc_prom_family(w, d[i].family, PC_METRIC_COUNTER, d[i].help);
        for (j = i; j < PC_CNT_MAX; j++) {
            pc_prom_label_t l;
            if (done[j] || strcmp(d[j].family, d[i].family) != 0)
                continue;
            l.name = d[j].label;
            l.value = d[j].value;
            pc_prom_sample_u64(w, "", &l, d[j].label ? 1 : 0, c.v[j]);
            done[j] = 1;
        }
    }
}

/* One host's decisions: every pair that can occur, and any other that
 * did; nothing for a host that has not decided anything yet. */
static void render_slot(pc_prom_t *w, const char *label, const dslot_t *d)
{
    apr_uint64_t v[PC_DEC_MAX][PC_DSRC_MAX], any = 0;
    pc_prom_label_t l[3] = {{"server", label}, {"outcome", NULL},
                            {"source", NULL}};
    int o, s;

    for (o = 0; o < PC_DEC_MAX; o++)
        for (s = 0; s < PC_DSRC_MAX; s++)
            any |= v[o][s] = load(&d->v[o][s]);
    if (!any)
        return;
    for (o = 0; o < PC_DEC_MAX; o++) {
        for (s = 0; s < PC_DSRC_MAX; s++) {
            if (!v[o][s] && !pc_decision_expected(o, s))
                continue;
            l[1].value = pc_decision_names[o];
            l[2].value = pc_dsource_names[s];
            pc_prom_sample_u64(w, "", l, 3, v[o][s]);
        }
    }
}

static void render_decisions(pc_prom_t *w)
{
    char shown[PC_METRICS_SERVERS + 1];
    int i;

    if (g_area == NULL)
        return;
    memset(shown, 0, sizeof(shown));
    for (i = 0; i < g_nservers; i++) {
        int k = g_slot_of[i];
        if (k < 0 || k > OTHER_SLOT || shown[k])
            continue;
        shown[k] = 1;
        render_slot(w, g_label_of[i], &g_area->slot[k]);
    }
}

/* Every endpoint the client names, every class (zeros too: an alert on
 * errors then has a series before the first error). */
static void render_requests(pc_prom_t *w)
{
    pc_prom_label_t l[2] = {{"endpoint", NULL}, {"class", NULL}};
    int e, c;

    for (e = 0; e < PC_EP_MAX; e++) {
        for (c = 0; c < PC_CC_MAX; c++) {
            apr_uint64_t n = g_area ? load(&g_area->requests[e][c]) : 0;
            if (e == PC_EP_OTHER && n == 0)
                continue;
            l[0].value = pc_endpoint_names[e];
            l[1].value = pc_call_class_names[c];
            pc_prom_sample_u64(w, "", l, 2, n);
        }
    }
}

static void render_latency(pc_prom_t *w)
{
    apr_uint64_t counts[PC_LAT_BUCKETS], sum_us;
    double le[PC_LAT_BUCKETS];
    const int *bounds;
    int i, n = pc_latency_read(counts, &bounds, &sum_us);

    for (i = 0; i < n; i++)
        le[i] = bounds[i] / 1000.0;
    pc_prom_histogram(w, NULL, 0, le, n, counts, (double)sum_us / 1e6);
}

/* A gauge or a counter the glue reads: 1 with *v, 0 for no sample. */
static int read_value(pc_metric_e m, double *v)
{
    pc_dcache_stats_t cs;
    int rate, burst;
    double avail;

    switch (m) {
    case PC_MET_CACHE_ENTRIES:
    case PC_MET_CACHE_CAPACITY:
    case PC_MET_CACHE_EVICTIONS:
    case PC_MET_CACHE_EVICTIONS_FRESH:
        if (!pc_dcache_ready())
            return 0;
        pc_dcache_stats(&cs);
        if (cs.capacity == 0)  /* a farm cache: not known here */
            return 0;
        *v = m == PC_MET_CACHE_ENTRIES    ? (double)cs.entries
             : m == PC_MET_CACHE_CAPACITY ? (double)cs.capacity
             : m == PC_MET_CACHE_EVICTIONS ? (double)cs.evictions
                                           : (double)cs.evictions_fresh;
        return m != PC_MET_CACHE_ENTRIES || cs.entries >= 0;
    case PC_MET_BACKOFF:
        *v = pc_backoff_left(apr_time_now());
        return 1;
    case PC_MET_BUDGET_RATE:
    case PC_MET_BUDGET_BURST:
    case PC_MET_BUDGET_AVAILABLE:
        pc_ratelimit_state(&rate, &burst, &avail);
        *v = m == PC_MET_BUDGET_RATE ? rate
             : m == PC_MET_BUDGET_BURST ? burst : (rate ? avail : 0);
        return 1;
    case PC_MET_TOKEN_LEFT:
        *v = pc_tokens_seconds_left();
        if (*v < 0)
            *v = 0;
        return 1;
    default:
        return 0;
    }
}

/* The whole exposition: the registry's counters, then every metric of
 * pc_metric_defs. */
static void render(pc_prom_t *w, apr_pool_t *p)
{
    int m;
    double v;

    render_counters(w, p);
    for (m = 0; m < PC_MET_MAX; m++) {
        open_family(w, (pc_metric_e)m);
        if (m == PC_MET_DECISIONS)
            render_decisions(w);
        else if (m == PC_MET_REQUESTS)
            render_requests(w);
        else if (m == PC_MET_LATENCY)
            render_latency(w);
        else if (read_value((pc_metric_e)m, &v))
            pc_prom_sample(w, "", NULL, 0, v);
    }
}

int pc_metrics_handler(request_rec *r)
{
    pc_prom_t *w;
    const char *text;
    apr_size_t len;

    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", NULL); /* Allow: GET,HEAD */
        return HTTP_METHOD_NOT_ALLOWED;
    }
    w = pc_prom_make(r->pool);
    render(w, r->pool);
    if (pc_prom_status(w) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PC00231: the metrics could not be written: %s",
                      pc_prom_error(w));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    text = pc_prom_text(w, &len);
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only)
        ap_rwrite(text, (int)len, r);
    return OK;
}

/*
 * pc_stats.h - what the module counts, and what each count means as a
 * metric: the registry the Prometheus renderer (apache/pc_metrics.c), the
 * admin status and server-status walk (pure core).
 *
 * The counters live in the server's shared segment (apache/pc_segment.c);
 * the core names them so the lookup policy can count what it does without
 * knowing where the numbers are kept.
 *
 * To add a counter: a pc_counter_e value (before PC_CNT_MAX), its short
 * name in pc_counter_names, and its row in pc_counter_defs (family, help,
 * label).  Every surface shows it from then on.  A counter without a row
 * still appears, as pingone_consent_<short name>_total with a generic
 * help, and t/unit/test_stats.c fails until it gets one.
 */
#ifndef PC_STATS_H
#define PC_STATS_H

#include <apr_pools.h>

typedef enum {
    PC_CNT_HIT,              /* a fresh cache entry decided */
    PC_CNT_MISS,             /* no fresh entry: PingOne (or a flight) asked */
    PC_CNT_STALE,            /* PingOne failed, a stale entry decided */
    PC_CNT_ERROR,            /* PingOne failed (any outcome) */
    PC_CNT_COALESCED,        /* PingOne calls saved: a concurrent lookup of
                                the same key answered */
    PC_CNT_FAIL_OPEN,        /* PingOne failed, fail-open allowed */
    PC_CNT_PINGONE,          /* calls to PingOne's consent/user endpoints */
    PC_CNT_TOKEN,            /* worker token fetches */
    PC_CNT_CACHE_ERROR,      /* the cache itself failed */
    PC_CNT_WEBHOOK_OK,       /* deliveries accepted */
    PC_CNT_WEBHOOK_REFUSED,  /* deliveries refused (auth, body) */
    PC_CNT_WEBHOOK_DROPPED,  /* users whose decisions a delivery dropped */
    PC_CNT_BUDGET,           /* lookups refused by the PingOne call budget */
    PC_CNT_FEED_POLLS,       /* activity feed: windows read to their end */
    PC_CNT_FEED_CALLS,       /* activity feed: calls to the audit API */
    PC_CNT_FEED_EVENTS,      /* activity feed: events seen (each once) */
    PC_CNT_FEED_APPLIED,     /* activity feed: users whose decisions an
                                event dropped */
    PC_CNT_FEED_MALFORMED,   /* activity feed: events that could not be
                                read (no id, time or type), skipped */
    PC_CNT_FEED_FOREIGN,     /* activity feed: events of another
                                environment, skipped */
    PC_CNT_FEED_ERRORS,      /* activity feed: polls that failed */
    PC_CNT_FEED_RATE_LIMITED,/* activity feed: 429 answers (backed off) */
    PC_CNT_SEAL_FAILED,      /* entries of a farm cache ignored: their seal
                                (PingOneConsentCacheKey) did not verify */
    PC_CNT_MAX
} pc_counter_e;

/* Names for status output, indexed by pc_counter_e. */
extern const char *const pc_counter_names[PC_CNT_MAX];

/* ---- the registry --------------------------------------------------------- */

typedef enum {
    PC_METRIC_COUNTER = 0,
    PC_METRIC_GAUGE,
    PC_METRIC_HISTOGRAM
} pc_metric_type_e;

/* A counter as a metric.  Counters of one family differ by one label
 * (e.g. pingone_consent_webhook_deliveries_total{result="accepted"}). */
typedef struct pc_counter_def_t {
    const char *family;        /* Prometheus name, ending in _total */
    const char *help;          /* the family's help (same in every row) */
    const char *label;         /* NULL: the family has this counter only */
    const char *value;
} pc_counter_def_t;

/* Indexed by pc_counter_e; a counter that has no row is all NULL. */
extern const pc_counter_def_t pc_counter_defs[PC_CNT_MAX];

/* Everything a renderer needs about one counter. */
typedef struct pc_counter_desc_t {
    const char *name;          /* short: admin status JSON, server-status */
    const char *family;
    const char *help;
    const char *label, *value; /* label NULL: none */
    int described;             /* 0: no row, family and help derived */
} pc_counter_desc_t;

/* The counter's row, or for one without a row: family
 * "pingone_consent_<short name>_total" (from p; any character a metric
 * name cannot hold made '_') and a help saying it has none. */
void pc_counter_describe(pc_counter_desc_t *out, pc_counter_e which,
                         apr_pool_t *p);
/* The same for a counter of that short name and row (d may be NULL). */
void pc_counter_desc_of(pc_counter_desc_t *out, const char *name,
                        const pc_counter_def_t *d, apr_pool_t *p);

/* The metrics that are not plain counters: their values come from the
 * glue (apache/pc_metrics.c has one reader per entry). */
typedef enum {
    PC_MET_DECISIONS = 0,      /* counter {server, outcome, source} */
    PC_MET_REQUESTS,           /* counter {endpoint, class} */
    PC_MET_LATENCY,            /* histogram, seconds */
    PC_MET_CACHE_ENTRIES,      /* gauge */
    PC_MET_CACHE_CAPACITY,     /* gauge */
    PC_MET_CACHE_EVICTIONS,    /* counter */
    PC_MET_CACHE_EVICTIONS_FRESH, /* counter */
    PC_MET_BACKOFF,            /* gauge, seconds */
    PC_MET_BUDGET_RATE,        /* gauge */
    PC_MET_BUDGET_BURST,       /* gauge */
    PC_MET_BUDGET_AVAILABLE,   /* gauge */
    PC_MET_TOKEN_LEFT,         /* gauge, seconds */
    PC_MET_MAX
} pc_metric_e;

typedef struct pc_metric_def_t {
    const char *family;
    pc_metric_type_e type;
    const char *help;
} pc_metric_def_t;

extern const pc_metric_def_t pc_metric_defs[PC_MET_MAX];

/* "counter", "gauge", "histogram". */
const char *pc_metric_type_name(pc_metric_type_e type);

/* ---- PingOne HTTP requests: endpoint and status class --------------------- */

typedef enum {
    PC_EP_OTHER = 0,           /* a call that did not say what it was for */
    PC_EP_TOKEN,               /* POST {auth}/{env}/as/token */
    PC_EP_CONSENTS,            /* a user's consents (each page) */
    PC_EP_CONSENT,             /* one consent by ID */
    PC_EP_USERS,               /* users by username */
    PC_EP_JOB,                 /* oathJobs/{id} */
    PC_EP_ACTIVITIES,          /* audit activities (the activity feed) */
    PC_EP_MAX
} pc_endpoint_e;

typedef enum {
    PC_CC_2XX = 0,
    PC_CC_3XX,
    PC_CC_4XX,                 /* any 4xx but 429 */
    PC_CC_429,
    PC_CC_5XX,
    PC_CC_TIMEOUT,             /* no answer within PingOneTimeout */
    PC_CC_CONNECT,             /* refused, DNS, reset before an answer */
    PC_CC_TLS,                 /* certificate or handshake */
    PC_CC_FAILED,              /* another failure, or a status out of range */
    PC_CC_MAX
} pc_call_class_e;

/* Label values: "token", "consents"...; "2xx", "429", "timeout"... */
extern const char *const pc_endpoint_names[PC_EP_MAX];
extern const char *const pc_call_class_names[PC_CC_MAX];

/* The class of an HTTP answer's status. */
pc_call_class_e pc_call_class_of_status(int status);

/* ---- decisions: outcome and source ----------------------------------------- */

/* The request note's vocabulary (docs/reference.md "The request note")
 * with its open-ended parts reduced to classes, so label values stay a
 * bounded set: deny:scope:<scope> is deny:scope, error:upstream-503 is
 * error:upstream-5xx. */
typedef enum {
    PC_DEC_ALLOW = 0,
    PC_DEC_DENY_NONE,
    PC_DEC_DENY_REVOKED,
    PC_DEC_DENY_DECLINED,
    PC_DEC_DENY_STATUS,
    PC_DEC_DENY_EXPIRED,
    PC_DEC_DENY_SCOPE,
    PC_DEC_DENY_UNKNOWN_USER,
    PC_DEC_DENY_BAD_USER,
    PC_DEC_DENY_NO_USER_ID,
    PC_DEC_DENY_OTHER,         /* a deny reason this list does not know */
    PC_DEC_ERR_TIMEOUT,
    PC_DEC_ERR_CONNECT,
    PC_DEC_ERR_TLS,
    PC_DEC_ERR_429,
    PC_DEC_ERR_4XX,
    PC_DEC_ERR_5XX,
    PC_DEC_ERR_TOKEN,          /* upstream-token, upstream-401 */
    PC_DEC_ERR_PARSE,          /* upstream-parse, upstream-too-big */
    PC_DEC_ERR_UPSTREAM,       /* any other PingOne failure */
    PC_DEC_ERR_BUDGET,
    PC_DEC_ERR_CONFIG,
    PC_DEC_MAX
} pc_decision_e;

typedef enum {
    PC_DSRC_CACHE = 0,
    PC_DSRC_PINGONE,
    PC_DSRC_STALE,
    PC_DSRC_FAIL_OPEN,
    PC_DSRC_NONE,              /* decided without a consent (errors, a
                                  user value that cannot be looked up) */
    PC_DSRC_MAX
} pc_dsource_e;

/* Label values: "allow", "deny:revoked", "error:upstream-5xx"...;
 * "cache", "pingone", "stale", "fail-open", "none". */
extern const char *const pc_decision_names[PC_DEC_MAX];
extern const char *const pc_dsource_names[PC_DSRC_MAX];

/* The class of a request note value ("allow", "allow:fail-open",
 * "deny:scope:profile", "error:upstream-503", ...).  Unknown deny reasons
 * are PC_DEC_DENY_OTHER; anything else unknown PC_DEC_ERR_UPSTREAM. */
pc_decision_e pc_decision_of(const char *reason);

/* The source of a decision: PINGONE_CONSENT_SOURCE's vocabulary; NULL or
 * unknown: PC_DSRC_NONE.  Errors have no source whatever the lookup
 * said. */
pc_dsource_e pc_dsource_of(pc_decision_e d, const char *source);

/* 1 when the pair can occur (such series are shown from a server's first
 * decision on, zeros included, so rates and alerts have a series). */
int pc_decision_expected(pc_decision_e d, pc_dsource_e s);

#endif

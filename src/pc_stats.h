/*
 * pc_stats.h - what the module counts (pure core).
 *
 * The counters live in the server's shared segment (apache/pc_segment.c);
 * the core names them so the lookup policy can count what it does without
 * knowing where the numbers are kept.
 */
#ifndef PC_STATS_H
#define PC_STATS_H

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
    PC_CNT_SEAL_FAILED,      /* entries of a farm cache ignored: their seal
                                (PingOneConsentCacheKey) did not verify */
    PC_CNT_MAX
} pc_counter_e;

/* Names for status output, indexed by pc_counter_e. */
extern const char *const pc_counter_names[PC_CNT_MAX];

#endif

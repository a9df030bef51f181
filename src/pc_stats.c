/*
 * pc_stats.c - counter names.
 */
#include "pc_stats.h"

const char *const pc_counter_names[PC_CNT_MAX] = {
    "hits",          "misses",           "stale",
    "errors",        "coalesced",        "fail_open",
    "pingone_calls", "token_calls",      "cache_errors",
    "webhook_accepted", "webhook_refused", "webhook_users_dropped",
    "budget_exceeded", "cache_seal_failures"};

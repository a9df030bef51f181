/*
 * pc_l1.h - each process's own copies of the decisions it read or wrote
 * recently, so that a hit on a local shared cache (shmcb, which needs the
 * global mutex around every lookup) costs no shared lock at all.
 *
 * A copy is valid while the decision cache's generation is the one it was
 * made under (every purge bumps it) and until the time the shared cache
 * would drop the entry; values never change before that, so a copy
 * answers exactly what the shared cache would.
 */
#ifndef PC_L1_H
#define PC_L1_H

#include "pc_cache.h"

/* In a child: set the table up (enabled 0: no copies are kept). */
void pc_l1_child_init(apr_pool_t *p, int enabled);

/* 1 and *e (strings in p) when a copy of id made under generation gen is
 * still valid at now. */
int pc_l1_get(const pc_entry_id_t *id, apr_uint32_t gen, apr_time_t now,
              pc_cache_entry_t *e, apr_pool_t *p);

/* Keep a copy of e, valid until `until` while the generation is gen. */
void pc_l1_put(const pc_entry_id_t *id, apr_uint32_t gen, apr_time_t until,
               const pc_cache_entry_t *e);

#endif

/*
 * pc_json_slim.h - a lighter parse of PingOne collections (pure core).
 *
 * json-c builds a whole document tree and frees it again: for a page of
 * consents, with links, browser, device and location details nobody here
 * reads, that is most of a cache miss's CPU time.  So, before json-c sees
 * a collection, one streaming pass checks the whole text's structure
 * (strict RFC 8259 grammar, the same depth limit) and drops, from every
 * item of the arrays under `_embedded`, the members the readers do not
 * read.  json-c then parses what is left.
 *
 * The pass is an optimisation only: whenever it finds anything it does not
 * fully understand (any error, any doubt), the body goes to the ordinary
 * parse unchanged, which gives the same answer and the same error reasons
 * as before.  A differential fuzz target (fuzz/fuzz_targets.c,
 * PC_FUZZ_SLIM) checks that both ways always agree.
 */
#ifndef PC_JSON_SLIM_H
#define PC_JSON_SLIM_H

#include "pc_json.h"

/* Like pc_json_read(), but items of the arrays under `_embedded` keep only
 * the members named in keep (a NULL-terminated list). */
apr_status_t pc_json_read_slim(const char *body, apr_size_t len,
                               const char *const *keep, pc_json_read_fn *fn,
                               void *baton, apr_pool_t *p, const char **why);

/* The pass itself (exposed for the tests and the fuzz target): APR_SUCCESS
 * with the slimmed text in *out / *out_len (NUL terminated, in p), or
 * APR_EGENERAL when the text is not strict JSON (then nothing is said
 * about why: the ordinary parse says it). */
apr_status_t pc_json_slim(const char **out, apr_size_t *out_len,
                          const char *body, apr_size_t len,
                          const char *const *keep, apr_pool_t *p);

#endif

/*
 * pc_parse.h - parsers of configuration and protocol values (pure core).
 *
 * Directive parsers return NULL on success or an error message (allocated
 * in the pool) that names the problem; the Apache glue prefixes the
 * directive name.  Messages quote the input only through pc_log_safe and
 * never quote a secret.
 */
#ifndef PC_PARSE_H
#define PC_PARSE_H

#include <apr_pools.h>
#include <apr_time.h>

/* --- directive values ---------------------------------------------------- */

/* "https://host[:port][/path]" (http:// also accepted; the caller warns).
 * No userinfo, query, fragment, whitespace or control characters.  *out is
 * the URL without trailing slashes. */
const char *pc_parse_base_url(apr_pool_t *p, const char *arg,
                              const char **out);

/* "<total-ms> [connect-ms]": 1..600000, connect <= total.  connect_arg may
 * be NULL (then connect = min(1000, total)). */
const char *pc_parse_timeout(apr_pool_t *p, const char *total_arg,
                             const char *connect_arg, int *total_ms,
                             int *connect_ms);

/* "<secret>", "file:/path" (first line, trailing CR/LF stripped) or
 * "env:NAME".  Errors never include the secret itself. */
const char *pc_parse_secret(apr_pool_t *p, const char *arg,
                            const char **secret);

/* "REMOTE_USER" or "env:NAME" (NAME: [A-Za-z0-9_.-]+). *env_name NULL
 * means REMOTE_USER. */
const char *pc_parse_user_from(apr_pool_t *p, const char *arg,
                               const char **env_name);

/* An OAuth scope token (pc_scope_token_ok) of 1..128 characters. */
const char *pc_check_scope(apr_pool_t *p, const char *scope);

/* PingOneConsentCache "<provider>[:<args>]", or a Redis URL
 * (redis://, rediss://, redis-sentinel://, rediss-sentinel://: the
 * module's own Redis client, pc_rurl.h).  "redis:host:port" (no "//")
 * stays the socache provider of mod_socache_redis. */
struct pc_rurl_t;
typedef struct pc_cache_spec_t {
    const char *provider; /* socache provider name: [A-Za-z0-9_]+; NULL
                           * for a Redis URL */
    const char *args;     /* what follows the first ':' (may be ""), or NULL
                           * when there is no ':' */
    const struct pc_rurl_t *redis; /* the parsed Redis URL, or NULL */
} pc_cache_spec_t;

/* Split and check a PingOneConsentCache value into *out (strings in p).
 * A value with "://" must be a Redis URL (pc_rurl_parse's message when it
 * is not). */
const char *pc_parse_cache_spec(apr_pool_t *p, const char *arg,
                                pc_cache_spec_t *out);

/* --- protocol values ----------------------------------------------------- */

/* Parse a Retry-After value (delta seconds or HTTP date) into seconds from
 * `now` (apr_time_t).  Returns the default `dflt` when absent/invalid and
 * clamps to 1..3600. */
int pc_retry_after_seconds(const char *value, long long now_usec, int dflt);

/* Parse an ISO-8601 / RFC 3339 UTC timestamp ("2022-08-23T22:23:34.624Z",
 * also "+00:00" offsets and no fraction).  Returns APR_SUCCESS or APR_EINVAL. */
apr_status_t pc_parse_timestamp(apr_time_t *out, const char *s);

#endif

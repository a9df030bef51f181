/*
 * pc_util.h - validation, escaping, URL building and directive value
 * parsing (pure core, no httpd).
 *
 * Anything that ends up in an upstream URL or SCIM filter passes through
 * here first: IDs must be UUIDs, names are SCIM-quoted and then URL-encoded.
 * Directive parsers return NULL on success or an error message (allocated
 * in the pool) that names the problem; the Apache glue prefixes the
 * directive name.
 */
#ifndef PC_UTIL_H
#define PC_UTIL_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Longest user name / application name we accept from a request or config. */
#define PC_MAX_NAME_LEN 256

/* 8-4-4-4-12 hexadecimal (either case). */
int pc_is_uuid(const char *s);

/* A UUID in lowercase (PingOne's IDs are): the one spelling that keys the
 * cache, so a purge by ID reaches every entry of the user.  Other strings
 * are returned as they are. */
const char *pc_uuid_lower(apr_pool_t *p, const char *s);

/* Percent-encode everything except RFC 3986 unreserved characters. */
const char *pc_url_encode(apr_pool_t *p, const char *s);

/* A SCIM string literal: the value in double quotes with \ and " escaped.
 * Returns NULL when the value is empty, longer than PC_MAX_NAME_LEN, holds a
 * control character (< 0x20 or 0x7f) or is not valid UTF-8. */
const char *pc_scim_quote(apr_pool_t *p, const char *s);

/* A value for a response header or a log line: control characters and
 * non-ASCII bytes as \xHH, cut to `max` bytes with "..." appended. */
const char *pc_log_safe(apr_pool_t *p, const char *s, apr_size_t max);

/* Region name (case-insensitive: NA, EU, CA, AU, SG, AP) to base URLs.
 * Returns 0 and sets both on success, -1 for an unknown region. */
int pc_region_urls(const char *region, const char **api_base,
                   const char **auth_base);

/* URL builders.  Callers must have validated env/user/app/consent IDs as
 * UUIDs; names are escaped here. */
const char *pc_url_token(apr_pool_t *p, const char *auth_base,
                         const char *env_id);
const char *pc_url_users_by_name(apr_pool_t *p, const char *api_base,
                                 const char *env_id, const char *quoted_name);
/* The prefix every page of a user's consent collection must start with:
 * {api_base}/environments/{env}/users/{user}/oauthConsents? */
const char *pc_url_consents_prefix(apr_pool_t *p, const char *api_base,
                                   const char *env_id, const char *user_id);
/* 1 when a collection's _links.next.href may be followed: it starts with
 * `prefix` (same scheme, host, port and collection: a link elsewhere is
 * never followed), is at most 4096 bytes, and holds only characters a URL
 * may carry unescaped (no space, control, quote, '<', '>', '\\', '^', '`',
 * '{', '|', '}', '#', or non-ASCII), and every '%' starts an escape. */
int pc_next_link_ok(const char *href, const char *prefix);
/* Exactly one of app_id / quoted_app_name (from pc_scim_quote) is non-NULL. */
const char *pc_url_consents(apr_pool_t *p, const char *api_base,
                            const char *env_id, const char *user_id,
                            const char *app_id, const char *quoted_app_name);
const char *pc_url_consent(apr_pool_t *p, const char *api_base,
                           const char *env_id, const char *user_id,
                           const char *consent_id);
const char *pc_url_job(apr_pool_t *p, const char *api_base,
                       const char *env_id, const char *job_id);

/* Form-encode for application/x-www-form-urlencoded (space as %20). */
const char *pc_form_encode(apr_pool_t *p, const char *s);

/* Standard base64 of `len` bytes. */
const char *pc_base64(apr_pool_t *p, const char *s, apr_size_t len);

/* 1 when a and b are equal, in time that depends only on their lengths
 * (for shared secrets such as a webhook's Authorization header). */
int pc_secret_equal(const char *a, const char *b);

/* --- directive value parsers ------------------------------------------ */

/* "https://host[:port][/path]" (http:// also accepted; the caller warns).
 * No userinfo, query, fragment, whitespace or control characters.  *out is
 * the URL without trailing slashes. */
const char *pc_parse_base_url(apr_pool_t *p, const char *arg,
                              const char **out);

/* A decimal integer in min..max (digits only, no sign or suffix): 0 and
 * *out set, or -1. */
int pc_parse_int(const char *s, long min, long max, int *out);

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

/* An OAuth scope token (RFC 6749 3.3: %x21 / %x23-5B / %x5D-7E, max 128). */
const char *pc_check_scope(apr_pool_t *p, const char *scope);

/* Parse a Retry-After value (delta seconds or HTTP date) into seconds from
 * `now` (apr_time_t).  Returns the default `dflt` when absent/invalid and
 * clamps to 1..3600. */
int pc_retry_after_seconds(const char *value, long long now_usec, int dflt);

#endif
